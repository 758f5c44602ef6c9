/**
 * SextantEmbeddings: LangChain's `Embeddings` backed by a Sextant server's `POST /v1/embeddings`,
 * so vectors come from the same model (and the same query/document prefixes) the server
 * indexes with. The vector store hands one to LangChain, bound to its collection's live model.
 */
import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';
import { SextantClient, type EmbeddingsResponse } from '../client/index.ts';

/** The server's default for SEXTANT_MAX_DOCS_PER_REQUEST, which also caps inputs per embeddings call. */
export const DEFAULT_BATCH_SIZE = 1000;

/** A model name (`name@version` or alias), or a function giving it at call time. */
export type ModelSource = string | (() => string | Promise<string>);

export interface SextantEmbeddingsOptions extends Pick<EmbeddingsParams, 'maxConcurrency' | 'maxRetries'> {
  /** A client to share; without one, a client is built from `url` and `apiKey`. */
  readonly client?: SextantClient;
  readonly url?: string;
  readonly apiKey?: string;
  /**
   * The model to embed with (default: the server's default model). A function is called once
   * per embedDocuments/embedQuery call, so a store can follow its collection's live model
   * across re-embeddings.
   */
  readonly model?: ModelSource;
  /** Texts per request, at most the server's SEXTANT_MAX_DOCS_PER_REQUEST (default 1000). */
  readonly batchSize?: number;
  /** A smaller output size the model declares (Matryoshka); default: the model's own size. */
  readonly dimensions?: number;
}

export function clientFrom(options: { readonly client?: SextantClient; readonly url?: string; readonly apiKey?: string }, who: string): SextantClient {
  if (options.client) return options.client;
  if (options.url === undefined || options.url === '') throw new TypeError(`${who}: give a 'client' or a 'url'`);
  return new SextantClient({ url: options.url, apiKey: options.apiKey });
}

export function checkBatchSize(value: number | undefined, who: string): number {
  const size = value ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(size) || size < 1) throw new TypeError(`${who}: batchSize must be a positive integer; got ${size}`);
  return size;
}

/** The server answers floats unless asked for base64; decode base64 anyway rather than fail. */
function toNumbers(embedding: EmbeddingsResponse['data'][number]['embedding']): number[] {
  if (typeof embedding !== 'string') return embedding;
  const bytes = Buffer.from(embedding, 'base64');
  const out = new Array<number>(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

export class SextantEmbeddings extends Embeddings {
  readonly client: SextantClient;
  readonly batchSize: number;
  readonly dimensions: number | undefined;
  private readonly model: ModelSource | undefined;

  constructor(options: SextantEmbeddingsOptions) {
    // The client already retries 429 and 503 with backoff, so LangChain's own retries are off
    // unless asked for; one request at a time keeps large inputs from flooding the server's
    // embedding queue (it answers 429 when full).
    super({ maxRetries: options.maxRetries ?? 0, maxConcurrency: options.maxConcurrency ?? 1 });
    this.client = clientFrom(options, 'SextantEmbeddings');
    this.batchSize = checkBatchSize(options.batchSize, 'SextantEmbeddings');
    this.dimensions = options.dimensions;
    this.model = options.model;
  }

  /** The model the next call embeds with; undefined means the server's default. */
  async resolveModel(): Promise<string | undefined> {
    return typeof this.model === 'function' ? await this.model() : this.model;
  }

  override async embedDocuments(documents: string[]): Promise<number[][]> {
    if (documents.length === 0) return [];
    const model = await this.resolveModel();
    const batches: string[][] = [];
    for (let i = 0; i < documents.length; i += this.batchSize) batches.push(documents.slice(i, i + this.batchSize));
    const results = await Promise.all(batches.map((batch) => this.caller.call(() => this.embed(batch, model, 'document'))));
    return results.flat();
  }

  override async embedQuery(document: string): Promise<number[]> {
    const [vector] = await this.caller.call(async () => this.embed([document], await this.resolveModel(), 'query'));
    return vector!;
  }

  private async embed(input: string[], model: string | undefined, inputType: 'query' | 'document'): Promise<number[][]> {
    const response = await this.client.embed({ input, model, input_type: inputType, dimensions: this.dimensions });
    // `index` is authoritative for order (OpenAI's contract); do not rely on array order.
    const out = new Array<number[]>(input.length);
    for (const item of response.data) out[item.index] = toNumbers(item.embedding);
    // A plain loop: `some` would skip the holes a missing index leaves.
    for (let i = 0; i < input.length; i++) {
      if (out[i] === undefined || out.length !== input.length) {
        throw new Error(`SextantEmbeddings: the server returned ${response.data.length} embeddings for ${input.length} inputs`);
      }
    }
    return out;
  }
}
