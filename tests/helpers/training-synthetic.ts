/** Synthetic retrieval problems for the training tests (tests/unit/training/). */
import { mulberry32 } from '../../src/util/random.ts';

export interface Problem {
  readonly documents: Float32Array[];
  readonly train: { queries: Float32Array[]; positives: number[] };
  readonly validation: { queries: Float32Array[]; positives: number[] };
}

function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const r = Math.sqrt(s);
  return v.map((x) => x / r);
}

/**
 * `n` random unit documents in `d` dimensions, `perDoc` queries each; every 5th document's
 * queries are held out for validation. Queries are distorted copies of their document:
 * 'rotation' rotates every coordinate pair by 1.2 rad and adds noise (undone by a queries-only
 * map); 'nuisance' replaces the second half of the coordinates by strong noise (suppressed by a
 * map applied to both sides).
 */
export function problem(kind: 'rotation' | 'nuisance', seed = 1, d = 32, n = 200, perDoc = 4): Problem {
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
  const documents = Array.from({ length: n }, () => unit(Float32Array.from({ length: d }, gauss)));
  const s = 1 / Math.sqrt(d);
  const distort = (v: Float32Array): Float32Array => {
    const out = Float32Array.from(v);
    if (kind === 'rotation') {
      const c = Math.cos(1.2);
      const sn = Math.sin(1.2);
      for (let p = 0; p + 1 < d; p += 2) {
        const a = out[p]!;
        const b = out[p + 1]!;
        out[p] = c * a - sn * b + 0.5 * s * gauss();
        out[p + 1] = sn * a + c * b + 0.5 * s * gauss();
      }
    } else {
      for (let j = 0; j < d; j++) out[j] = j < d / 2 ? out[j]! + 0.1 * s * gauss() : 1.5 * s * gauss();
    }
    return unit(out);
  };
  const train = { queries: [] as Float32Array[], positives: [] as number[] };
  const validation = { queries: [] as Float32Array[], positives: [] as number[] };
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < perDoc; k++) {
      const to = i % 5 === 0 ? validation : train;
      to.queries.push(distort(documents[i]!));
      to.positives.push(i);
    }
  }
  return { documents, train, validation };
}
