/**
 * Plain-loop BERT encoder in float64, written independently of the ONNX graph builder so it is a
 * genuine cross-check of scripts/make-tiny-bert.ts. Only the weights type is shared.
 */
import type { LayerNormWeights, LinearWeights, TinyBertWeights } from '../../scripts/make-tiny-bert.ts';

type Vec = Float64Array;

function linear(x: Vec, lin: LinearWeights): Vec {
  const out = new Float64Array(lin.outFeatures);
  for (let o = 0; o < lin.outFeatures; o++) {
    let sum = lin.bias[o]!;
    for (let i = 0; i < lin.inFeatures; i++) sum += x[i]! * lin.weight[i * lin.outFeatures + o]!;
    out[o] = sum;
  }
  return out;
}

function layerNorm(x: Vec, ln: LayerNormWeights, eps: number): Vec {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i]!;
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i]! - mean) ** 2;
  variance /= n;
  const inv = 1 / Math.sqrt(variance + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i]! - mean) * inv * ln.gamma[i]! + ln.beta[i]!;
  return out;
}

function add(a: Vec, b: Vec): Vec {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/** erf by Abramowitz-Stegun 7.1.26 is only ~1e-7 accurate; use a series/continued fraction instead. */
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const ax = Math.abs(x);
  if (ax < 3) {
    // Maclaurin series: erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1)).
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const contribution = term / (2 * n + 1);
      sum += contribution;
      if (Math.abs(contribution) < 1e-17 * Math.abs(sum)) break;
    }
    return (sign * 2 * sum) / Math.sqrt(Math.PI);
  }
  // Continued fraction for erfc, converges quickly for |x| >= 3.
  let f = 0;
  for (let k = 60; k >= 1; k--) f = (k / 2) / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return sign * (1 - erfc);
}

function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

function row(table: Float32Array, index: number, width: number): Vec {
  if (!Number.isInteger(index) || index < 0 || (index + 1) * width > table.length) {
    throw new Error(`embedding index ${index} out of range`);
  }
  return Float64Array.from(table.subarray(index * width, (index + 1) * width));
}

/**
 * Returns last_hidden_state for each text: one vector per position of its input row (padding
 * positions included, as the ONNX model returns them). Rows may have different lengths.
 */
export function bertForwardReference(
  weights: TinyBertWeights,
  inputIds: number[][],
  attentionMask: number[][],
  tokenTypeIds?: number[][],
): Float32Array[][] {
  const cfg = weights.config;
  const h = cfg.hiddenSize;
  const heads = cfg.numAttentionHeads;
  const headDim = h / heads;
  const eps = cfg.layerNormEps;

  return inputIds.map((ids, b) => {
    const mask = attentionMask[b]!;
    const types = tokenTypeIds?.[b] ?? ids.map(() => 0);
    const seq = ids.length;
    if (mask.length !== seq || types.length !== seq) throw new Error(`row ${b}: ids, mask and types differ in length`);

    let hidden: Vec[] = ids.map((id, t) => {
      const sum = add(add(row(weights.wordEmbeddings, id, h), row(weights.positionEmbeddings, t, h)), row(weights.tokenTypeEmbeddings, types[t]!, h));
      return layerNorm(sum, weights.embeddingLayerNorm, eps);
    });

    for (const layer of weights.layers) {
      const q = hidden.map((x) => linear(x, layer.query));
      const k = hidden.map((x) => linear(x, layer.key));
      const v = hidden.map((x) => linear(x, layer.value));
      const context = hidden.map(() => new Float64Array(h));
      for (let head = 0; head < heads; head++) {
        const off = head * headDim;
        for (let i = 0; i < seq; i++) {
          // Padded keys are left out entirely rather than given a large negative score.
          const scores: number[] = [];
          const keys: number[] = [];
          for (let j = 0; j < seq; j++) {
            if (mask[j] === 0) continue;
            let dot = 0;
            for (let d = 0; d < headDim; d++) dot += q[i]![off + d]! * k[j]![off + d]!;
            scores.push(dot / Math.sqrt(headDim));
            keys.push(j);
          }
          const max = Math.max(...scores);
          const exps = scores.map((s) => Math.exp(s - max));
          const total = exps.reduce((a, c) => a + c, 0);
          keys.forEach((j, n) => {
            const p = exps[n]! / total;
            for (let d = 0; d < headDim; d++) context[i]![off + d]! += p * v[j]![off + d]!;
          });
        }
      }
      hidden = hidden.map((x, i) => layerNorm(add(linear(context[i]!, layer.attentionOutput), x), layer.attentionLayerNorm, eps));
      hidden = hidden.map((x) => {
        const inner = linear(x, layer.intermediate).map(gelu);
        return layerNorm(add(linear(inner, layer.output), x), layer.outputLayerNorm, eps);
      });
    }
    return hidden.map((x) => Float32Array.from(x));
  });
}

/** Mean over positions whose mask is non-zero. */
export function meanPool(tokens: ArrayLike<number>[], mask: number[]): number[] {
  const width = tokens[0]?.length ?? 0;
  const out = new Array<number>(width).fill(0);
  let count = 0;
  tokens.forEach((vec, t) => {
    if (!mask[t]) return;
    count++;
    for (let i = 0; i < width; i++) out[i]! += vec[i]!;
  });
  if (count === 0) throw new Error('meanPool: mask selects no tokens');
  return out.map((x) => x / count);
}

/** The [CLS] (first) token's vector. */
export function clsPool(tokens: ArrayLike<number>[]): number[] {
  const first = tokens[0];
  if (!first) throw new Error('clsPool: no tokens');
  return Array.from(first);
}

export function l2normalize(v: ArrayLike<number>): number[] {
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += v[i]! ** 2;
  norm = Math.sqrt(norm);
  return Array.from(v, (x) => (norm === 0 ? 0 : x / norm));
}
