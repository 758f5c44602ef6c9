/**
 * Seeded synthetic vector sets and exact search over them, shared by the benchmarks
 * (scripts/bench-search.ts, scripts/bench-scale.ts): unit vectors in one flat Float32Array, rows
 * addressed by index, and exact top-k by dot product (= cosine, every row being unit length) as
 * the ground truth for recall.
 */
import { mulberry32 } from '../../src/util/random.ts';

/** Standard normal samples from a uniform PRNG (Box–Muller, the spare kept for the next call). */
export function gaussian(rng: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = rng();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * rng();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

export function normalizeInPlace(v: Float32Array): void {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const scale = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * scale;
}

/**
 * The clustered set both benches measure (bench-search at 100k, bench-scale at every size): about
 * POINTS_PER_CLUSTER points per gaussian cluster, so neighbourhoods look alike at any n; noise norm
 * NOISE relative to the unit centroid, so a point's cosine to its centroid is ~0.71 and to another
 * member of its cluster ~0.5; one seed. Data directories are written BUILD_BATCH documents at a time.
 */
export const CLUSTERED = { pointsPerCluster: 100, noise: 1, seed: 20241126, buildBatch: 1000 } as const;

export interface SyntheticSpec {
  /** clustered: gaussian clusters around random unit centroids; uniform: uniform on the sphere. */
  readonly kind: 'clustered' | 'uniform';
  readonly n: number;
  /** Extra rows generated after the n data rows and held out as queries. */
  readonly queries: number;
  readonly dim: number;
  /** Number of centroids (clustered only); each point picks one uniformly at random. */
  readonly clusters: number;
  /** Noise norm relative to the unit centroid: point = normalise(centroid + noise * g / sqrt(dim)). */
  readonly noise: number;
  readonly seed: number;
}

/** n + queries unit vectors in one flat array; the last `queries` rows are held out as queries. */
export function syntheticSet(spec: SyntheticSpec): { data: Float32Array; queries: Float32Array } {
  const { kind, n, queries, dim, clusters } = spec;
  const rng = mulberry32(spec.seed);
  const g = gaussian(rng);
  const total = n + queries;
  const all = new Float32Array(total * dim);
  if (kind === 'uniform') {
    for (let i = 0; i < all.length; i++) all[i] = g();
  } else {
    const centroids = new Float32Array(clusters * dim);
    for (let i = 0; i < centroids.length; i++) centroids[i] = g();
    for (let c = 0; c < clusters; c++) normalizeInPlace(centroids.subarray(c * dim, (c + 1) * dim));
    const sigma = spec.noise / Math.sqrt(dim);
    for (let p = 0; p < total; p++) {
      const c = Math.floor(rng() * clusters);
      for (let i = 0; i < dim; i++) all[p * dim + i] = centroids[c * dim + i]! + sigma * g();
    }
  }
  for (let p = 0; p < total; p++) normalizeInPlace(all.subarray(p * dim, (p + 1) * dim));
  return { data: all.subarray(0, n * dim), queries: all.subarray(n * dim) };
}

export function row(data: Float32Array, i: number, dim: number): Float32Array {
  return data.subarray(i * dim, (i + 1) * dim);
}

/** Exact top-k rows by dot product (= cosine: every row is unit length), best first. */
export function exactTopK(data: Float32Array, dim: number, q: Float32Array, k: number): number[] {
  const n = data.length / dim;
  const best: { s: number; i: number }[] = [];
  let floor = -Infinity;
  for (let r = 0; r < n; r++) {
    let s = 0;
    const off = r * dim;
    for (let d = 0; d < dim; d++) s += data[off + d]! * q[d]!;
    if (best.length < k || s > floor) {
      best.push({ s, i: r });
      best.sort((a, b) => b.s - a.s);
      if (best.length > k) best.pop();
      floor = best[best.length - 1]!.s;
    }
  }
  return best.map((b) => b.i);
}

/** Queries scored together per pass over the data in exactTopKMany (a multiple of 4): 16 x 512 x 4 B = 32 KB, L1/L2-sized. */
const QUERY_BLOCK = 16;

/**
 * Exact top-k for many queries and several row subsets in one pass over `data`: for each query,
 * the best k rows overall (subset -1 in the callback's terms: always) and the best k among the rows
 * each `subsets[s](row)` accepts. A filtered top-k is the top-k of the same dot products restricted
 * to the matching rows, so one pass serves every filter; queries go in blocks of QUERY_BLOCK so
 * each data row is read from memory once per block instead of once per query (at 1M x 512 the
 * data is 2 GB: memory bandwidth, not arithmetic, bounds a query-at-a-time scan). Returns
 * truth[subset + 1][query] = row indices, best first (truth[0] unfiltered).
 */
export function exactTopKMany(
  data: Float32Array,
  dim: number,
  queries: Float32Array,
  k: number,
  subsets: readonly ((row: number) => boolean)[],
  /** Called every tenth of the rows of each block of queries with the share of the whole work done. */
  onProgress?: (done: number) => void,
): number[][][] {
  const n = data.length / dim;
  const nq = queries.length / dim;
  const lists = subsets.length + 1;
  // Per (list, query): k scores and rows, sorted best first; floor = the k-th score (or -Infinity).
  const scores = new Float64Array(lists * nq * k).fill(-Infinity);
  const rows = new Int32Array(lists * nq * k).fill(-1);
  const member = new Uint8Array(lists);
  const block = new Float64Array(QUERY_BLOCK);
  const padded = new Float32Array(Math.ceil(nq / 4) * 4 * dim);
  padded.set(queries);
  const progressEvery = Math.max(1, Math.floor(n / 10));
  for (let q0 = 0; q0 < nq; q0 += QUERY_BLOCK) {
    const qn = Math.min(QUERY_BLOCK, nq - q0);
    for (let r = 0; r < n; r++) {
      member[0] = 1;
      for (let s = 0; s < subsets.length; s++) member[s + 1] = subsets[s]!(r) ? 1 : 0;
      const off = r * dim;
      // Four queries per sweep of the row: each data element is loaded once for four products
      // (measured ~2x the one-query loop in V8); `padded` holds whole groups of four.
      for (let b = 0; b < qn; b += 4) {
        const p0 = (q0 + b) * dim;
        const p1 = p0 + dim;
        const p2 = p1 + dim;
        const p3 = p2 + dim;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let d = 0; d < dim; d++) {
          const x = data[off + d]!;
          s0 += x * padded[p0 + d]!;
          s1 += x * padded[p1 + d]!;
          s2 += x * padded[p2 + d]!;
          s3 += x * padded[p3 + d]!;
        }
        block[b] = s0;
        block[b + 1] = s1;
        block[b + 2] = s2;
        block[b + 3] = s3;
      }
      for (let l = 0; l < lists; l++) {
        if (member[l] === 0) continue;
        for (let b = 0; b < qn; b++) {
          const s = block[b]!;
          const base = (l * nq + q0 + b) * k;
          if (s <= scores[base + k - 1]!) continue;
          let p = k - 1;
          while (p > 0 && scores[base + p - 1]! < s) {
            scores[base + p] = scores[base + p - 1]!;
            rows[base + p] = rows[base + p - 1]!;
            p--;
          }
          scores[base + p] = s;
          rows[base + p] = r;
        }
      }
      if (onProgress && (r + 1) % progressEvery === 0) onProgress((q0 + (qn * (r + 1)) / n) / nq);
    }
  }
  return Array.from({ length: lists }, (_, l) =>
    Array.from({ length: nq }, (_, q) => Array.from(rows.subarray((l * nq + q) * k, (l * nq + q + 1) * k)).filter((r) => r >= 0)),
  );
}

/** Share of the true top-k found in the first k answers, pooled over queries. */
export function recallAtK(found: readonly (readonly string[])[], truth: readonly (readonly string[])[]): number {
  let hit = 0;
  let total = 0;
  found.forEach((f, q) => {
    const t = new Set(truth[q]);
    total += t.size;
    for (const id of f.slice(0, t.size)) if (t.has(id)) hit++;
  });
  return total > 0 ? hit / total : NaN;
}
