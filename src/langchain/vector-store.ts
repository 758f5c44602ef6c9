/**
 * SextantVectorStore: a LangChain.js `VectorStore` over one Sextant collection. Sextant embeds
 * text itself, so documents go up as text and searches go up as the query text (which is what
 * makes keyword and hybrid search possible); no LangChain embeddings object is needed. A
 * `SextantEmbeddings` bound to the collection's live model is still handed to LangChain as
 * `this.embeddings`, for `addVectors` and code that embeds through the store.
 */
import { randomUUID } from 'node:crypto';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { VectorStore, type VectorStoreRetriever, type VectorStoreRetrieverInput } from '@langchain/core/vectorstores';
import type { Callbacks } from '@langchain/core/callbacks/manager';
import {
  CollectionExistsApiError,
  type CreateCollectionRequest,
  type DocumentInput,
  type Filter,
  type SearchHit,
  type SearchMode,
  type SearchRequest,
  type SextantClient,
} from '../client/index.ts';
import { checkBatchSize, clientFrom, SextantEmbeddings } from './embeddings.ts';

/** LangChain's default number of results. */
const DEFAULT_K = 4;
/**
 * Upsert bodies are cut at this size as well as at `batchSize` documents: 1000 documents with
 * precomputed vectors (or long texts) can pass the server's body limit (SEXTANT_MAX_BODY_BYTES,
 * 16 MiB by default) long before the document limit.
 */
const DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024;

export interface SextantVectorStoreArgs {
  /** A client to share; without one, a client is built from `url` and `apiKey`. */
  readonly client?: SextantClient;
  readonly url?: string;
  readonly apiKey?: string;
  /** The Sextant collection this store reads and writes. */
  readonly collection: string;
  /** Search mode of `similaritySearch*` and the retriever (default 'dense'). */
  readonly mode?: SearchMode;
  /** Hybrid dense weight (0 = keyword only, 1 = dense only); default: the collection's. */
  readonly alpha?: number;
  /** efSearch override for dense searches; default: the collection's. */
  readonly ef?: number;
  /** Results when a caller gives no k (default 4, LangChain's default), retriever included. */
  readonly k?: number;
  /** Documents per upsert, ids per delete and texts per embeddings call (default 1000, the server's limit). */
  readonly batchSize?: number;
  /** Largest upsert body the store sends, in bytes of JSON (default 8 MiB). */
  readonly maxBatchBytes?: number;
  /** Settings for `fromTexts`/`fromDocuments` when they create the collection; ignored when it exists. */
  readonly createCollection?: Omit<CreateCollectionRequest, 'name'>;
}

export interface SextantAddOptions {
  /** One id per document; otherwise each document's `id`, otherwise a random UUID. */
  readonly ids?: readonly string[];
}

export interface SextantSearchOptions {
  readonly k?: number;
  readonly filter?: Filter;
  /** Overrides the store's mode for this search. */
  readonly mode?: SearchMode;
  readonly alpha?: number;
  readonly ef?: number;
}

/** Give `ids` or `filter` (a Sextant filter; an empty one is refused by the server). */
export interface SextantDeleteParams {
  readonly ids?: readonly string[];
  readonly filter?: Filter;
}

/**
 * Sextant stores metadata as a JSON object, while LangChain metadata may hold anything. It is
 * converted the way JSON.stringify converts it, so what is stored is what a search returns:
 * Dates become ISO strings, `toJSON` is honoured, undefined values and functions are dropped,
 * NaN and Infinity become null. What JSON cannot hold (BigInt, cycles) is refused here, before
 * anything is sent.
 */
