/**
 * Training-step graphs: each step (forward loss plus its hand-derived backward pass) is one ONNX
 * graph, run by ONNX Runtime (src/training/runner.ts); the optimiser update stays in JS
 * (src/training/adam.ts). A Cranfield step (256 queries against all 1,398 documents, both sides)
 * is ~2.8 GFLOP, mostly [n,512]x[512,512] products: ORT's MatMul ran them at 40-50 GFLOP/s per
 * thread here even with other test suites sharing the 2 cores, while the same product as a JS
 * loop (applyAdapter, src/training/adapter.ts) measured 0.7 GFLOP/s: ~6 minutes for the 4-epoch
 * recipe (88 steps) instead of seconds.
 *
 * Conventions: vectors are rows; `b` (queries in a batch) and `n` (candidate documents) are
 * symbolic, so one session serves every batch size; `d` (and the vocabulary size `V`) are fixed
 * per session because the parameter's shape is. Every step graph outputs `loss` (scalar) and one
 * gradient per parameter, named `grad_<parameter>`.
 *
 * Shared formulas (derivations in the comments of the helpers below):
 *   normalize   y = u / r,  r = sqrt(|u|^2 + 1e-12)        backward  du = (dy - y (y.dy)) / r
 *   InfoNCE     Z = q' d'^T / tau,  P = softmax_row(Z),  CE = mean_i (logsumexp(Z_i) - Z_i,t_i)
 *               dZ = (P - onehot(t)) / b,  dq' = dZ d' / tau,  dd' = dZ^T q' / tau
 */
import { GraphBuilder, attr } from '../models/onnx/graph.ts';

/** Added under the square root of a norm so an all-zero row gives 0 instead of NaN. */
const NORM_EPS = 1e-12;

interface Normalized {
  /** The unit rows. */
  readonly y: string;
  /** Each row's norm, [rows, 1]. */
  readonly r: string;
}

function rowSum(g: GraphBuilder, x: string): string {
  return g.node('ReduceSum', [x, g.constInt64([1])], { keepdims: attr.int(1) });
}

/** Reduces every axis to a scalar. */
function sumAll(g: GraphBuilder, x: string): string {
  return g.node('ReduceSum', [x], { keepdims: attr.int(0) });
}

function meanAll(g: GraphBuilder, x: string): string {
  return g.node('ReduceMean', [x], { keepdims: attr.int(0) });
}

function normalizeRows(g: GraphBuilder, u: string): Normalized {
  const r = g.node('Sqrt', [g.node('Add', [rowSum(g, g.node('Mul', [u, u])), g.constFloat(NORM_EPS)])]);
  return { y: g.node('Div', [u, r]), r };
}

/**
 * y = u / r with r = sqrt(|u|^2 + eps): dy/du = (I - y y^T) / r, so du = (dy - y (y.dy)) / r
 * (exact for the eps-shifted norm too, since dr/du = u / r either way).
 */
function normalizeBackward(g: GraphBuilder, n: Normalized, dy: string): string {
  const dot = rowSum(g, g.node('Mul', [n.y, dy]));
  return g.node('Div', [g.node('Sub', [dy, g.node('Mul', [n.y, dot])]), n.r]);
}

/** Rows of x as a float scalar (for the 1/b of a mean). */
function rowCount(g: GraphBuilder, x: string): string {
  return g.node('Cast', [g.node('Gather', [g.node('Shape', [x]), g.constInt64(0)])], { to: attr.int(1) });
}

interface InfoNce {
  readonly loss: string;
  /** dL/dq' [b,d] and dL/dd' [n,d]. */
  readonly dq: string;
  readonly dd: string;
}

/**
 * Cross-entropy of each query's logits against its target row of the candidates, averaged over
 * the batch. logsumexp subtracts the row maximum first (at tau = 0.05 logits reach +-20, and a
 * hard-negative batch may push them higher through an unnormalised caller).
 * dCE/dZ_ij = (P_ij - [j = t_i]) / b, and Z = q' d'^T / tau gives dq' = dZ d' / tau and
 * dd' = dZ^T q' / tau.
 */
function infoNce(g: GraphBuilder, q: string, d: string, target: string, temperature: number): InfoNce {
  const inv = 1 / temperature;
  const z = g.node('Gemm', [q, d], { transB: attr.int(1), alpha: attr.float(inv) });
  const max = g.node('ReduceMax', [z], { axes: attr.ints([1]), keepdims: attr.int(1) });
  const e = g.node('Exp', [g.node('Sub', [z, max])]);
  const s = rowSum(g, e);
  const p = g.node('Div', [e, s]);
  const lse = g.node('Add', [g.node('Log', [s]), max]);
  const zt = g.node('GatherElements', [z, g.node('Unsqueeze', [target, g.constInt64([1])])], { axis: attr.int(1) });
  const loss = meanAll(g, g.node('Sub', [lse, zt]));
  const depth = g.node('Gather', [g.node('Shape', [d]), g.constInt64(0)]);
  const onehot = g.node('OneHot', [target, depth, g.constFloat([0, 1])], { axis: attr.int(-1) });
  const dz = g.node('Div', [g.node('Sub', [p, onehot]), rowCount(g, q)]);
  return {
    loss,
    dq: g.node('Gemm', [dz, d], { alpha: attr.float(inv) }),
    dd: g.node('Gemm', [dz, q], { transA: attr.int(1), alpha: attr.float(inv) }),
  };
}

