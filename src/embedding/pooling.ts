/** Pooling of token embeddings into one vector per text, and L2 normalisation. */
import type { Manifest } from '../models/manifest.ts';

/**
 * Pools rows of a [batch, tokens, dim] output. `lengths[b]` real tokens lead each row
 * (the engine pads on the right), so masking is a length cut-off.
 */
export function poolTokens(
  data: Float32Array,
  batch: number,
  tokens: number,
  dim: number,
  lengths: readonly number[],
  mode: Manifest['pooling'],
): Float32Array[] {
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const v = new Float32Array(dim);
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
      // Accumulate in float64: sums over hundreds of tokens lose digits in float32.
      const acc = new Float64Array(dim);
      for (let t = 0; t < n; t++) {
        const row = base + t * dim;
        for (let d = 0; d < dim; d++) acc[d]! += data[row + d]!;
      }
      for (let d = 0; d < dim; d++) v[d] = acc[d]! / Math.max(n, 1);
    }
    out.push(v);
  }
  return out;
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
