/**
 * Trains a static model (src/models/trained/static.ts: a sentence vector is Σ_t w[id_t]·table[id_t],
 * normalised) from a parent model, by the recipe of
 * /work/shared/research/label-free-training.md ("Static model"):
 *
 *   1. Initial table: every vocabulary id run through the parent alone (input ids [[id]], mask
 *      [[1]]), each row the parent's unit vector (V×d; use-lite@1: 8,002 × 512). Every id is run,
 *      special and unknown ones included: they are what the served model looks up for them, and
 *      SIF (2) gives the ids that occur in every text (a tokenizer's [CLS]/[SEP]) a weight near 0.
 *   2. Per-token weights, fixed: SIF a / (a + p(token)), a = 1e-3, p from the collection's
 *      document token counts with +1 smoothing (p = (count + 1) / (total + V)).
 *   3. In-domain distillation: minimise 1 - cos(static(text), teacher(text)) over the documents
 *      (teacher: their stored vectors) and the pseudo-queries (teacher: the parent's vectors);
 *      Adam 1e-3, batch 256, 3 epochs (graph distillStepGraph, S = each text's weight × count of
 *      every token as a dense [b, V] row).
 *   4. Contrastive: each pseudo-query against its document among the batch's documents plus 256
 *      random documents, both sides through the static model; tau 0.05, Adam 3e-4, 3 epochs
 *      (graph staticContrastiveStepGraph).
 *
 * Only the table is trained; the weights stay SIF's. Deterministic: the same inputs and seed give
 * the same table bit for bit on the same machine (one seeded stream orders both phases' batches
 * and samples the random documents).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import * as ort from 'onnxruntime-node';
import { InvalidInputError } from '../errors.ts';
import type { Manifest } from '../models/manifest.ts';
import { mulberry32 } from '../util/random.ts';
import { Adam } from './adam.ts';
import { TrainingCancelledError } from './errors.ts';
import { distillStepGraph, staticContrastiveStepGraph, targetRankGraph } from './graphs.ts';
import { feed, int64, type GraphRunner } from './runner.ts';
import { SessionCache } from './sessions.ts';

/** A text as the parent's tokenizer encodes it (src/embedding/tokenizer.ts, truncation included). */
export type TokenIds = readonly number[];

/**
 * The parent's vectors for single-token inputs: `ids` in, ids.length × d row-major out (one
 * row per id, the parent run on that id alone). Rows need not be unit; they are normalised here.
 */
export type TokenEmbedder = (ids: readonly number[]) => Promise<Float32Array>;

export type StaticPhase = 'distill' | 'contrastive';

export interface StaticProgress {
  readonly phase: StaticPhase;
  /** Epoch within the phase. */
  readonly epoch: number;
  readonly epochs: number;
  /** Steps done so far over both phases, and in all. */
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
}

export interface StaticPhaseOptions {
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly lr?: number;
}

export interface StaticContrastivePhaseOptions extends StaticPhaseOptions {
  readonly temperature?: number;
  /** Random documents added to each step's candidates (besides the batch's positives). */
  readonly randomNegatives?: number;
}

export interface StaticTrainingOptions {
  /** Vocabulary size V: one more than the highest id the parent's tokenizer produces. */
  readonly vocabulary: number;
  /** The parent, run on single tokens (onnxTokenEmbedder for a model version), or the initial table itself (V×d). */
  readonly parent: TokenEmbedder | Float32Array;
  /** The collection's documents as token ids, and their stored (teacher) vectors, in the same order. */
  readonly documents: readonly TokenIds[];
  readonly documentVectors: readonly Float32Array[];
  /** Pseudo-queries as token ids, the parent's vectors for them, and each one's document index. */
  readonly queries: readonly TokenIds[];
  readonly queryVectors: readonly Float32Array[];
  readonly positives: readonly number[];
  /** Held-out pseudo-queries: MRR@10 (static vectors, both sides) before and after every epoch. */
  readonly validation?: { readonly queries: readonly TokenIds[]; readonly positives: readonly number[] };
  /** SIF's a (default 1e-3). */
  readonly sifA?: number;
  readonly distill?: StaticPhaseOptions;
  readonly contrastive?: StaticContrastivePhaseOptions;
  readonly seed?: number;
  /** Ids per parent run when building the initial table (default 256). */
  readonly parentBatch?: number;
  readonly threads?: number;
  readonly sessions?: SessionCache;
  readonly onProgress?: (progress: StaticProgress) => void;
  readonly signal?: AbortSignal;
}