export function jsonMetadata(metadata: Readonly<Record<string, unknown>> | undefined, where: string): Record<string, unknown> {
  if (metadata === undefined || metadata === null) return {};
  let json: string | undefined;
  try {
    json = JSON.stringify(metadata);
  } catch (err) {
    throw new TypeError(`${where}.metadata cannot be stored as JSON: ${(err as Error).message}`);
  }
  const value: unknown = json === undefined ? undefined : JSON.parse(json);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${where}.metadata must be an object of JSON values`);
  }
  return value as Record<string, unknown>;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class SextantVectorStore extends VectorStore {
  declare FilterType: Filter;

  readonly client: SextantClient;
  readonly collection: string;
  readonly mode: SearchMode;
  readonly alpha: number | undefined;
  readonly ef: number | undefined;
  readonly k: number;
  readonly batchSize: number;
  readonly maxBatchBytes: number;
  declare embeddings: SextantEmbeddings;
  private readonly args: SextantVectorStoreArgs;

  constructor(args: SextantVectorStoreArgs) {
    const client = clientFrom(args, 'SextantVectorStore');
    const collection = args.collection;
    if (typeof collection !== 'string' || collection === '') throw new TypeError("SextantVectorStore: 'collection' is required");
    const batchSize = checkBatchSize(args.batchSize, 'SextantVectorStore');
    // The model is looked up per call, not once: a re-embedding swaps the collection to another
    // model, and vectors of the old one would no longer match what the live generation holds.
    const embeddings = new SextantEmbeddings({ client, batchSize, model: async () => (await client.getCollection(collection)).model });
    // What LangChain keeps as the store's constructor arguments (lc_kwargs): never the key or the client.
    super(embeddings, { collection, mode: args.mode, alpha: args.alpha, ef: args.ef, k: args.k, url: args.url });
    this.client = client;
    this.collection = collection;
    this.mode = args.mode ?? 'dense';
    this.alpha = args.alpha;
    this.ef = args.ef;
    this.k = args.k ?? DEFAULT_K;
    this.batchSize = batchSize;
    this.maxBatchBytes = args.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.args = { ...args, client };
  }

  _vectorstoreType(): string {
    return 'sextant';
  }

  /** A store over the same collection and client with other search settings (e.g. a hybrid retriever). */
  withSearchOptions(options: Pick<SextantVectorStoreArgs, 'mode' | 'alpha' | 'ef' | 'k'>): SextantVectorStore {
    return new SextantVectorStore({ ...this.args, ...options });
  }

  // Writing

  override async addDocuments(documents: DocumentInterface[], options: SextantAddOptions = {}): Promise<string[]> {
    const ids = this.idsFor(documents, options);
    await this.upsert(documents.map((doc, i) => this.toInput(doc, ids[i]!, i)));
    return ids;
  }

  /** Vectors must come from the collection's live model, e.g. `store.embeddings.embedDocuments`. */
  override async addVectors(vectors: number[][], documents: DocumentInterface[], options: SextantAddOptions = {}): Promise<string[]> {
    if (vectors.length !== documents.length) {
      throw new TypeError(`SextantVectorStore.addVectors: ${vectors.length} vectors for ${documents.length} documents`);
    }
    const ids = this.idsFor(documents, options);
    await this.upsert(documents.map((doc, i) => ({ ...this.toInput(doc, ids[i]!, i), vector: vectors[i]! })));
    return ids;
  }

  /**
   * Deletes by `ids` (in batches of `batchSize`) or by `filter`. Each request is atomic; a call
   * that needs several requests is not.
   */
  override async delete(params: SextantDeleteParams = {}): Promise<void> {
    if (params.ids !== undefined && params.filter !== undefined) throw new TypeError('SextantVectorStore.delete: give ids or filter, not both');
    if (params.ids !== undefined) {
      for (const batch of chunks(params.ids, this.batchSize)) await this.client.deleteDocuments(this.collection, { ids: batch });
    } else if (params.filter !== undefined) {
      await this.client.deleteDocuments(this.collection, { filter: params.filter });
    } else {
      throw new TypeError('SextantVectorStore.delete: give ids or filter');
    }
  }

  private idsFor(documents: readonly DocumentInterface[], options: SextantAddOptions): string[] {
    if (options.ids !== undefined && options.ids.length !== documents.length) {
      throw new TypeError(`SextantVectorStore: ${options.ids.length} ids for ${documents.length} documents`);
    }
    return documents.map((doc, i) => options.ids?.[i] ?? doc.id ?? randomUUID());
  }

  private toInput(doc: DocumentInterface, id: string, index: number): DocumentInput {
    return { id, text: doc.pageContent, metadata: jsonMetadata(doc.metadata, `documents[${index}]`) };
  }

  /** Upserts in requests of at most `batchSize` documents and `maxBatchBytes` of JSON; each request is atomic. */
  private async upsert(inputs: readonly DocumentInput[]): Promise<void> {
    let batch: DocumentInput[] = [];
    let bytes = 0;
    for (const input of inputs) {
      const size = Buffer.byteLength(JSON.stringify(input)) + 1;
      if (batch.length > 0 && (batch.length >= this.batchSize || bytes + size > this.maxBatchBytes)) {
        await this.client.upsertDocuments(this.collection, batch);
        batch = [];
        bytes = 0;
      }
      batch.push(input);
      bytes += size;
    }
    if (batch.length > 0) await this.client.upsertDocuments(this.collection, batch);
  }

  // Searching

  /** Text search in the store's mode (or the one given), with Sextant's scores: higher is closer. */
  async searchWithScore(query: string, options: SextantSearchOptions = {}): Promise<[Document, number][]> {
    return this.search({
      mode: options.mode ?? this.mode,
      query,
      k: options.k ?? this.k,
      filter: options.filter,
      alpha: options.alpha ?? this.alpha,
      ef: options.ef ?? this.ef,
    });
  }

  /** Sends the text to Sextant (not a vector), so keyword and hybrid modes work too. */
  override async similaritySearch(query: string, k?: number, filter?: this['FilterType'], _callbacks?: Callbacks): Promise<Document[]> {
    return (await this.searchWithScore(query, { k, filter })).map(([doc]) => doc);
  }

  override async similaritySearchWithScore(query: string, k?: number, filter?: this['FilterType'], _callbacks?: Callbacks): Promise<[Document, number][]> {
    return this.searchWithScore(query, { k, filter });
  }

  /** Dense search with a vector of the collection's live model (e.g. `store.embeddings.embedQuery`). */
  override async similaritySearchVectorWithScore(query: number[], k: number, filter?: this['FilterType']): Promise<[Document, number][]> {
    return this.search({ mode: 'dense', vector: query, k: k ?? this.k, filter, ef: this.ef });
  }

  private async search(request: Omit<SearchRequest, 'include_text'>): Promise<[Document, number][]> {
    // Modes other than hybrid reject nothing for `alpha`, but it means nothing there either.
    const body: SearchRequest = { ...request, alpha: request.mode === 'hybrid' ? request.alpha : undefined, include_text: true };
    const response = await this.client.search(this.collection, body);
    return response.results.map((hit) => [toDocument(hit), hit.score]);
  }

  /** The store's default k applies to retrievers that do not set one (VectorStoreRetriever's own default is 4). */
  override asRetriever(
    kOrFields?: number | Partial<VectorStoreRetrieverInput<this>>,
    filter?: this['FilterType'],
    callbacks?: Callbacks,
    tags?: string[],
    metadata?: Record<string, unknown>,
    verbose?: boolean,
  ): VectorStoreRetriever<this> {
    if (kOrFields === undefined) return super.asRetriever(this.k, filter, callbacks, tags, metadata, verbose);
    if (typeof kOrFields === 'number') return super.asRetriever(kOrFields, filter, callbacks, tags, metadata, verbose);
    return super.asRetriever({ ...kOrFields, k: kOrFields.k ?? this.k } as Partial<VectorStoreRetrieverInput<this>>, filter, callbacks, tags, metadata, verbose);
  }

  // Construction

  /** Creates the collection unless it exists (with `createCollection` settings), then adds the texts. */
  static override async fromTexts(
    texts: string[],
    metadatas: object[] | object,
    embeddings: EmbeddingsInterface | undefined,
    config: SextantVectorStoreArgs,
  ): Promise<SextantVectorStore> {
    const docs = texts.map(
      (pageContent, i) =>
        new Document({ pageContent, metadata: (Array.isArray(metadatas) ? metadatas[i] : metadatas) as Record<string, unknown> | undefined }),
    );
    return SextantVectorStore.fromDocuments(docs, embeddings, config);
  }

  /**
   * Creates the collection unless it exists, then adds the documents. `embeddings` is accepted
   * for VectorStore's signature and ignored: Sextant embeds with the collection's model.
   */
  static override async fromDocuments(
    docs: DocumentInterface[],
    _embeddings: EmbeddingsInterface | undefined,
    config: SextantVectorStoreArgs & SextantAddOptions,
  ): Promise<SextantVectorStore> {
    const store = new SextantVectorStore(config);
    await store.ensureCollection();
    await store.addDocuments(docs, { ids: config.ids });
    return store;
  }

  /** A store over a collection that must exist; rejects with CollectionNotFoundApiError otherwise. */
  static async fromExistingCollection(config: SextantVectorStoreArgs): Promise<SextantVectorStore> {
    const store = new SextantVectorStore(config);
    await store.client.getCollection(store.collection);
    return store;
  }

  /** Creates the collection; one that exists already is fine (its settings are left as they are). */
  async ensureCollection(): Promise<void> {
    try {
      await this.client.createCollection({ ...this.args.createCollection, name: this.collection });
    } catch (err) {
      if (!(err instanceof CollectionExistsApiError)) throw err;
    }
  }
}

function toDocument(hit: SearchHit): Document {
  return new Document({ pageContent: hit.text ?? '', metadata: hit.metadata, id: hit.id });
}
