/**
 * Trains a residual linear adapter v -> normalize(v + v W) for one collection: InfoNCE of each
 * (pseudo-)query against the collection's documents, target = its source document, Adam in JS,
 * each step's forward and backward pass one ONNX graph (src/training/graphs.ts).
 *
 * Candidates per step: every document (full softmax) while the collection has at most
 * `fullSoftmaxLimit` documents; above that, the batch's positives (in-batch negatives) plus each
 * query's hardest documents under the untrained vectors plus a seeded random sample.
 * Deterministic: the same inputs and seed give the same W bit for bit on the same machine (one
 * seeded stream orders batches and samples negatives; ORT's CPU kernels reduce in a fixed order).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { InvalidInputError } from '../errors.ts';
import { mulberry32 } from '../util/random.ts';
import { Adam } from './adam.ts';
import { TrainingCancelledError } from './errors.ts';
import { adapterMapGraph, adapterStepGraph, targetRankGraph, topKGraph, type AdapterSides } from './graphs.ts';
import type { Feed, GraphRunner } from './runner.ts';
import { feed, int64 } from './runner.ts';
import { SessionCache } from './sessions.ts';

export interface LabelledQueries {
  /** Unit query vectors. */
  readonly queries: readonly Float32Array[];
  /** For each query, the index (into `documents`) of its positive document. */
  readonly positives: readonly number[];
}

export interface AdapterProgress {
  readonly epoch: number;
  readonly epochs: number;
  /** Steps done so far, over all epochs, and in all. */
  readonly step: number;
  readonly steps: number;
  /** This step's loss. */
  readonly loss: number;
}

/** trainAdapter's numeric settings (also what a TrainingWorker sends its thread). */
export interface AdapterSettings {
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly lr?: number;
  readonly temperature?: number;
  readonly l2?: number;
  readonly seed?: number;
  /** 'both' (default): documents go through the adapter too; 'queries': only queries do. */
  readonly sides?: AdapterSides;
  /** Train W = A B of this rank instead of a full W (A [d,r] seeded, B = 0, so W starts at 0). */
  readonly rank?: number;
  /** Full softmax over all documents up to this many (default 20,000), sampled candidates above. */
  readonly fullSoftmaxLimit?: number;
  /** Sampled mode: hardest documents per query under the untrained vectors (default 8). */
  readonly hardNegatives?: number;
  /** Sampled mode: random documents added per step (default 1,024). */
  readonly randomNegatives?: number;
}

export interface AdapterTrainingOptions extends LabelledQueries, AdapterSettings {
  /** Unit document vectors: the collection's stored vectors. */
  readonly documents: readonly Float32Array[];
  /** Held-out queries: MRR@10 before and after every epoch. */
  readonly validation?: LabelledQueries;
  /** ORT intra-op threads (default: all cores). */
  readonly threads?: number;
  /** Sessions to reuse across runs (e.g. a worker's); otherwise created and released here. */
  readonly sessions?: SessionCache;
  readonly onProgress?: (progress: AdapterProgress) => void;
  readonly signal?: AbortSignal;
}

export interface AdapterEpoch {
  readonly epoch: number;
  /** Mean training loss over the epoch's steps (InfoNCE + L2 penalty). */
  readonly loss: number;
  /** Validation MRR@10 before and after this epoch (absent without validation queries). */
  readonly validationMrrBefore?: number;
  readonly validationMrrAfter?: number;
}

export interface AdapterTrainingResult {
  readonly dimensions: number;
  /** d*d, row-major: v -> normalize(v + v W). */
  readonly W: Float32Array;
  readonly history: AdapterEpoch[];
  readonly steps: number;
  /** 'full': every document in every step's softmax; 'sampled': in-batch + hard + random. */
  readonly candidates: 'full' | 'sampled';
}

/**
 * The recipe of the research note (PyTorch, Cranfield/CISI: +0.034/+0.038 dense nDCG@10
 * queries-only, +0.037/+0.021 both sides). Ours (scripts/measure-adapter.ts, both sides):
 * Cranfield 0.195 -> 0.238, CISI 0.255 -> 0.270 (queries only: 0.230, 0.284).
 */