export interface StaticEpoch {
  readonly phase: StaticPhase;
  readonly epoch: number;
  /** Mean loss over the epoch's steps (1 - mean cos for distillation, InfoNCE for contrastive). */
  readonly loss: number;
  readonly validationMrrBefore?: number;
  readonly validationMrrAfter?: number;
}

export interface StaticTrainingResult {
  readonly vocabulary: number;
  readonly dimensions: number;
  /** V×d row-major, for writeStaticModel. */
  readonly table: Float32Array;
  /** V SIF weights, for writeStaticModel. */
  readonly weights: Float32Array;
  /** The table before any training (the parent's single-token vectors). */
  readonly initialTable: Float32Array;
  readonly history: StaticEpoch[];
  readonly steps: number;
}

export const STATIC_DEFAULTS = {
  sifA: 1e-3,
  seed: 7,
  parentBatch: 256,
  distill: { epochs: 3, batchSize: 256, lr: 1e-3 },
  contrastive: { epochs: 3, batchSize: 256, lr: 3e-4, temperature: 0.05, randomNegatives: 256 },
} as const;

const EVAL_BATCH = 256;

function check(condition: boolean, message: string): void {
  if (!condition) throw new InvalidInputError(message);
}

function nonNegativeInt(value: number, name: string): number {
  check(Number.isInteger(value) && value >= 0, `${name} must be a non-negative integer, got ${value}`);
  return value;
}

function positiveInt(value: number, name: string): number {
  check(Number.isInteger(value) && value > 0, `${name} must be a positive integer, got ${value}`);
  return value;
}

function checkIds(texts: readonly TokenIds[], vocabulary: number, label: string): void {
  for (const ids of texts) {
    for (const id of ids) check(Number.isInteger(id) && id >= 0 && id < vocabulary, `${label}: token id ${id} is outside the vocabulary [0, ${vocabulary})`);
  }
}

/** SIF weights a / (a + p), p = (document count of the token + 1) / (all document tokens + V). */
export function sifWeights(documents: readonly TokenIds[], vocabulary: number, a: number = STATIC_DEFAULTS.sifA): Float32Array {
  positiveInt(vocabulary, 'vocabulary');
  check(a > 0 && Number.isFinite(a), `SIF a must be > 0, got ${a}`);
  checkIds(documents, vocabulary, 'documents');
  const counts = new Float64Array(vocabulary);
  let total = 0;
  for (const ids of documents) {
    for (const id of ids) counts[id]! += 1;
    total += ids.length;
  }
  const denominator = total + vocabulary;
  return Float32Array.from(counts, (c) => a / (a + (c + 1) / denominator));
}

/** Rows normalised in place (a zero row stays zero). */
function normalizeRowsInPlace(x: Float32Array, d: number): void {
  for (let at = 0; at < x.length; at += d) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[at + j]! * x[at + j]!;
    const r = Math.sqrt(s + 1e-12);
    for (let j = 0; j < d; j++) x[at + j] = x[at + j]! / r;
  }
}

/** The initial table: every id 0..V-1 through `embed`, in batches, rows normalised. */
export async function parentTokenTable(embed: TokenEmbedder, vocabulary: number, batch: number = STATIC_DEFAULTS.parentBatch, signal?: AbortSignal): Promise<{ table: Float32Array; dimensions: number }> {
  positiveInt(vocabulary, 'vocabulary');
  positiveInt(batch, 'parentBatch');
  const parts: Float32Array[] = [];
  let d = 0;
  for (let start = 0; start < vocabulary; start += batch) {
    if (signal?.aborted) throw new TrainingCancelledError();
    const ids = Array.from({ length: Math.min(batch, vocabulary - start) }, (_, i) => start + i);
    const rows = await embed(ids);
    if (d === 0) d = rows.length / ids.length;
    check(Number.isInteger(d) && d > 0 && rows.length === ids.length * d, `the parent returned ${rows.length} values for ${ids.length} ids`);
    parts.push(rows);
  }
  const table = new Float32Array(vocabulary * d);
  let at = 0;
  for (const p of parts) {
    table.set(p, at);
    at += p.length;
  }
  check(table.every(Number.isFinite), 'the parent returned NaN or infinite values');
  normalizeRowsInPlace(table, d);
  return { table, dimensions: d };
}

