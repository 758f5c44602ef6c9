import { mulberry32 } from '../../src/util/random.ts';

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** `count` random unit vectors (Gaussian components, so uniform on the sphere), seeded. */
export function unitVectors(count: number, dim: number, seed: number): Float32Array[] {
  const r = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const v = new Float32Array(dim);
    let n = 0;
    for (let i = 0; i < dim; i++) {
      v[i] = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
      n += v[i]! * v[i]!;
    }
    n = Math.sqrt(n);
    for (let i = 0; i < dim; i++) v[i] = v[i]! / n;
    return v;
  });
}
