/**
 * manifest.json: what a model version folder holds and how to run it.
 * Written by the converter / importer, validated on every load.
 */
import { z } from 'zod';

export const MANIFEST_FILE = 'manifest.json';

export const fileEntrySchema = z.object({
  /** Path relative to the version folder, '/'-separated. */
  path: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});

export const onnxEntrySchema = fileEntrySchema.extend({
  dtype: z.enum(['fp32', 'fp16', 'int8', 'uint8', 'q4']),
});

const MODEL_ID = /^[a-z0-9][a-z0-9._-]*@[a-z0-9][a-z0-9._-]*$/i;
const metricsSchema = z.record(z.string().min(1), z.number());

/**
 * Where a trained version (src/models/trained/) came from: the version it was derived from, the data
 * and settings it was trained with, and its validation metrics before and after training.
 */
export const lineageSchema = z.strictObject({
  /** The version this one was trained from (its tokenizer; for an adapter, its graph too), 'name@version'. */
  parent: z.string().regex(MODEL_ID),
  /** The version whose vectors were the training target (distillation), when not the parent itself. */
  teacher: z.string().regex(MODEL_ID).optional(),
  /** 'adapter': the parent's graph followed by v -> v + vW; 'static': a token-vector table, no encoder. */
  kind: z.enum(['adapter', 'static']),
  /** The collection whose data it was trained on. */
  collection: z.string().min(1),
  data: z.strictObject({
    documents: z.number().int().nonnegative(),
    pseudoQueries: z.number().int().nonnegative(),
    feedback: z.number().int().nonnegative(),
    /** Fingerprints of the training data, e.g. {"documents": "<sha256 of the ids>"}. */
    hashes: z.record(z.string().min(1), z.string()).optional(),
  }),
  hyperparameters: z.record(z.string().min(1), z.union([z.number(), z.string(), z.boolean()])),
  seed: z.number().int(),
  /** Metric name -> value on the validation split, e.g. {"dense.ndcg@10": 0.41}: the parent's, then this version's. */
  validation: z.strictObject({ before: metricsSchema, after: metricsSchema }),
  createdAt: z.string(),
});

export type Lineage = z.infer<typeof lineageSchema>;

export const manifestSchema = z.object({
  format: z.literal(1),
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i),
  version: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i),
  dimensions: z.number().int().positive(),
  /** Longest input the model accepts, in tokens, special tokens included. */
  maxTokens: z.number().int().positive(),
  pooling: z.enum(['mean', 'cls', 'max']),
  /**
   * true when the ONNX graph already pools (its output is [batch, dimensions]);
   * false when it returns token embeddings [batch, tokens, dimensions] that we pool.
   */
  poolingInGraph: z.boolean(),
  normalize: z.boolean(),
  /**
   * Smaller sizes the model was trained to be cut to (Matryoshka representation learning), largest
   * first: `/v1/embeddings` with `dimensions` in this list returns the leading components, renormalised.
   */
  matryoshka: z.array(z.number().int().positive()).min(1).optional(),
  prefixes: z.object({ query: z.string(), document: z.string() }),
  tokenizer: z.object({
    /**
     * 'use-sentencepiece': our exact port of the USE-Lite reference tokenizer, reading tokenizer.json.
     * 'huggingface': @huggingface/transformers AutoTokenizer over the folder.
     */
    kind: z.enum(['use-sentencepiece', 'huggingface']),
  }),
  /** ONNX graph input names the engine feeds, in the graph's naming. */
  inputs: z.object({
    inputIds: z.string(),
    attentionMask: z.string(),
    tokenTypeIds: z.string().optional(),
  }),
  output: z.string(),
  onnx: z.array(onnxEntrySchema).min(1),
  /** Every other file the version needs (tokenizer, config), checksummed like the ONNX files. */
  files: z.array(fileEntrySchema),
  source: z.object({
    kind: z.enum(['tfjs-conversion', 'huggingface-import', 'generated', 'trained']),
    description: z.string(),
  }).catchall(z.string()),
  createdAt: z.string(),
  /** Present on trained versions (source.kind 'trained'): what they were trained from and on. */
  lineage: lineageSchema.optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;

/** The output sizes a version supports: its full dimensions, then its Matryoshka sizes below them. */
export function supportedDimensions(m: Pick<Manifest, 'dimensions' | 'matryoshka'>): number[] {
  const cuts = (m.matryoshka ?? []).filter((d) => d < m.dimensions);
  return [m.dimensions, ...[...new Set(cuts)].sort((a, b) => b - a)];
}
export type FileEntry = z.infer<typeof fileEntrySchema>;
export type OnnxEntry = z.infer<typeof onnxEntrySchema>;
export type OnnxDtype = OnnxEntry['dtype'];

/** 'name@version' — how a version is named everywhere (API, CLI, logs). */
export function modelId(m: Pick<Manifest, 'name' | 'version'>): string {
  return `${m.name}@${m.version}`;
}