/**
 * A TokenEmbedder over a model version's ONNX graph (an ORT session of its own): input ids [[id]]
 * per row, mask [[1]], token types [[0]] when the graph takes them. The output is [B, d], or
 * [B, 1, d] for a graph that does not pool (one token: its row is the pooled vector).
 */
export async function onnxTokenEmbedder(onnxPath: string, manifest: Pick<Manifest, 'inputs' | 'output'>, threads?: number): Promise<{ embed: TokenEmbedder; release: () => Promise<void> }> {
  const session = await ort.InferenceSession.create(onnxPath, {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(threads !== undefined ? { intraOpNumThreads: threads } : {}),
  });
  const embed: TokenEmbedder = async (ids) => {
    const b = ids.length;
    const feeds: Record<string, ort.Tensor> = {
      [manifest.inputs.inputIds]: new ort.Tensor('int64', int64(ids), [b, 1]),
      [manifest.inputs.attentionMask]: new ort.Tensor('int64', new BigInt64Array(b).fill(1n), [b, 1]),
    };
    if (manifest.inputs.tokenTypeIds && session.inputNames.includes(manifest.inputs.tokenTypeIds)) {
      feeds[manifest.inputs.tokenTypeIds] = new ort.Tensor('int64', new BigInt64Array(b), [b, 1]);
    }
    const out = (await session.run(feeds, [manifest.output]))[manifest.output]!;
    if (out.type !== 'float32') throw new InvalidInputError(`parent output ${manifest.output} is ${out.type}, not float32`);
    return Float32Array.from(out.data as Float32Array);
  };
  return { embed, release: () => session.release() };
}

/** Static vectors of `texts` in JS: normalize(Σ_t w[id_t] table[id_t]), row-major [texts, d]. */
export function staticVectors(table: Float32Array, weights: Float32Array, texts: readonly TokenIds[]): Float32Array {
  const vocabulary = weights.length;
  const d = table.length / vocabulary;
  check(vocabulary > 0 && Number.isInteger(d) && d > 0, `table of ${table.length} values does not fit ${vocabulary} weights`);
  checkIds(texts, vocabulary, 'texts');
  const out = new Float32Array(texts.length * d);
  const acc = new Float64Array(d);
  texts.forEach((ids, i) => {
    acc.fill(0);
    for (const id of ids) {
      const w = weights[id]!;
      const row = id * d;
      for (let j = 0; j < d; j++) acc[j]! += w * table[row + j]!;
    }
    let s = 0;
    for (let j = 0; j < d; j++) s += acc[j]! * acc[j]!;
    const r = Math.sqrt(s + 1e-12);
    for (let j = 0; j < d; j++) out[i * d + j] = acc[j]! / r;
  });
  return out;
}

/** Dense [rows, V] rows of weight × count per token (V = weights.length). */
function denseRows(texts: readonly TokenIds[], indices: ArrayLike<number>, weights: Float32Array): Float32Array {
  const vocabulary = weights.length;
  const out = new Float32Array(indices.length * vocabulary);
  for (let i = 0; i < indices.length; i++) {
    const base = i * vocabulary;
    for (const id of texts[indices[i]!]!) out[base + id]! += weights[id]!;
  }
  return out;
}