/** A^T B (+ C): the parameter-gradient shape of a row-vector linear map. */
function atb(g: GraphBuilder, a: string, b: string, c?: string): string {
  return g.node('Gemm', c ? [a, b, c] : [a, b], { transA: attr.int(1) });
}

export type AdapterSides = 'both' | 'queries';

export interface AdapterStepOptions {
  readonly dimensions: number;
  /** Softmax temperature (the recipe: 0.05). */
  readonly temperature: number;
  /** Weight of the L2 penalty on the map's parameters (the recipe: 1e-2). */
  readonly l2: number;
  /** 'both': documents go through the map too; 'queries': documents are used as given. */
  readonly sides: AdapterSides;
  /** Low rank r: W = A B with A [d,r], B [r,d] (parameters A and B instead of W). */
  readonly rank?: number;
}

/**
 * ADAPTER InfoNCE step. Parameter W [d,d] (or A [d,r], B [r,d] with W = A B); inputs Q [b,d],
 * D [n,d], target int64 [b] (each query's positive row of D).
 *   U_q = Q + Q W,  q' = normalize(U_q);   d' = normalize(D + D W) ('both') or D ('queries')
 *   loss = InfoNCE(q', d', target) + l2 |W|^2      (low rank: + l2 (|A|^2 + |B|^2))
 *   dW = Q^T dU_q + D^T dU_d + 2 l2 W              (low rank: dA = dW' B^T, dB = A^T dW', where
 *                                                   dW' excludes the penalty, plus 2 l2 A / B)
 * Outputs: loss, grad_W (or grad_A, grad_B).
 */
export function adapterStepGraph(o: AdapterStepOptions): Uint8Array {
  const dim = o.dimensions;
  const g = new GraphBuilder('adapter-infonce-step');
  const lowRank = o.rank !== undefined;
  let w: string;
  let a = '';
  let bParam = '';
  if (lowRank) {
    a = g.input('A', 'float32', [dim, o.rank!]);
    bParam = g.input('B', 'float32', [o.rank!, dim]);
    w = g.node('MatMul', [a, bParam]);
  } else {
    w = g.input('W', 'float32', [dim, dim]);
  }
  const q = g.input('Q', 'float32', ['b', dim]);
  const d = g.input('D', 'float32', ['n', dim]);
  const target = g.input('target', 'int64', ['b']);

  const qn = normalizeRows(g, g.node('Gemm', [q, w, q], { beta: attr.float(1) }));
  const dn = o.sides === 'both' ? normalizeRows(g, g.node('Gemm', [d, w, d], { beta: attr.float(1) })) : undefined;
  const nce = infoNce(g, qn.y, dn ? dn.y : d, target, o.temperature);
  const duq = normalizeBackward(g, qn, nce.dq);
  let dw = atb(g, q, duq);
  if (dn) dw = atb(g, d, normalizeBackward(g, dn, nce.dd), dw);

  const twoL2 = g.constFloat(2 * o.l2);
  const penalty = (p: string) => g.node('Mul', [g.constFloat(o.l2), sumAll(g, g.node('Mul', [p, p]))]);
  if (lowRank) {
    g.rename(g.node('Add', [nce.loss, g.node('Add', [penalty(a), penalty(bParam)])]), 'loss');
    g.rename(g.node('Gemm', [dw, bParam, g.node('Mul', [twoL2, a])], { transB: attr.int(1) }), 'grad_A');
    g.rename(atb(g, a, dw, g.node('Mul', [twoL2, bParam])), 'grad_B');
    g.output('loss', 'float32', []);
    g.output('grad_A', 'float32', [dim, o.rank!]);
    g.output('grad_B', 'float32', [o.rank!, dim]);
  } else {
    g.rename(g.node('Add', [nce.loss, penalty(w)]), 'loss');
    g.rename(g.node('Add', [dw, g.node('Mul', [twoL2, w])]), 'grad_W');
    g.output('loss', 'float32', []);
    g.output('grad_W', 'float32', [dim, dim]);
  }
  return g.toBytes();
}

/** The adapter's map on its own: X [n,d] -> normalize(X + X W), for evaluation and export. */
export function adapterMapGraph(dimensions: number): Uint8Array {
  const g = new GraphBuilder('adapter-map');
  const w = g.input('W', 'float32', [dimensions, dimensions]);
  const x = g.input('X', 'float32', ['n', dimensions]);
  g.rename(normalizeRows(g, g.node('Gemm', [x, w, x], { beta: attr.float(1) })).y, 'Y');
  g.output('Y', 'float32', ['n', dimensions]);
  return g.toBytes();
}

