/**
 * Imports a Hugging Face sentence-transformers ONNX export (config.json, tokenizer files,
 * onnx/model.onnx, optional 1_Pooling/config.json and modules.json) as a new model version.
 * Shapes are read by running the graph once rather than trusted from config files.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { InvalidInputError, ModelExistsError, ModelLoadError } from '../errors.ts';
import { describeFile } from './files.ts';
import { MANIFEST_FILE, manifestSchema, modelId, type Manifest, type OnnxDtype } from './manifest.ts';
import type { ModelRegistry, ModelVersion } from './registry.ts';

const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
const OPTIONAL_FILES = [
  'special_tokens_map.json',
  'vocab.txt',
  'merges.txt',
  'sentencepiece.bpe.model',
  'modules.json',
  'sentence_bert_config.json',
  'config_sentence_transformers.json',
  '1_Pooling/config.json',
];
const ONNX_CANDIDATES = ['onnx/model.onnx', 'model.onnx'];

const poolingConfigSchema = z.object({
  pooling_mode_cls_token: z.boolean().optional(),
  pooling_mode_mean_tokens: z.boolean().optional(),
  pooling_mode_max_tokens: z.boolean().optional(),
});
const modulesSchema = z.array(z.object({ type: z.string() }).loose());
const hfConfigSchema = z.object({ max_position_embeddings: z.number().int().positive().optional() }).loose();
const stConfigSchema = z.object({ max_seq_length: z.number().int().positive().optional() }).loose();
const tokenizerConfigSchema = z.object({ model_max_length: z.number().positive().optional() }).loose();
const stPromptsSchema = z.object({ prompts: z.record(z.string(), z.string()).optional() }).loose();

export interface ImportOptions {
  name: string;
  /** Defaults to the next integer version of `name`. */
  version?: string;
  /** ONNX file inside the folder; defaults to onnx/model.onnx or model.onnx. */
  onnxFile?: string;
  dtype?: OnnxDtype;
  pooling?: Manifest['pooling'];
  normalize?: boolean;
  queryPrefix?: string;
  documentPrefix?: string;
  /** Smaller sizes the model was trained to be cut to (Matryoshka); see the manifest's `matryoshka`. */
  matryoshka?: readonly number[];
}