function shuffleInPlace(items: number[], next: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

async function meanMrrAt10(rank: GraphRunner, table: Float32Array, weights: Float32Array, d: number, documents: readonly TokenIds[], validation: { queries: readonly TokenIds[]; positives: readonly number[] }): Promise<number> {
  const count = validation.positives.length;
  if (count === 0) return 0;
  const docs = staticVectors(table, weights, documents);
  const queries = staticVectors(table, weights, validation.queries);
  let total = 0;
  for (let start = 0; start < count; start += EVAL_BATCH) {
    const rows = Math.min(EVAL_BATCH, count - start);
    const out = await rank.runFloat(
      {
        Q: feed(queries.subarray(start * d, (start + rows) * d), [rows, d]),
        D: feed(docs, [documents.length, d]),
        target: feed(int64(validation.positives.slice(start, start + rows)), [rows]),
      },
      ['rank'],
    );
    for (const r of out.rank) if (r < 10) total += 1 / (r + 1);
  }
  return total / count;
}

export async function trainStatic(options: StaticTrainingOptions): Promise<StaticTrainingResult> {
  if (options.signal?.aborted) throw new TrainingCancelledError();
  const V = positiveInt(options.vocabulary, 'vocabulary');
  const distill = { ...STATIC_DEFAULTS.distill, ...definedOnly(options.distill ?? {}) };
  const contrastive = { ...STATIC_DEFAULTS.contrastive, ...definedOnly(options.contrastive ?? {}) };
  const seed = options.seed ?? STATIC_DEFAULTS.seed;
  const n = options.documents.length;
  check(n > 0, 'trainStatic needs at least one document');
  check(options.documentVectors.length === n, `${n} documents but ${options.documentVectors.length} document vectors`);
  check(options.queryVectors.length === options.queries.length, `${options.queries.length} queries but ${options.queryVectors.length} query vectors`);
  check(options.positives.length === options.queries.length, `${options.queries.length} queries but ${options.positives.length} positives`);
  for (const p of options.positives) check(Number.isInteger(p) && p >= 0 && p < n, `positive ${p} is not a document index`);
  checkIds(options.documents, V, 'documents');
  checkIds(options.queries, V, 'queries');
  if (options.validation) {
    const v = options.validation;
    check(v.queries.length === v.positives.length, `validation: ${v.queries.length} queries but ${v.positives.length} positives`);
    for (const p of v.positives) check(Number.isInteger(p) && p >= 0 && p < n, `validation: positive ${p} is not a document index`);
    checkIds(v.queries, V, 'validation queries');
  }
  nonNegativeInt(distill.epochs, 'distill.epochs');
  nonNegativeInt(contrastive.epochs, 'contrastive.epochs');
  positiveInt(distill.batchSize, 'distill.batchSize');
  positiveInt(contrastive.batchSize, 'contrastive.batchSize');
  nonNegativeInt(contrastive.randomNegatives, 'contrastive.randomNegatives');
  check(contrastive.temperature > 0, `temperature must be > 0, got ${contrastive.temperature}`);
  check(contrastive.epochs === 0 || options.queries.length > 0, 'contrastive training needs at least one query');

  const weights = sifWeights(options.documents, V, options.sifA ?? STATIC_DEFAULTS.sifA);
  let table: Float32Array;
  let d: number;
  if (options.parent instanceof Float32Array) {
    check(options.parent.length > 0 && options.parent.length % V === 0, `initial table of ${options.parent.length} values is not V×d for V = ${V}`);
    check(options.parent.every(Number.isFinite), 'initial table holds NaN or infinite values');
    table = Float32Array.from(options.parent);
    d = table.length / V;
  } else {
    ({ table, dimensions: d } = await parentTokenTable(options.parent, V, options.parentBatch ?? STATIC_DEFAULTS.parentBatch, options.signal));
  }
  for (const v of options.documentVectors) check(v.length === d, `a document vector has ${v.length} dimensions, the table ${d}`);
  for (const v of options.queryVectors) check(v.length === d, `a query vector has ${v.length} dimensions, the table ${d}`);
  const initialTable = Float32Array.from(table);

  // Train only the rows of ids that occur in the training texts: the others never get a gradient
  // (so Adam leaves them as they are), and dropping them from S and E cuts each step's products
  // (Cranfield uses about half of use-lite's 8,002 ids). `local` renumbers the texts' ids.
  const used = [...new Set([...options.documents, ...options.queries].flat())].sort((x, y) => x - y);
  const U = Math.max(1, used.length);
  const localId = new Map(used.map((id, i) => [id, i]));
  const localize = (texts: readonly TokenIds[]) => texts.map((ids) => ids.map((id) => localId.get(id)!));
  const localDocs = localize(options.documents);
  const localQueries = localize(options.queries);
  const localWeights = Float32Array.from({ length: U }, (_, i) => weights[used[i] ?? 0]!);
  const sub = new Float32Array(U * d);
  used.forEach((id, i) => sub.set(table.subarray(id * d, (id + 1) * d), i * d));
  const scatter = () => used.forEach((id, i) => table.set(sub.subarray(i * d, (i + 1) * d), id * d));

  const sessions = options.sessions ?? new SessionCache(options.threads !== undefined ? { threads: options.threads } : {});
  const ownSessions = !options.sessions;
  const next = mulberry32(seed);
  const validation = options.validation && options.validation.queries.length > 0 ? options.validation : undefined;

  // Distillation items: documents 0..n-1, then queries n..n+q-1.
  const texts: readonly TokenIds[] = [...localDocs, ...localQueries];
  const teachers: readonly Float32Array[] = [...options.documentVectors, ...options.queryVectors];
  const distillPerEpoch = Math.ceil(texts.length / distill.batchSize);
  const contrastPerEpoch = Math.ceil(options.queries.length / contrastive.batchSize);
  const steps = distillPerEpoch * distill.epochs + contrastPerEpoch * contrastive.epochs;
  let done = 0;
  const history: StaticEpoch[] = [];

  try {
    const rank = validation ? await sessions.get(`target-rank:${d}`, () => targetRankGraph(d)) : undefined;
    const mrr = () => (validation ? meanMrrAt10(rank!, table, weights, d, options.documents, validation) : Promise.resolve(undefined));
    let before = await mrr();

    const runPhase = async (
      phase: StaticPhase,
      epochs: number,
      perEpoch: number,
      lr: number,
      step: (epochOrder: number[], s: number) => Promise<{ loss: number; grad: Float32Array }>,
      items: number,
    ) => {
      if (epochs === 0) return;
      const adam = new Adam({ E: sub }, { lr });
      const order = Array.from({ length: items }, (_, i) => i);
      for (let epoch = 1; epoch <= epochs; epoch++) {
        shuffleInPlace(order, next);
        let lossSum = 0;
        for (let s = 0; s < perEpoch; s++) {
          if (options.signal?.aborted) throw new TrainingCancelledError();
          const out = await step(order, s);
          if (!Number.isFinite(out.loss)) throw new InvalidInputError(`static ${phase} training diverged (loss ${out.loss} at step ${done + 1}); lower lr`);
          adam.step({ E: out.grad });
          lossSum += out.loss;
          done += 1;
          options.onProgress?.({ phase, epoch, epochs, step: done, steps, loss: out.loss });
          await yieldToEventLoop();
        }
        scatter();
        const after = await mrr();
        history.push({
          phase,
          epoch,
          loss: lossSum / perEpoch,
          ...(before !== undefined ? { validationMrrBefore: before } : {}),
          ...(after !== undefined ? { validationMrrAfter: after } : {}),
        });
        before = after;
      }
    };

    if (distill.epochs > 0) {
      const graph = await sessions.get(`static-distill:${U}:${d}`, () => distillStepGraph({ vocabulary: U, dimensions: d }));
      await runPhase(
        'distill',
        distill.epochs,
        distillPerEpoch,
        distill.lr,
        async (order, s) => {
          const batch = order.slice(s * distill.batchSize, (s + 1) * distill.batchSize);
          const b = batch.length;
          const t = new Float32Array(b * d);
          batch.forEach((item, i) => t.set(teachers[item]!, i * d));
          const out = await graph.runFloat({ E: feed(sub, [U, d]), S: feed(denseRows(texts, batch, localWeights), [b, U]), T: feed(t, [b, d]) }, ['loss', 'grad_E']);
          return { loss: out.loss[0]!, grad: out.grad_E };
        },
        texts.length,
      );
    }

    if (contrastive.epochs > 0) {
      const graph = await sessions.get(`static-contrastive:${U}:${d}:${contrastive.temperature}`, () =>
        staticContrastiveStepGraph({ vocabulary: U, dimensions: d, temperature: contrastive.temperature }),
      );
      await runPhase(
        'contrastive',
        contrastive.epochs,
        contrastPerEpoch,
        contrastive.lr,
        async (order, s) => {
          const batch = order.slice(s * contrastive.batchSize, (s + 1) * contrastive.batchSize);
          const b = batch.length;
          const local = new Map<number, number>();
          const add = (doc: number) => {
            let at = local.get(doc);
            if (at === undefined) local.set(doc, (at = local.size));
            return at;
          };
          const targets = new BigInt64Array(b);
          for (let i = 0; i < b; i++) targets[i] = BigInt(add(options.positives[batch[i]!]!));
          for (let j = 0; j < contrastive.randomNegatives; j++) add(Math.floor(next() * n));
          const docs = [...local.keys()];
          const out = await graph.runFloat(
            {
              E: feed(sub, [U, d]),
              Sq: feed(denseRows(localQueries, batch, localWeights), [b, U]),
              Sd: feed(denseRows(localDocs, docs, localWeights), [docs.length, U]),
              target: feed(targets, [b]),
            },
            ['loss', 'grad_E'],
          );
          return { loss: out.loss[0]!, grad: out.grad_E };
        },
        options.queries.length,
      );
    }
    return { vocabulary: V, dimensions: d, table, weights, initialTable, history, steps: done };
  } finally {
    if (ownSessions) await sessions.release();
  }
}

/** Options without their undefined entries, so that defaults apply to them. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
