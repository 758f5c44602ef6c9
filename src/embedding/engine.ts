/**
 * The embedding engine: one model version, one ONNX Runtime session, one micro-batching
 * queue. `embed` validates and tokenizes in the caller, then waits for its vectors.
 */
import { endianness } from 'node:os';
import { join } from 'node:path';
import { EmptyTextError, InvalidInputError, ModelLoadError } from '../errors.ts';
import { log } from '../log.ts';
import type { Manifest } from '../models/manifest.ts';
import { primaryOnnx, type ModelVersion } from '../models/registry.ts';
import { MicroBatcher, type BatchOutcome, type BatchStats } from './batcher.ts';
import { InferenceWorker } from './inference.ts';
import type { Device } from './session.ts';
import { loadTokenizer, type TextTokenizer } from './tokenizer.ts';

export type EmbedKind = 'query' | 'document';

export interface EmbedOutput {
  readonly vectors: Float32Array[];
  /** Tokens the model saw per text, special tokens included (after truncation). */
  readonly tokenCounts: number[];
  readonly truncated: boolean[];
  /** Unknown-token ids per text (a drift signal); 0 when the tokenizer has no unknown token. */
  readonly unknownTokens: number[];
}

export interface EngineOptions {
  readonly device: Device;
  readonly threads: number;
  readonly batchTokens: number;
  readonly batchWaitMs: number;
  readonly queueMax: number;
  /** Verify file checksums before loading (default true). */
  readonly verify?: boolean;
}

export interface ModelVerifier {
  verify(version: ModelVersion): Promise<void>;
}

/**
 * Text beyond this many characters per allowed token cannot reach the model, so it is cut
 * (at a space when one is near) before tokenizing: a 100 MB string costs what a 64 kB one does.
 */
const CHARS_PER_TOKEN_CAP = 64;

interface Encoded {
  readonly ids: readonly number[];
  readonly length: number;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Token ids and mask ones into zeroed [batch, width] int64 arrays, row b left-aligned. On a
 * little-endian machine the low 32-bit word of each int64 is written directly: ids are < 2^31,
 * and a BigInt per token was a tenth of a static model's per-query cost.
 */
function fillInt64Rows(ids: BigInt64Array, mask: BigInt64Array, items: readonly Encoded[], width: number): void {
  if (LITTLE_ENDIAN) {
    const ids32 = new Int32Array(ids.buffer, ids.byteOffset, ids.length * 2);
    const mask32 = new Int32Array(mask.buffer, mask.byteOffset, mask.length * 2);
    items.forEach((item, b) => {
      const row = 2 * b * width;
      for (let t = 0; t < item.length; t++) {
        ids32[row + 2 * t] = item.ids[t]!;
        mask32[row + 2 * t] = 1;
      }
    });
    return;
  }
  items.forEach((item, b) => {
    const row = b * width;
    for (let t = 0; t < item.length; t++) {
      ids[row + t] = BigInt(item.ids[t]!);
      mask[row + t] = 1n;
    }
  });
}

const loggedFallbacks = new Set<string>();

function logFallbackOnce(reason: string): void {
  if (loggedFallbacks.has(reason)) return;
  loggedFallbacks.add(reason);
  log.warn('SEXTANT_DEVICE=cuda requested but CUDA cannot be used; running on CPU', {
    reason,
    hint: 'install the CUDA provider with: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node --dangerously-allow-all-scripts',
  });
}

export class EmbeddingEngine {
  private readonly batcher: MicroBatcher<Encoded, Float32Array>;
  private readonly queueMax: number;

  private constructor(
    readonly version: ModelVersion,
    private readonly inference: InferenceWorker,
    private readonly tokenizer: TextTokenizer,
    options: EngineOptions,
  ) {
    const manifest = version.manifest;
    this.queueMax = options.queueMax;
    // A single text longer than the budget still runs, alone.
    this.batcher = new MicroBatcher((items, width) => this.infer(items, width), {
      maxBatchTokens: Math.max(options.batchTokens, manifest.maxTokens),
      maxWaitMs: options.batchWaitMs,
      maxQueued: options.queueMax,
    });
  }

