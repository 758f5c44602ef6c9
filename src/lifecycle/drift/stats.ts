/**
 * Two-sample statistics for drift detection, pure functions over embeddings and scores:
 *
 * - centroid cosine distance: 1 - cos(mean(a), mean(b));
 * - MMD² (unbiased) with an RBF kernel whose bandwidth is the median pairwise distance of the
 *   pooled sample, and a permutation p-value from a seeded PRNG (deterministic);
 * - PSI of a score distribution against a reference, bins at reference quantiles;
 * - rates (unknown tokens, truncation);
 * - `hashString`, for seeds derived from a name (reference samples, permutation tests).
 *
 * Cost: the permutation test needs every pairwise distance of the pooled sample once; a
 * permutation then costs O(m²) for the smaller side m, using row sums of the kernel matrix
 * (Sxy and Syy follow from Sxx, the permuted side's row sums and the total).
 */

import { cosine } from '../../util/vectors.ts';
import { mulberry32 } from '../../util/random.ts';

export type Vectors = readonly Float32Array[];

/** FNV-1a (32-bit) of a string: a seed derived from a name. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** `k` distinct indices of [0, n) in random order (partial Fisher–Yates); all of them when k >= n. */
export function sampleIndices(n: number, k: number, rng: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  const take = Math.min(k, n);
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(rng() * (n - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx.slice(0, take);
}

export function dot(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i]! * b[i]!;
    s1 += a[i + 1]! * b[i + 1]!;
    s2 += a[i + 2]! * b[i + 2]!;
    s3 += a[i + 3]! * b[i + 3]!;
  }
  for (; i < n; i++) s0 += a[i]! * b[i]!;
  return s0 + s1 + s2 + s3;
}

function requireSameDimensions(vectors: Vectors, what: string): number {
  if (vectors.length === 0) throw new RangeError(`${what} is empty`);
  const d = vectors[0]!.length;
  for (const v of vectors) if (v.length !== d) throw new RangeError(`${what} mixes ${d}- and ${v.length}-dimensional vectors`);
  return d;
}

export function centroid(vectors: Vectors): Float64Array {
  const d = requireSameDimensions(vectors, 'sample');
  const c = new Float64Array(d);
  for (const v of vectors) for (let i = 0; i < d; i++) c[i]! += v[i]!;
  for (let i = 0; i < d; i++) c[i]! /= vectors.length;
  return c;
}

/** 1 - cosine similarity of the two samples' mean vectors (0: same direction, up to 2). */
export function centroidCosineDistance(a: Vectors, b: Vectors): number {
  const ca = centroid(a);
  const cb = centroid(b);
  if (ca.length !== cb.length) throw new RangeError(`samples have ${ca.length} and ${cb.length} dimensions`);
  // A zero centroid has no direction: cosine 0, distance 1.
  return 1 - cosine(ca, cb);
}

/** Median of the values (copied; the input is left alone). NaN when empty. */
export function median(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const a = Float64Array.from(values as ArrayLike<number>);
  const kth = (k: number): number => {
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const pivot = a[(lo + hi) >>> 1]!;
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (a[i]! < pivot) i++;
        while (a[j]! > pivot) j--;
        if (i <= j) {
          const t = a[i]!;
          a[i] = a[j]!;
          a[j] = t;
          i++;
          j--;
        }
      }
      if (k <= j) hi = j;
      else if (k >= i) lo = i;
      else return a[k]!;
    }
    return a[k]!;
  };
  if (n % 2 === 1) return kth((n - 1) / 2);
  const upper = kth(n / 2);
  // The lower middle is the largest value left of n/2 after the selection.
  let lower = -Infinity;
  for (let i = 0; i < n / 2; i++) if (a[i]! > lower) lower = a[i]!;
  return (lower + upper) / 2;
}

/**
 * Squared Euclidean distances of the pooled sample z (row-major n×n, symmetric, zero diagonal).
 * `known` supplies distances already computed for the pairs [offset, offset + size)² (e.g. a
 * reference's own pairs, which do not change from one window to the next).
 */
