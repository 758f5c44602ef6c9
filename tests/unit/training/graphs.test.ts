// src/training/graphs.ts: each training-step graph's loss matches a float64 JS reference, and its analytic gradient matches central differences of that reference.
import { describe, expect, it } from 'vitest';
import { adapterMapGraph, adapterStepGraph, distillStepGraph, staticContrastiveStepGraph, targetRankGraph, topKGraph } from '../../../src/training/graphs.ts';
import { GraphRunner, feed, int64 } from '../../../src/training/runner.ts';
import { mulberry32 } from '../../../src/util/random.ts';

const d = 6;
const b = 4;
const n = 7;
const V = 9;
const TAU = 0.05;
const L2 = 1e-2;
const target = [3, 0, 6, 3];

type M = Float64Array; // row-major

function randomMatrix(rows: number, cols: number, seed: number, scale = 1): M {
  const r = mulberry32(seed);
  return Float64Array.from({ length: rows * cols }, () => (r() * 2 - 1) * scale);
}

function matmul(a: M, b2: M, rows: number, inner: number, cols: number): M {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let k = 0; k < inner; k++) for (let j = 0; j < cols; j++) out[i * cols + j]! += a[i * inner + k]! * b2[k * cols + j]!;
  return out;
}

function normalize(u: M, rows: number, cols: number): M {
  const out = new Float64Array(u.length);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += u[i * cols + j]! ** 2;
    const r = Math.sqrt(s + 1e-12);
    for (let j = 0; j < cols; j++) out[i * cols + j] = u[i * cols + j]! / r;
  }
  return out;
}

const plusMap = (x: M, w: M, rows: number): M => {
  const xw = matmul(x, w, rows, d, d);
  return normalize(xw.map((v, i) => v + x[i]!), rows, d);
};

function infoNce(q: M, dd: M, rows: number, cands: number, cols: number, t: number[]): number {
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const z: number[] = [];
    for (let j = 0; j < cands; j++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += q[i * cols + k]! * dd[j * cols + k]!;
      z.push(s / TAU);
    }
    const m = Math.max(...z);
    total += m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)) - z[t[i]!]!;
  }
  return total / rows;
}

const sumSq = (x: M) => x.reduce((a, v) => a + v * v, 0);

/** Central differences of `loss` with respect to every entry of `param` (float64, h = 1e-6). */
function numericGradient(param: M, loss: () => number): M {
  const h = 1e-6;
  const out = new Float64Array(param.length);
  for (let i = 0; i < param.length; i++) {
    const keep = param[i]!;
    param[i] = keep + h;
    const up = loss();
    param[i] = keep - h;
    const down = loss();
    param[i] = keep;
    out[i] = (up - down) / (2 * h);
  }
  return out;
}

/** Largest absolute difference, relative to the largest gradient entry (at least 1). */
function relativeError(analytic: Float32Array, numeric: M): number {
  let err = 0;
  let scale = 1;
  for (let i = 0; i < numeric.length; i++) {
    err = Math.max(err, Math.abs(analytic[i]! - numeric[i]!));
    scale = Math.max(scale, Math.abs(numeric[i]!));
  }
  return err / scale;
}

const f32 = (x: M) => Float32Array.from(x);
// float32 graphs against float64 references: the worst errors measured over these tests were
// 1.6e-6 (loss) and 4.1e-7 (gradient, relative to its largest entry); the tolerances leave ~6x and
// ~250x room for other CPUs' kernels and still catch the smallest wrong term tried (halving the L2
// penalty's gradient, 1e-2 x 0.3 per entry, shows as 7.7e-4).
const LOSS_TOL = 1e-5;
const GRAD_TOL = 1e-4;

async function runStep(model: Uint8Array, feeds: Record<string, ReturnType<typeof feed>>, outputs: string[]) {
  const runner = await GraphRunner.open(model, { threads: 1 });
  try {
    return await runner.runFloat(feeds, outputs);
  } finally {
    await runner.release();
  }
}

describe('adapter InfoNCE step', () => {
  const Q = normalize(randomMatrix(b, d, 1), b, d);
  const D = normalize(randomMatrix(n, d, 2), n, d);
  const W = randomMatrix(d, d, 3, 0.3);
  for (const sides of ['both', 'queries'] as const) {
    it(`loss and dL/dW match the reference (${sides} sides)`, async () => {
      const refLoss = () => infoNce(plusMap(Q, W, b), sides === 'both' ? plusMap(D, W, n) : D, b, n, d, target) + L2 * sumSq(W);
      const out = await runStep(
        adapterStepGraph({ dimensions: d, temperature: TAU, l2: L2, sides }),
        { W: feed(f32(W), [d, d]), Q: feed(f32(Q), [b, d]), D: feed(f32(D), [n, d]), target: feed(int64(target), [b]) },
        ['loss', 'grad_W'],
      );
      expect(Math.abs(out.loss[0]! - refLoss()) / Math.max(1, refLoss())).toBeLessThan(LOSS_TOL);
      expect(relativeError(out.grad_W, numericGradient(W, refLoss))).toBeLessThan(GRAD_TOL);
    });
  }

  it('the gradient at W = 0 (where training starts) matches the reference', async () => {
    const zero = new Float64Array(d * d);
    const refLoss = () => infoNce(plusMap(Q, zero, b), plusMap(D, zero, n), b, n, d, target) + L2 * sumSq(zero);
    const out = await runStep(
      adapterStepGraph({ dimensions: d, temperature: TAU, l2: L2, sides: 'both' }),
      { W: feed(f32(zero), [d, d]), Q: feed(f32(Q), [b, d]), D: feed(f32(D), [n, d]), target: feed(int64(target), [b]) },
      ['loss', 'grad_W'],
    );
    expect(relativeError(out.grad_W, numericGradient(zero, refLoss))).toBeLessThan(GRAD_TOL);
  });

  it('low rank: dL/dA and dL/dB match the reference', async () => {
    const r = 2;
    const A = randomMatrix(d, r, 4, 0.5);
    const B = randomMatrix(r, d, 5, 0.5);
    const refLoss = () => {
      const w = matmul(A, B, d, r, d);
      return infoNce(plusMap(Q, w, b), plusMap(D, w, n), b, n, d, target) + L2 * (sumSq(A) + sumSq(B));
    };
    const out = await runStep(
      adapterStepGraph({ dimensions: d, temperature: TAU, l2: L2, sides: 'both', rank: r }),
      { A: feed(f32(A), [d, r]), B: feed(f32(B), [r, d]), Q: feed(f32(Q), [b, d]), D: feed(f32(D), [n, d]), target: feed(int64(target), [b]) },
      ['loss', 'grad_A', 'grad_B'],
    );
    expect(Math.abs(out.loss[0]! - refLoss()) / Math.max(1, refLoss())).toBeLessThan(LOSS_TOL);
    expect(relativeError(out.grad_A, numericGradient(A, refLoss))).toBeLessThan(GRAD_TOL);
    expect(relativeError(out.grad_B, numericGradient(B, refLoss))).toBeLessThan(GRAD_TOL);
  });
});