export const ADAPTER_DEFAULTS = {
  epochs: 4,
  batchSize: 256,
  lr: 1e-3,
  temperature: 0.05,
  l2: 1e-2,
  seed: 7,
  // At 20k documents a full-softmax step holds 20 MB of logits and costs ~36 GFLOP (both sides),
  // ~13x a Cranfield step: still seconds per epoch. Beyond it, sampled candidates keep steps flat.
  fullSoftmaxLimit: 20_000,
  hardNegatives: 8,
  randomNegatives: 1024,
} as const;

/** Validation queries per evaluation run (bounds the [b, n] score matrix). */
const EVAL_BATCH = 256;

/** Row-major [rows.length, d] copy of `rows`. */
export function packRows(rows: readonly Float32Array[], d: number): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set(r, i * d));
  return out;
}

function gatherRows(source: Float32Array, d: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * d);
  for (let i = 0; i < indices.length; i++) {
    const at = indices[i]! * d;
    out.set(source.subarray(at, at + d), i * d);
  }
  return out;
}

/** v -> normalize(v + v W) for each vector, in JS (for transforming stored vectors). */
export function applyAdapter(W: Float32Array, vectors: readonly Float32Array[]): Float32Array[] {
  const d = Math.round(Math.sqrt(W.length));
  if (d * d !== W.length) throw new InvalidInputError(`adapter matrix has ${W.length} values, not d*d`);
  return vectors.map((v) => {
    if (v.length !== d) throw new InvalidInputError(`vector of ${v.length} dimensions for a ${d}-dimensional adapter`);
    const u = new Float64Array(v);
    for (let k = 0; k < d; k++) {
      const vk = v[k]!;
      if (vk === 0) continue;
      const row = k * d;
      for (let j = 0; j < d; j++) u[j]! += vk * W[row + j]!;
    }
    let s = 0;
    for (let j = 0; j < d; j++) s += u[j]! * u[j]!;
    const r = Math.sqrt(s + 1e-12);
    return Float32Array.from(u, (x) => x / r);
  });
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new InvalidInputError(message);
}

function validate(o: AdapterTrainingOptions, d: number, label: string, q: LabelledQueries): void {
  check(q.queries.length === q.positives.length, `${label}: ${q.queries.length} queries but ${q.positives.length} positives`);
  for (const v of q.queries) check(v.length === d, `${label}: a query vector has ${v.length} dimensions, the documents ${d}`);
  for (const p of q.positives) check(Number.isInteger(p) && p >= 0 && p < o.documents.length, `${label}: positive ${p} is not a document index`);
}

function positiveInt(value: number, name: string): number {
  check(Number.isInteger(value) && value > 0, `${name} must be a positive integer, got ${value}`);
  return value;
}

interface Matrices {
  readonly d: number;
  readonly n: number;
  readonly docs: Float32Array;
}

async function meanMrrAt10(
  rank: GraphRunner,
  map: GraphRunner,
  m: Matrices,
  W: Float32Array,
  validation: { queries: Float32Array; positives: readonly number[] },
  sides: AdapterSides,
): Promise<number> {
  const { d, n } = m;
  const count = validation.positives.length;
  if (count === 0) return 0;
  const mapRows = async (x: Float32Array, rows: number) => (await map.runFloat({ W: feed(W, [d, d]), X: feed(x, [rows, d]) }, ['Y'])).Y;
  const docs = sides === 'both' ? await mapRows(m.docs, n) : m.docs;
  const queries = await mapRows(validation.queries, count);
  let total = 0;
  for (let start = 0; start < count; start += EVAL_BATCH) {
    const rows = Math.min(EVAL_BATCH, count - start);
    const out = await rank.runFloat(
      {
        Q: feed(queries.subarray(start * d, (start + rows) * d), [rows, d]),
        D: feed(docs, [n, d]),
        target: feed(int64(validation.positives.slice(start, start + rows)), [rows]),
      },
      ['rank'],
    );
    for (const r of out.rank) if (r < 10) total += 1 / (r + 1);
  }
  return total / count;
}