export function pooledSquaredDistances(z: Vectors, known?: { offset: number; size: number; distances: Float64Array }): Float64Array {
  const n = z.length;
  const out = new Float64Array(n * n);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) norms[i] = dot(z[i]!, z[i]!);
  const inKnown = (i: number) => known !== undefined && i >= known.offset && i < known.offset + known.size;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d: number;
      if (inKnown(i) && inKnown(j)) d = known!.distances[(i - known!.offset) * known!.size + (j - known!.offset)]!;
      else d = Math.max(0, norms[i]! + norms[j]! - 2 * dot(z[i]!, z[j]!));
      out[i * n + j] = d;
      out[j * n + i] = d;
    }
  }
  return out;
}

export interface MmdResult {
  /** Unbiased MMD² estimate between the two samples (can be slightly negative under H0). */
  readonly mmd2: number;
  /** Permutation p-value, (1 + #{permuted >= observed}) / (1 + permutations). */
  readonly pValue: number;
  /** RBF bandwidth σ (median pairwise distance of the pooled sample); k(x,y) = exp(-|x-y|² / 2σ²). */
  readonly bandwidth: number;
  readonly permutations: number;
  /** Sizes actually compared (after any subsampling). */
  readonly sizes: readonly [number, number];
}

export interface MmdOptions {
  /** Permutations for the p-value (default 200; 0: no test, p = NaN). */
  readonly permutations?: number;
  /** PRNG seed for subsampling and permutations (default 1). */
  readonly seed?: number;
  /** Each side is subsampled (seeded) to at most this many vectors (default 200). */
  readonly maxPerSide?: number;
  /** Squared distances among `y` (y.length², row-major) when the caller has them cached; used when y is not subsampled. */
  readonly ySquaredDistances?: Float64Array;
}

/** Unbiased MMD² from a kernel matrix given which indices form the first sample. */
function mmd2FromKernel(k: Float64Array, n: number, inX: Uint8Array, m: number, rowSums: Float64Array, total: number): number {
  // Sxx: pairs inside X (i != j); Rx: row sums over X rows (off-diagonal) = Sxx + Sxy.
  let sxx = 0;
  let rx = 0;
  const xs: number[] = [];
  for (let i = 0; i < n; i++) if (inX[i]) xs.push(i);
  for (let a = 0; a < xs.length; a++) {
    const row = xs[a]! * n;
    rx += rowSums[xs[a]!]!;
    for (let b = a + 1; b < xs.length; b++) sxx += k[row + xs[b]!]!;
  }
  sxx *= 2;
  const sxy = rx - sxx;
  const syy = total - sxx - 2 * sxy;
  const ny = n - m;
  return sxx / (m * (m - 1)) + syy / (ny * (ny - 1)) - (2 * sxy) / (m * ny);
}

/**
 * MMD² between x and y with the median-heuristic RBF kernel, and its permutation p-value.
 * Deterministic for a given seed. Both samples need at least 2 vectors.
 */