async function readJson<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
  if (!existsSync(path)) return undefined;
  const parsed = schema.safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.success) throw new ModelLoadError(`unexpected content in ${path}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

function dtypeFromFileName(file: string): OnnxDtype {
  if (/int8|quantized/i.test(file)) return 'int8';
  if (/uint8/i.test(file)) return 'uint8';
  if (/fp16|float16/i.test(file)) return 'fp16';
  if (/q4/i.test(file)) return 'q4';
  return 'fp32';
}

async function detectPooling(src: string): Promise<{ pooling: Manifest['pooling']; normalize: boolean | undefined }> {
  const modules = await readJson(join(src, 'modules.json'), modulesSchema);
  const normalize = modules ? modules.some((m) => m.type.endsWith('Normalize')) : undefined;
  const pooling = await readJson(join(src, '1_Pooling', 'config.json'), poolingConfigSchema);
  if (pooling?.pooling_mode_cls_token) return { pooling: 'cls', normalize };
  if (pooling?.pooling_mode_max_tokens) return { pooling: 'max', normalize };
  return { pooling: 'mean', normalize };
}

/** Runs the graph on a two-token input to learn its input names, output and width. */
async function probeGraph(onnxPath: string): Promise<{ inputs: Manifest['inputs']; output: string; dimensions: number; poolingInGraph: boolean }> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnxPath);
  } catch (err) {
    throw new ModelLoadError(`cannot load ${onnxPath}: ${(err as Error).message}`);
  }
  try {
    const names = session.inputNames;
    const find = (...candidates: string[]) => candidates.find((c) => names.includes(c));
    const inputIds = find('input_ids');
    const attentionMask = find('attention_mask');
    if (!inputIds || !attentionMask) {
      throw new ModelLoadError(`${onnxPath} must take input_ids and attention_mask; it takes ${names.join(', ')}`);
    }
    const tokenTypeIds = find('token_type_ids');
    const output = ['sentence_embedding', 'last_hidden_state', 'token_embeddings'].find((o) => session.outputNames.includes(o)) ?? session.outputNames[0]!;
    const ids = new ort.Tensor('int64', BigInt64Array.from([1n, 2n]), [1, 2]);
    const feeds: Record<string, ort.Tensor> = { [inputIds]: ids, [attentionMask]: new ort.Tensor('int64', BigInt64Array.from([1n, 1n]), [1, 2]) };
    if (tokenTypeIds) feeds[tokenTypeIds] = new ort.Tensor('int64', BigInt64Array.from([0n, 0n]), [1, 2]);
    const result = (await session.run(feeds, [output]))[output]!;
    const dims = result.dims;
    if (dims.length !== 2 && dims.length !== 3) throw new ModelLoadError(`output ${output} has rank ${dims.length}; expected 2 or 3`);
    return { inputs: { inputIds, attentionMask, ...(tokenTypeIds ? { tokenTypeIds } : {}) }, output, dimensions: dims.at(-1)!, poolingInGraph: dims.length === 2 };
  } finally {
    await session.release();
  }
}

export async function importHuggingFaceFolder(registry: ModelRegistry, src: string, options: ImportOptions): Promise<ModelVersion> {
  if (!existsSync(src)) throw new InvalidInputError(`model folder ${src} does not exist`);
  for (const file of REQUIRED_FILES) {
    if (!existsSync(join(src, file))) throw new InvalidInputError(`${src} is not a Hugging Face model folder: ${file} is missing`);
  }
  const onnxRel = options.onnxFile ?? ONNX_CANDIDATES.find((f) => existsSync(join(src, f)));
  if (!onnxRel || !existsSync(join(src, onnxRel))) {
    throw new InvalidInputError(`${src} has no ONNX model (looked for ${options.onnxFile ?? ONNX_CANDIDATES.join(', ')})`);
  }

  const existing = (await registry.list()).filter((v) => v.manifest.name === options.name);
  const version = options.version ?? String(1 + Math.max(0, ...existing.map((v) => Number.parseInt(v.manifest.version, 10)).filter(Number.isFinite)));
  const target = join(registry.dir, options.name, version);
  if (existsSync(target)) throw new ModelExistsError(`model ${options.name}@${version} already exists at ${target}`);

  const probe = await probeGraph(join(src, onnxRel));
  const detected = await detectPooling(src);
  const hfConfig = await readJson(join(src, 'config.json'), hfConfigSchema);
  const stConfig = await readJson(join(src, 'sentence_bert_config.json'), stConfigSchema);
  const tokConfig = await readJson(join(src, 'tokenizer_config.json'), tokenizerConfigSchema);
  const prompts = (await readJson(join(src, 'config_sentence_transformers.json'), stPromptsSchema))?.prompts ?? {};
  const limits = [stConfig?.max_seq_length, hfConfig?.max_position_embeddings, tokConfig?.model_max_length].filter(
    (n): n is number => n !== undefined && n < 1e6,
  );
  const maxTokens = limits.length > 0 ? Math.min(...limits) : 512;

  const staging = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  await rm(staging, { recursive: true, force: true });
  try {
    const copied: string[] = [];
    for (const file of [...REQUIRED_FILES, ...OPTIONAL_FILES]) {
      if (!existsSync(join(src, file))) continue;
      await mkdir(dirname(join(staging, file)), { recursive: true });
      await copyFile(join(src, file), join(staging, file));
      copied.push(file);
    }
    await mkdir(join(staging, 'onnx'), { recursive: true });
    await copyFile(join(src, onnxRel), join(staging, 'onnx', 'model.onnx'));
    for (const dataFile of [`${onnxRel}_data`, `${onnxRel}.data`]) {
      if (existsSync(join(src, dataFile))) throw new InvalidInputError(`external ONNX weight files (${dataFile}) are not supported yet`);
    }

    const tooLarge = (options.matryoshka ?? []).filter((d) => !Number.isInteger(d) || d <= 0 || d >= probe.dimensions);
    if (tooLarge.length > 0) {
      throw new InvalidInputError(`matryoshka sizes must be whole numbers below the model's ${probe.dimensions} dimensions; got ${tooLarge.join(', ')}`);
    }
    const manifest: Manifest = {
      format: 1,
      name: options.name,
      version,
      dimensions: probe.dimensions,
      maxTokens,
      pooling: options.pooling ?? detected.pooling,
      poolingInGraph: probe.poolingInGraph,
      normalize: options.normalize ?? detected.normalize ?? true,
      ...(options.matryoshka?.length ? { matryoshka: [...new Set(options.matryoshka)].sort((a, b) => b - a) } : {}),
      prefixes: {
        query: options.queryPrefix ?? prompts.query ?? '',
        document: options.documentPrefix ?? prompts.document ?? prompts.passage ?? '',
      },
      tokenizer: { kind: 'huggingface' },
      inputs: probe.inputs,
      output: probe.output,
      onnx: [{ ...(await describeFile(staging, 'onnx/model.onnx')), dtype: options.dtype ?? dtypeFromFileName(onnxRel) }],
      files: await Promise.all(copied.map((f) => describeFile(staging, f))),
      source: { kind: 'huggingface-import', description: `imported from ${src}`, path: src },
      createdAt: new Date().toISOString(),
    };
    manifestSchema.parse(manifest);
    await writeFile(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await mkdir(dirname(target), { recursive: true });
    await rename(staging, target);
    return { id: modelId(manifest), dir: target, manifest };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
