/**
 * Static versions: no encoder, one learned vector and one learned weight per token id of the
 * parent's tokenizer (distilled from the parent, or another teacher). The ONNX graph (opset 17) is
 *
 *   E   = Gather(table, input_ids)                [b, t, d]   table: [V, d]
 *   w   = Gather(weights, input_ids)              [b, t]      weights: [V]
 *   wm  = w · Cast(attention_mask, float)         [b, t]
 *   out = Squeeze(MatMul(Unsqueeze(wm, 1), E), 1) [b, d]      = Σ_t w[id_t] · mask_t · table[id_t]
 *
 * a weighted SUM, not divided by Σ_t w·mask: the engine normalises (manifest normalize: true), which
 * gives the weighted mean's direction, and a text whose tokens all weigh 0 yields the zero vector
 * rather than 0/0. token_type_ids, when the parent takes it, is declared as an input and ignored.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../../errors.ts';
import { attr, GraphBuilder, tensor } from '../onnx/graph.ts';
import type { Manifest } from '../manifest.ts';
import type { ModelVersion } from '../registry.ts';
import { completeLineage, publishTrainedVersion, stageParentFiles, stageWrite, verifyParent, type TrainedLineageInput } from './publish.ts';

export const STATIC_ONNX_PATH = 'onnx/model.onnx';
export const STATIC_OUTPUT = 'sentence_embedding';

export interface StaticShape {
  /** Vocabulary size V (rows of the table). */
  readonly vocabSize: number;
  readonly dimensions: number;
}

/** Validates table [V·d] and weights [V] and returns V and d. */
export function staticShape(table: Float32Array, weights: Float32Array): StaticShape {
  const vocabSize = weights.length;
  if (vocabSize === 0) throw new InvalidInputError('static model: weights is empty (one weight per token id expected)');
  if (table.length === 0 || table.length % vocabSize !== 0) {
    throw new InvalidInputError(`static model: table holds ${table.length} values, not a multiple of the ${vocabSize} token weights`);
  }
  if (!table.every(Number.isFinite) || !weights.every(Number.isFinite)) throw new InvalidInputError('static model: table or weights hold NaN or infinite values');
  return { vocabSize, dimensions: table.length / vocabSize };
}

export function buildStaticOnnx(inputs: Manifest['inputs'], table: Float32Array, weights: Float32Array): Uint8Array {
  const { vocabSize, dimensions } = staticShape(table, weights);
  const g = new GraphBuilder('static-embedding');
  const ids = g.input(inputs.inputIds, 'int64', ['batch', 'tokens']);
  const mask = g.input(inputs.attentionMask, 'int64', ['batch', 'tokens']);
  if (inputs.tokenTypeIds) g.input(inputs.tokenTypeIds, 'int64', ['batch', 'tokens']);
  const tableName = g.initializer('token_vectors', tensor(table, [vocabSize, dimensions]));
  const weightName = g.initializer('token_weights', tensor(weights, [vocabSize]));
  const vectors = g.node('Gather', [tableName, ids]);
  const w = g.node('Gather', [weightName, ids]);
  const wm = g.node('Mul', [w, g.node('Cast', [mask], { to: attr.int(1) })]);
  const summed = g.node('MatMul', [g.node('Unsqueeze', [wm, g.constInt64([1])]), vectors]);
  g.rename(g.node('Squeeze', [summed, g.constInt64([1])]), STATIC_OUTPUT);
  g.output(STATIC_OUTPUT, 'float32', ['batch', dimensions]);
  return g.toBytes({ opset: 17, metadata: { 'sextant.trained': 'static' } });
}

const tokenizerJsonSchema = z
  .object({
    model: z.object({ vocab: z.union([z.record(z.string(), z.number()), z.array(z.tuple([z.string(), z.number()]))]).optional() }).loose(),
    added_tokens: z.array(z.object({ id: z.number() }).loose()).optional(),
  })
  .loose();

/** One more than the highest token id the parent's tokenizer.json can produce; undefined when it cannot be told. */
export async function tokenizerIdCount(dir: string): Promise<number | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const parsed = tokenizerJsonSchema.safeParse(raw);
  if (!parsed.success || parsed.data.model.vocab === undefined) return undefined;
  const vocab = parsed.data.model.vocab;
  const ids = Array.isArray(vocab) ? [vocab.length - 1] : Object.values(vocab);
  for (const t of parsed.data.added_tokens ?? []) ids.push(t.id);
  return 1 + Math.max(-1, ...ids);
}

/**
 * Writes `<collection>-static@N` (N the next free number): the graph above over `table` (V×d
 * row-major) and `weights` (V), with the parent's tokenizer (kind and files), maxTokens, prefixes and
 * input names, and `lineage`. Returns the published version.
 */
export async function writeStaticModel(
  modelsDir: string,
  parent: ModelVersion,
  table: Float32Array,
  weights: Float32Array,
  lineage: TrainedLineageInput,
): Promise<ModelVersion> {
  const full = completeLineage('static', parent, lineage);
  const { vocabSize, dimensions } = staticShape(table, weights);
  await verifyParent(modelsDir, parent);
  const ids = await tokenizerIdCount(parent.dir);
  if (ids !== undefined && vocabSize < ids) {
    throw new InvalidInputError(`static model: the table has ${vocabSize} rows but ${parent.id}'s tokenizer produces ids up to ${ids - 1}`);
  }
  const bytes = buildStaticOnnx(parent.manifest.inputs, table, weights);
  return publishTrainedVersion(modelsDir, full.collection, 'static', async (staging) => {
    const onnx = await stageWrite(staging, STATIC_ONNX_PATH, bytes);
    const files = await stageParentFiles(staging, parent);
    return {
      format: 1,
      dimensions,
      maxTokens: parent.manifest.maxTokens,
      pooling: 'mean',
      poolingInGraph: true,
      normalize: true,
      prefixes: parent.manifest.prefixes,
      tokenizer: parent.manifest.tokenizer,
      inputs: parent.manifest.inputs,
      output: STATIC_OUTPUT,
      onnx: [{ ...onnx, dtype: 'fp32' }],
      files,
      source: {
        kind: 'trained',
        description: `static token-vector model (${vocabSize} tokens × ${dimensions}) with ${parent.id}'s tokenizer, trained on collection ${full.collection}`,
        parent: parent.id,
      },
      createdAt: new Date().toISOString(),
      lineage: full,
    };
  });
}