export function mmdPermutationTest(x: Vectors, y: Vectors, options: MmdOptions = {}): MmdResult {
  const permutations = options.permutations ?? 200;
  const rng = mulberry32(options.seed ?? 1);
  const cap = options.maxPerSide ?? 200;
  const dx = requireSameDimensions(x, 'first sample');
  const dy = requireSameDimensions(y, 'second sample');
  if (dx !== dy) throw new RangeError(`samples have ${dx} and ${dy} dimensions`);
  if (x.length < 2 || y.length < 2) throw new RangeError('MMD needs at least 2 vectors per sample');

  const xs = x.length > cap ? sampleIndices(x.length, cap, rng).map((i) => x[i]!) : x;
  const ySubsampled = y.length > cap;
  const ys = ySubsampled ? sampleIndices(y.length, cap, rng).map((i) => y[i]!) : y;
  const m = xs.length;
  const n = m + ys.length;
  const known =
    !ySubsampled && options.ySquaredDistances && options.ySquaredDistances.length === ys.length * ys.length
      ? { offset: m, size: ys.length, distances: options.ySquaredDistances }
      : undefined;
  const d2 = pooledSquaredDistances([...xs, ...ys], known);

  // Median heuristic over the pooled sample's distinct pairs.
  const pairs = new Float64Array((n * (n - 1)) / 2);
  let p = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs[p++] = Math.sqrt(d2[i * n + j]!);
  let sigma = median(pairs);
  if (!(sigma > 0)) sigma = 1e-6; // all points equal: any bandwidth gives MMD² = 0
  const gamma = 1 / (2 * sigma * sigma);

  const k = new Float64Array(n * n);
  const rowSums = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = Math.exp(-gamma * d2[i * n + j]!);
      k[i * n + j] = v;
      k[j * n + i] = v;
      rowSums[i]! += v;
      rowSums[j]! += v;
    }
  }
  for (let i = 0; i < n; i++) total += rowSums[i]!;

  const inX = new Uint8Array(n);
  for (let i = 0; i < m; i++) inX[i] = 1;
  const observed = mmd2FromKernel(k, n, inX, m, rowSums, total);
  if (permutations <= 0) return { mmd2: observed, pValue: Number.NaN, bandwidth: sigma, permutations: 0, sizes: [m, n - m] };

  // Permute the smaller side's membership: a permutation costs O(min(m, n - m)²).
  const small = Math.min(m, n - m);
  let atLeast = 0;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let t = 0; t < permutations; t++) {
    for (let i = 0; i < small; i++) {
      const j = i + Math.floor(rng() * (n - i));
      const tmp = order[i]!;
      order[i] = order[j]!;
      order[j] = tmp;
    }
    inX.fill(0);
    for (let i = 0; i < small; i++) inX[order[i]!] = 1;
    const stat = mmd2FromKernel(k, n, inX, small, rowSums, total);
    // MMD² is symmetric in which side is "X", so permuting the smaller side is the same test.
    if (stat >= observed - 1e-12) atLeast++;
  }
  return { mmd2: observed, pValue: (1 + atLeast) / (1 + permutations), bandwidth: sigma, permutations, sizes: [m, n - m] };
}

/** Squared distances among a sample's vectors (n², row-major): cache them for a fixed reference. */
export function selfSquaredDistances(vectors: Vectors): Float64Array {
  return pooledSquaredDistances(vectors);
}

/**
 * Population stability index of `observed` against `reference`, over `bins` bins cut at the
 * reference's quantiles (so each holds ~1/bins of the reference). Empty bins count as `epsilon`.
 * Rules of thumb for large samples: < 0.1 stable, 0.1–0.25 moderate, > 0.25 shifted; small
 * samples inflate it (about (bins - 1)(1/n + 1/m) under no change).
 */
export function psi(reference: readonly number[], observed: readonly number[], bins = 10, epsilon = 1e-4): number {
  if (reference.length === 0 || observed.length === 0) return Number.NaN;
  const sorted = [...reference].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let b = 1; b < bins; b++) {
    const q = (b / bins) * (sorted.length - 1);
    const lo = Math.floor(q);
    const hi = Math.ceil(q);
    edges.push(sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (q - lo));
  }
  // Ties (e.g. many equal scores) can repeat an edge; drop the duplicates.
  const cuts = edges.filter((e, i) => i === 0 || e > edges[i - 1]!);
  const histogram = (values: readonly number[]): number[] => {
    const counts = new Array<number>(cuts.length + 1).fill(0);
    for (const v of values) {
      let b = 0;
      while (b < cuts.length && v > cuts[b]!) b++;
      counts[b]! += 1;
    }
    return counts.map((c) => c / values.length);
  };
  const r = histogram(reference);
  const o = histogram(observed);
  let total = 0;
  for (let b = 0; b < r.length; b++) {
    const rb = Math.max(r[b]!, epsilon);
    const ob = Math.max(o[b]!, epsilon);
    total += (ob - rb) * Math.log(ob / rb);
  }
  return total;
}

/** numerator / denominator, 0 when the denominator is 0. */
export function rate(numerator: number, denominator: number): number {
  return denominator > 0 ? numerator / denominator : 0;
}
