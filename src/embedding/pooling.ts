/**
 * From a model's output to finished sentence vectors: pooling of token embeddings (when the
 * graph does not pool) and L2 normalisation. Runs in the inference worker, next to the session,
 * so the event loop receives vectors ready to use (normalising 512 floats per query on the main
 * thread was 7% of a static model's event-loop time at 32 callers).
 */
import type { Manifest } from '../models/manifest.ts';

export interface PoolingSpec {
  /** The graph's output is already one vector per text ([batch, dim]). */
  readonly inGraph: boolean;
  readonly mode: Manifest['pooling'];
  readonly normalize: boolean;
}

/**
 * Pools rows of a [batch, tokens, dim] output into [batch, dim]. `lengths[b]` real tokens lead
 * each row (the engine pads on the right), so masking is a length cut-off.
 */
function poolTokens(
  data: Float32Array,
  batch: number,
  tokens: number,
  dim: number,
  lengths: ArrayLike<number>,
  mode: Manifest['pooling'],
): Float32Array {
  const out = new Float32Array(batch * dim);
  // Accumulate means in float64: sums over hundreds of tokens lose digits in float32.
  const acc = new Float64Array(dim);
  for (let b = 0; b < batch; b++) {
    const v = out.subarray(b * dim, (b + 1) * dim);
    const base = b * tokens * dim;
    const n = lengths[b]!;
    if (mode === 'cls') {
      v.set(data.subarray(base, base + dim));
    } else if (mode === 'max') {
      v.fill(-Infinity);
      for (let t = 0; t < n; t++) {
        const row = base + t * dim;
        for (let d = 0; d < dim; d++) if (data[row + d]! > v[d]!) v[d] = data[row + d]!;
      }
    } else {
      acc.fill(0);
      for (let t = 0; t < n; t++) {
        const row = base + t * dim;
        for (let d = 0; d < dim; d++) acc[d]! += data[row + d]!;
      }
      for (let d = 0; d < dim; d++) v[d] = acc[d]! / Math.max(n, 1);
    }
  }
  return out;
}

/** The model output as [batch, dim] sentence vectors, pooled and normalised as the manifest says. */
export function sentenceVectors(
  data: Float32Array,
  dims: readonly number[],
  lengths: ArrayLike<number>,
  spec: PoolingSpec,
): { data: Float32Array; dim: number } {
  const batch = dims[0]!;
  const dim = dims.at(-1)!;
  const pooled = spec.inGraph ? data : poolTokens(data, batch, dims[1]!, dim, lengths, spec.mode);
  if (spec.normalize) for (let b = 0; b < batch; b++) l2normalize(pooled.subarray(b * dim, (b + 1) * dim));
  return { data: pooled, dim };
}

export function l2normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}

/** The first `dimensions` components of `v`, renormalised (a Matryoshka cut); `v` itself when nothing is cut. */
export function leadingComponents(v: Float32Array, dimensions: number): Float32Array {
  if (dimensions >= v.length) return v;
  return l2normalize(v.slice(0, dimensions));
}