  static async load(version: ModelVersion, options: EngineOptions, verifier?: ModelVerifier): Promise<EmbeddingEngine> {
    const started = performance.now();
    if (options.verify !== false && verifier) await verifier.verify(version);
    const manifest = version.manifest;
    const onnxPath = join(version.dir, primaryOnnx(manifest).path);
    const [inference, tokenizer] = await Promise.all([
      InferenceWorker.start(onnxPath, options.device, options.threads, manifest.output, {
        inGraph: manifest.poolingInGraph,
        mode: manifest.pooling,
        normalize: manifest.normalize,
      }),
      loadTokenizer(version.dir, manifest),
    ]);
    const engine = new EmbeddingEngine(version, inference, tokenizer, options);
    try {
      for (const name of [manifest.inputs.inputIds, manifest.inputs.attentionMask, manifest.inputs.tokenTypeIds]) {
        if (name && !inference.inputNames.includes(name)) {
          throw new ModelLoadError(`model ${version.id}: the ONNX graph has no input '${name}' (it has ${inference.inputNames.join(', ')})`);
        }
      }
      if (inference.fallbackReason) logFallbackOnce(inference.fallbackReason);
      await engine.warmUp();
    } catch (err) {
      await engine.close();
      throw err;
    }
    log.info('embedding model loaded', {
      model: version.id,
      device: engine.device,
      dtype: primaryOnnx(manifest).dtype,
      ms: Math.round(performance.now() - started),
    });
    return engine;
  }

  /** Where inference runs (may differ from the requested device, see fallbackReason). */
  get device(): Device {
    return this.inference.device;
  }

  get fallbackReason(): string | undefined {
    return this.inference.fallbackReason;
  }

  get id(): string {
    return this.version.id;
  }

  get manifest(): Manifest {
    return this.version.manifest;
  }

  get dimensions(): number {
    return this.version.manifest.dimensions;
  }

  get queueDepth(): number {
    return this.batcher.depth;
  }

  set onBatch(listener: ((stats: BatchStats) => void) | undefined) {
    this.batcher.onBatch = listener;
  }

  /** Tokenizes as `embed` would, without running the model. */
  tokenize(text: string, kind: EmbedKind = 'document'): { ids: readonly number[]; truncated: boolean } {
    const prefixed = this.manifest.prefixes[kind] + text;
    const cap = this.manifest.maxTokens * CHARS_PER_TOKEN_CAP;
    if (prefixed.length <= cap) return this.tokenizer.encode(prefixed);
    const space = prefixed.indexOf(' ', cap);
    const cut = space >= 0 && space < cap + 1024 ? space : cap;
    return { ids: this.tokenizer.encode(prefixed.slice(0, cut)).ids, truncated: true };
  }

  async embed(texts: readonly string[], kind: EmbedKind = 'document'): Promise<EmbedOutput> {
    if (!Array.isArray(texts)) throw new InvalidInputError('texts must be an array of strings');
    const encoded: Encoded[] = [];
    const truncated: boolean[] = [];
    const unknownTokens: number[] = [];
    texts.forEach((text, index) => {
      if (typeof text !== 'string') throw new InvalidInputError(`text ${index} is not a string`, { index });
      if (text.trim().length === 0) throw new EmptyTextError(`text ${index} is empty or whitespace only`, { index });
      const { ids, truncated: cut } = this.tokenize(text, kind);
      encoded.push({ ids, length: ids.length });
      truncated.push(cut);
      const unk = this.tokenizer.unknownId;
      unknownTokens.push(unk === undefined ? 0 : ids.reduce((n, id) => n + (id === unk ? 1 : 0), 0));
    });
    const vectors = encoded.length === 0 ? [] : await this.batcher.submit(encoded);
    return { vectors, tokenCounts: encoded.map((e) => e.length), truncated, unknownTokens };
  }

  async close(): Promise<void> {
    await this.batcher.close();
    await this.inference.close();
  }

  private async warmUp(): Promise<void> {
    // One short and one full-width batch: ORT sizes its arena and picks kernels on first use.
    await this.embed(['warm up']);
    const long = Array.from({ length: 4 }, () => 'warm up the embedding engine '.repeat(this.manifest.maxTokens));
    // In pieces the queue accepts: a small SEXTANT_QUEUE_MAX must not make loading fail as overloaded.
    for (let i = 0; i < long.length; i += this.queueMax) await this.embed(long.slice(i, i + this.queueMax));
  }

  private async infer(items: readonly Encoded[], width: number): Promise<BatchOutcome<Float32Array>> {
    const { inputs } = this.manifest;
    const batch = items.length;
    const ids = new BigInt64Array(batch * width);
    const mask = new BigInt64Array(batch * width);
    fillInt64Rows(ids, mask, items, width);
    const feeds: Record<string, BigInt64Array> = { [inputs.inputIds]: ids, [inputs.attentionMask]: mask };
    if (inputs.tokenTypeIds) feeds[inputs.tokenTypeIds] = new BigInt64Array(batch * width);
    const { data, dim, ms } = await this.inference.run(feeds, [batch, width], Int32Array.from(items, (i) => i.length));
    // Each vector gets its own buffer: callers keep single vectors (caches, stores) for a long time.
    return { results: Array.from({ length: batch }, (_, b) => data.slice(b * dim, (b + 1) * dim)), ms };
  }
}
