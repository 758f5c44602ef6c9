/** What the trained-model tests share: engine options, a lineage, random matrices, the expected adapter map. */
import type { EmbedKind, EmbeddingEngine, EngineOptions } from '../../../../src/embedding/engine.ts';
import type { TrainedLineageInput } from '../../../../src/models/trained/publish.ts';
import { mulberry32 } from '../../../../src/util/random.ts';

export const ENGINE_OPTIONS: EngineOptions = { device: 'cpu', threads: 1, batchTokens: 4096, batchWaitMs: 2, queueMax: 1024 };

/** Texts of very different lengths: embedded together they form one batch padded to the longest. */
export const TEXTS = [
  'a',
  'the quick brown fox jumps over the lazy dog near the river bank after school',
  'hello world, testing!',
  'semantic search model',
];

export function lineageFor(collection: string, extra: Partial<TrainedLineageInput> = {}): TrainedLineageInput {
  return {
    collection,
    data: { documents: 120, pseudoQueries: 360, feedback: 7, hashes: { documents: 'a'.repeat(64) } },
    hyperparameters: { lr: 0.001, epochs: 3, loss: 'infonce', tied: false },
    seed: 42,
    validation: { before: { 'dense.ndcg@10': 0.2 }, after: { 'dense.ndcg@10': 0.25 } },
    ...extra,
  };
}

export function randomMatrix(rows: number, cols: number, seed: number, scale: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: rows * cols }, () => (r() * 2 - 1) * scale);
}

export function normalized(v: ArrayLike<number>): number[] {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  return Array.from(v, (x) => (n > 0 ? x / n : x));
}

/** normalize(p + p·W), W d×d row-major, computed in float64. */
export function adapted(p: ArrayLike<number>, W: Float32Array): number[] {
  const d = p.length;
  const u = Array.from(p, Number);
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += p[i]! * W[i * d + j]!;
    u[j] = u[j]! + s;
  }
  return normalized(u);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The largest difference between what `adapter` serves and normalize(p + pW) over `texts`, p from `parent`, one batch each. */
export async function adapterError(parent: EmbeddingEngine, adapter: EmbeddingEngine, W: Float32Array, texts: readonly string[], kind: EmbedKind): Promise<number> {
  const [p, a] = await Promise.all([parent.embed(texts, kind), adapter.embed(texts, kind)]);
  let worst = 0;
  for (let i = 0; i < texts.length; i++) worst = Math.max(worst, maxAbsDiff(a.vectors[i]!, adapted(p.vectors[i]!, W)));
  return worst;
}