describe('static model steps', () => {
  // Token weights: sparse-ish and non-negative, as SIF weights are.
  const weights = (rows: number, seed: number) => randomMatrix(rows, V, seed).map((v) => (v > 0.2 ? v : 0));
  const E = randomMatrix(V, d, 6);

  it('distillation: loss and dL/dE match the reference', async () => {
    const S = weights(b, 7);
    const T = normalize(randomMatrix(b, d, 8), b, d);
    const refLoss = () => {
      const v = normalize(matmul(S, E, b, V, d), b, d);
      let cos = 0;
      for (let i = 0; i < b * d; i++) cos += v[i]! * T[i]!;
      return 1 - cos / b;
    };
    const out = await runStep(distillStepGraph({ vocabulary: V, dimensions: d }), { E: feed(f32(E), [V, d]), S: feed(f32(S), [b, V]), T: feed(f32(T), [b, d]) }, ['loss', 'grad_E']);
    expect(Math.abs(out.loss[0]! - refLoss())).toBeLessThan(LOSS_TOL);
    expect(relativeError(out.grad_E, numericGradient(E, refLoss))).toBeLessThan(GRAD_TOL);
  });

  it('contrastive: loss and dL/dE match the reference', async () => {
    const Sq = weights(b, 9);
    const Sd = weights(n, 10);
    const refLoss = () => infoNce(normalize(matmul(Sq, E, b, V, d), b, d), normalize(matmul(Sd, E, n, V, d), n, d), b, n, d, target);
    const out = await runStep(
      staticContrastiveStepGraph({ vocabulary: V, dimensions: d, temperature: TAU }),
      { E: feed(f32(E), [V, d]), Sq: feed(f32(Sq), [b, V]), Sd: feed(f32(Sd), [n, V]), target: feed(int64(target), [b]) },
      ['loss', 'grad_E'],
    );
    expect(Math.abs(out.loss[0]! - refLoss()) / Math.max(1, refLoss())).toBeLessThan(LOSS_TOL);
    expect(relativeError(out.grad_E, numericGradient(E, refLoss))).toBeLessThan(GRAD_TOL);
  });
});

describe('evaluation graphs', () => {
  const Q = normalize(randomMatrix(b, d, 11), b, d);
  const D = normalize(randomMatrix(n, d, 12), n, d);

  it('the map graph computes normalize(x + xW)', async () => {
    const W = randomMatrix(d, d, 13, 0.3);
    const out = await runStep(adapterMapGraph(d), { W: feed(f32(W), [d, d]), X: feed(f32(D), [n, d]) }, ['Y']);
    const ref = plusMap(D, W, n);
    for (let i = 0; i < ref.length; i++) expect(out.Y[i]).toBeCloseTo(ref[i]!, 5);
  });

  it('the rank graph counts the candidates scoring above the target', async () => {
    const scores = matmul(Q, Float64Array.from({ length: n * d }, (_, i) => D[(i % n) * d + Math.floor(i / n)]!), b, d, n);
    const expected = target.map((t, i) => Array.from({ length: n }, (_, j) => scores[i * n + j]!).filter((s) => s > scores[i * n + t]!).length);
    const out = await runStep(targetRankGraph(d), { Q: feed(f32(Q), [b, d]), D: feed(f32(D), [n, d]), target: feed(int64(target), [b]) }, ['rank']);
    expect([...out.rank]).toEqual(expected);
  });

  it('the top-k graph returns the best candidates in order', async () => {
    const runner = await GraphRunner.open(topKGraph(d, 3), { threads: 1 });
    const out = await runner.run({ Q: feed(f32(Q), [b, d]), D: feed(f32(D), [n, d]) }, ['indices']);
    await runner.release();
    const scores = (i: number) => Array.from({ length: n }, (_, j) => ({ j, s: Array.from({ length: d }, (_, k) => Q[i * d + k]! * D[j * d + k]!).reduce((a, v) => a + v, 0) }));
    for (let i = 0; i < b; i++) {
      const best = scores(i).sort((x, y) => y.s - x.s).slice(0, 3).map((x) => BigInt(x.j));
      expect([...(out.indices as BigInt64Array).slice(i * 3, i * 3 + 3)]).toEqual(best);
    }
  });
});