/** Each query's `k` best documents other than its positive, by dot product of the given vectors. */
async function mineHardNegatives(topK: GraphRunner, queries: Float32Array, positives: readonly number[], m: Matrices, k: number): Promise<Int32Array> {
  const { d, n } = m;
  const out = new Int32Array(positives.length * k);
  for (let start = 0; start < positives.length; start += EVAL_BATCH) {
    const rows = Math.min(EVAL_BATCH, positives.length - start);
    const { indices } = await topK.run({ Q: feed(queries.subarray(start * d, (start + rows) * d), [rows, d]), D: feed(m.docs, [n, d]) }, ['indices']);
    for (let i = 0; i < rows; i++) {
      let taken = 0;
      for (let j = 0; j <= k && taken < k; j++) {
        const doc = Number(indices[i * (k + 1) + j]!);
        if (doc !== positives[start + i]) out[(start + i) * k + taken++] = doc;
      }
    }
  }
  return out;
}

export async function trainAdapter(options: AdapterTrainingOptions): Promise<AdapterTrainingResult> {
  if (options.signal?.aborted) throw new TrainingCancelledError();
  const o = { ...ADAPTER_DEFAULTS, ...definedOnly(options) };
  check(options.documents.length > 0, 'trainAdapter needs at least one document');
  check(options.queries.length > 0, 'trainAdapter needs at least one query');
  const d = options.documents[0]!.length;
  for (const v of options.documents) check(v.length === d, `a document vector has ${v.length} dimensions, the first ${d}`);
  validate(options, d, 'training', options);
  if (options.validation) validate(options, d, 'validation', options.validation);
  const epochs = o.epochs === 0 ? 0 : positiveInt(o.epochs, 'epochs');
  const batchSize = positiveInt(o.batchSize, 'batchSize');
  const sides: AdapterSides = o.sides ?? 'both';
  if (o.rank !== undefined) positiveInt(o.rank, 'rank');

  const n = options.documents.length;
  const m: Matrices = { d, n, docs: packRows(options.documents, d) };
  const queries = packRows(options.queries, d);
  const positives = options.positives;
  const full = n <= o.fullSoftmaxLimit;
  const sessions = options.sessions ?? new SessionCache(o.threads !== undefined ? { threads: o.threads } : {});
  const ownSessions = !options.sessions;
  const next = mulberry32(o.seed);

  try {
    const stepKey = `adapter-step:${d}:${o.temperature}:${o.l2}:${sides}:${o.rank ?? 'full'}`;
    const step = await sessions.get(stepKey, () => adapterStepGraph({ dimensions: d, temperature: o.temperature, l2: o.l2, sides, ...(o.rank !== undefined ? { rank: o.rank } : {}) }));
    const validation = options.validation && options.validation.queries.length > 0 ? { queries: packRows(options.validation.queries, d), positives: options.validation.positives } : undefined;
    const map = validation ? await sessions.get(`adapter-map:${d}`, () => adapterMapGraph(d)) : undefined;
    const rank = validation ? await sessions.get(`target-rank:${d}`, () => targetRankGraph(d)) : undefined;
    const hard = !full && o.hardNegatives > 0 ? await mineHardNegatives(await sessions.get(`top-k:${d}:${o.hardNegatives + 1}`, () => topKGraph(d, o.hardNegatives + 1)), queries, positives, m, o.hardNegatives) : undefined;

    // Parameters: a full W starts at 0 (the adapter starts as the identity map). Low rank starts
    // with B = 0 (so W = 0) and A seeded small, or both factors' gradients would stay 0.
    const params: Record<string, Float32Array> = {};
    if (o.rank === undefined) params.W = new Float32Array(d * d);
    else {
      const scale = 1 / Math.sqrt(d);
      params.A = Float32Array.from({ length: d * o.rank }, () => (next() * 2 - 1) * scale);
      params.B = new Float32Array(o.rank * d);
    }
    const adam = new Adam(params, { lr: o.lr });
    const currentW = (): Float32Array => (o.rank === undefined ? params.W! : lowRankProduct(params.A!, params.B!, d, o.rank));

    const history: AdapterEpoch[] = [];
    const stepsPerEpoch = Math.ceil(positives.length / batchSize);
    const steps = stepsPerEpoch * epochs;
    let done = 0;
    let mrr = validation ? await meanMrrAt10(rank!, map!, m, currentW(), validation, sides) : undefined;
    const order = Array.from({ length: positives.length }, (_, i) => i);
    const allDocs = feed(m.docs, [n, d]);

    for (let epoch = 1; epoch <= epochs; epoch++) {
      shuffleInPlace(order, next);
      let lossSum = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        if (options.signal?.aborted) throw new TrainingCancelledError();
        const batch = order.slice(s * batchSize, (s + 1) * batchSize);
        const b = batch.length;
        const qBatch = gatherRows(queries, d, batch);
        let docsFeed = allDocs;
        const targets = new BigInt64Array(b);
        if (full) {
          for (let i = 0; i < b; i++) targets[i] = BigInt(positives[batch[i]!]!);
        } else {
          const local = new Map<number, number>();
          const add = (doc: number) => {
            let at = local.get(doc);
            if (at === undefined) local.set(doc, (at = local.size));
            return at;
          };
          for (let i = 0; i < b; i++) targets[i] = BigInt(add(positives[batch[i]!]!));
          if (hard) for (const q of batch) for (let j = 0; j < o.hardNegatives; j++) add(hard[q * o.hardNegatives + j]!);
          for (let j = 0; j < o.randomNegatives; j++) add(Math.floor(next() * n));
          docsFeed = feed(gatherRows(m.docs, d, [...local.keys()]), [local.size, d]);
        }
        const paramFeeds: Record<string, Feed> = o.rank === undefined ? { W: feed(params.W!, [d, d]) } : { A: feed(params.A!, [d, o.rank]), B: feed(params.B!, [o.rank, d]) };
        const gradNames = o.rank === undefined ? ['grad_W'] : ['grad_A', 'grad_B'];
        const out = await step.runFloat({ ...paramFeeds, Q: feed(qBatch, [b, d]), D: docsFeed, target: feed(targets, [b]) }, ['loss', ...gradNames]);
        const loss = out.loss![0]!;
        if (!Number.isFinite(loss)) throw new InvalidInputError(`adapter training diverged (loss ${loss} at step ${done + 1}); lower lr`);
        const grads: Record<string, Float32Array> = {};
        for (const name of Object.keys(params)) grads[name] = out[`grad_${name}`]!;
        adam.step(grads);
        lossSum += loss;
        done += 1;
        options.onProgress?.({ epoch, epochs, step: done, steps, loss });
        // Between steps, let the event loop run: cancel messages, and a server on this thread.
        await yieldToEventLoop();
      }
      const after = validation ? await meanMrrAt10(rank!, map!, m, currentW(), validation, sides) : undefined;
      history.push({
        epoch,
        loss: lossSum / stepsPerEpoch,
        ...(mrr !== undefined ? { validationMrrBefore: mrr } : {}),
        ...(after !== undefined ? { validationMrrAfter: after } : {}),
      });
      mrr = after;
    }
    return { dimensions: d, W: Float32Array.from(currentW()), history, steps: done, candidates: full ? 'full' : 'sampled' };
  } finally {
    if (ownSessions) await sessions.release();
  }
}

/** Fisher–Yates with the run's stream (a fresh permutation each epoch). */
function shuffleInPlace(items: number[], next: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

function lowRankProduct(A: Float32Array, B: Float32Array, d: number, r: number): Float32Array {
  const out = new Float32Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < r; k++) {
      const a = A[i * r + k]!;
      if (a === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j]! += a * B[k * d + j]!;
    }
  }
  return out;
}

/** Options without their undefined entries, so that defaults apply to them. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