/**
 * Rank of each query's target among the candidates by dot product: how many candidates score
 * strictly higher (0 = first). Q [b,d], D [n,d], target int64 [b] -> rank float [b].
 */
export function targetRankGraph(dimensions: number): Uint8Array {
  const g = new GraphBuilder('target-rank');
  const q = g.input('Q', 'float32', ['b', dimensions]);
  const d = g.input('D', 'float32', ['n', dimensions]);
  const target = g.input('target', 'int64', ['b']);
  const s = g.node('Gemm', [q, d], { transB: attr.int(1) });
  const st = g.node('GatherElements', [s, g.node('Unsqueeze', [target, g.constInt64([1])])], { axis: attr.int(1) });
  const above = g.node('Cast', [g.node('Greater', [s, st])], { to: attr.int(1) });
  g.rename(g.node('ReduceSum', [above, g.constInt64([1])], { keepdims: attr.int(0) }), 'rank');
  g.output('rank', 'float32', ['b']);
  return g.toBytes();
}

/**
 * The k best candidates per query by dot product, best first (ties: lower index first):
 * Q [b,d], D [n,d] -> indices int64 [b,k], scores float [b,k].
 */
export function topKGraph(dimensions: number, k: number): Uint8Array {
  const g = new GraphBuilder('top-k');
  const q = g.input('Q', 'float32', ['b', dimensions]);
  const d = g.input('D', 'float32', ['n', dimensions]);
  const s = g.node('Gemm', [q, d], { transB: attr.int(1) });
  const [values, indices] = g.nodeMulti('TopK', [s, g.constInt64([k])], 2, { axis: attr.int(1), largest: attr.int(1), sorted: attr.int(1) });
  g.rename(indices!, 'indices');
  g.rename(values!, 'scores');
  g.output('indices', 'int64', ['b', k]);
  g.output('scores', 'float32', ['b', k]);
  return g.toBytes();
}

export interface StaticStepOptions {
  /** Vocabulary size V (rows of the token table). */
  readonly vocabulary: number;
  readonly dimensions: number;
}

/**
 * DISTILLATION step for a static model (a sentence vector is a weighted sum of token vectors).
 * Parameter E [V,d]; inputs S [b,V] (token weights per text, dense), T [b,d] (teacher vectors;
 * normalised here, so unit or not gives the same loss).
 *   v = S E,  y = normalize(v),  loss = mean_i (1 - y_i . t_i)
 *   dy = -t / b,  dv = normalize backward,  dE = S^T dv
 * Outputs: loss, grad_E.
 */
export function distillStepGraph(o: StaticStepOptions): Uint8Array {
  const g = new GraphBuilder('static-distill-step');
  const e = g.input('E', 'float32', [o.vocabulary, o.dimensions]);
  const s = g.input('S', 'float32', ['b', o.vocabulary]);
  const t = normalizeRows(g, g.input('T', 'float32', ['b', o.dimensions])).y;
  const v = normalizeRows(g, g.node('MatMul', [s, e]));
  const cos = rowSum(g, g.node('Mul', [v.y, t]));
  g.rename(g.node('Sub', [g.constFloat(1), meanAll(g, cos)]), 'loss');
  const dy = g.node('Div', [g.node('Neg', [t]), rowCount(g, s)]);
  g.rename(atb(g, s, normalizeBackward(g, v, dy)), 'grad_E');
  g.output('loss', 'float32', []);
  g.output('grad_E', 'float32', [o.vocabulary, o.dimensions]);
  return g.toBytes();
}

export interface StaticContrastiveOptions extends StaticStepOptions {
  readonly temperature: number;
}

/**
 * STATIC CONTRASTIVE step: queries and documents both through the static model.
 * Parameter E [V,d]; inputs Sq [b,V], Sd [n,V], target int64 [b].
 *   q' = normalize(Sq E),  d' = normalize(Sd E),  loss = InfoNCE(q', d', target)
 *   dE = Sq^T dU_q + Sd^T dU_d
 * Outputs: loss, grad_E.
 */
export function staticContrastiveStepGraph(o: StaticContrastiveOptions): Uint8Array {
  const g = new GraphBuilder('static-contrastive-step');
  const e = g.input('E', 'float32', [o.vocabulary, o.dimensions]);
  const sq = g.input('Sq', 'float32', ['b', o.vocabulary]);
  const sd = g.input('Sd', 'float32', ['n', o.vocabulary]);
  const target = g.input('target', 'int64', ['b']);
  const qn = normalizeRows(g, g.node('MatMul', [sq, e]));
  const dn = normalizeRows(g, g.node('MatMul', [sd, e]));
  const nce = infoNce(g, qn.y, dn.y, target, o.temperature);
  g.rename(nce.loss, 'loss');
  g.rename(atb(g, sd, normalizeBackward(g, dn, nce.dd), atb(g, sq, normalizeBackward(g, qn, nce.dq))), 'grad_E');
  g.output('loss', 'float32', []);
  g.output('grad_E', 'float32', [o.vocabulary, o.dimensions]);
  return g.toBytes();
}
