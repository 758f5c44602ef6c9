/**
 * Converts USE-Lite from the TF.js weights shipped in npm into model version folders:
 *   <modelsDir>/use-lite/1/       fp32
 *   <modelsDir>/use-lite/1-int8/  int8 weights
 *
 * Each version is assembled in a hidden sibling folder, fsynced, and renamed into place in one step,
 * so a killed conversion never leaves a folder that looks complete, and two processes converting
 * at once both end up with one valid folder (the loser of the rename discards its copy).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, renameDurably, writeFileSynced } from '../../util/durable-write.ts';
import { removeStaleFolders } from '../../util/stale-folders.ts';
import { describeFile } from '../files.ts';
import { MANIFEST_FILE, manifestSchema, modelId, type FileEntry, type Manifest, type OnnxDtype } from '../manifest.ts';
import type { VocabularyEntry } from '../../tokenizers/sentencepiece-unigram.ts';
import { USE_LITE_ARCH, buildUseLiteOnnx, type UseLiteDtype } from './graph.ts';
import { USE_LITE_PACKAGE, readTfjsWeights, useLitePackageDir, useLitePackageVersion, type TfjsWeights } from './tfjs-weights.ts';
import { buildTokenizerConfigJson, buildTokenizerJson } from './tokenizer-json.ts';

export const USE_LITE_NAME = 'use-lite';

export interface ConvertUseLiteOptions {
  /** Rebuild versions whose manifest already exists. */
  readonly force?: boolean;
  readonly log?: (msg: string) => void;
}

interface VersionSpec {
  readonly version: string;
  readonly dtype: UseLiteDtype & OnnxDtype;
}

const VERSIONS: readonly VersionSpec[] = [
  { version: '1', dtype: 'fp32' },
  { version: '1-int8', dtype: 'int8' },
];

const ONNX_PATH = 'onnx/model.onnx';

function configJson(dtype: UseLiteDtype): Record<string, unknown> {
  return {
    model_type: 'use-lite',
    architecture: 'KonaTransformer',
    dtype,
    vocab_size: USE_LITE_ARCH.vocabSize,
    embedding_size: USE_LITE_ARCH.embeddingSize,
    hidden_size: USE_LITE_ARCH.hiddenSize,
    intermediate_size: USE_LITE_ARCH.intermediateSize,
    num_hidden_layers: USE_LITE_ARCH.layers,
    num_attention_heads: USE_LITE_ARCH.heads,
    hidden_act: 'relu',
    layer_norm_eps: 1e-6,
    max_position_embeddings: USE_LITE_ARCH.maxTokens,
    position_embedding_type: 'sinusoidal',
    pooling: 'mean',
    output_dim: USE_LITE_ARCH.dimensions,
    output_activation: 'tanh',
    normalize: true,
  };
}

async function buildVersionFolder(
  dir: string,
  spec: VersionSpec,
  weights: TfjsWeights,
  pieces: ReadonlyArray<VocabularyEntry>,
  packageVersion: string,
): Promise<void> {
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await writeFileSynced(join(dir, ONNX_PATH), buildUseLiteOnnx(weights, { dtype: spec.dtype }));
  const extra = ['tokenizer.json', 'tokenizer_config.json', 'config.json'] as const;
  await writeFileSynced(join(dir, 'tokenizer.json'), JSON.stringify(buildTokenizerJson(pieces)));
  await writeFileSynced(join(dir, 'tokenizer_config.json'), `${JSON.stringify(buildTokenizerConfigJson(), null, 2)}\n`);
  await writeFileSynced(join(dir, 'config.json'), `${JSON.stringify(configJson(spec.dtype), null, 2)}\n`);

  const onnx = await describeFile(dir, ONNX_PATH);
  const files: FileEntry[] = [];
  for (const f of extra) files.push(await describeFile(dir, f));
  const manifest: Manifest = manifestSchema.parse({
    format: 1,
    name: USE_LITE_NAME,
    version: spec.version,
    dimensions: USE_LITE_ARCH.dimensions,
    maxTokens: USE_LITE_ARCH.maxTokens,
    pooling: 'mean',
    poolingInGraph: true,
    normalize: true,
    prefixes: { query: '', document: '' },
    tokenizer: { kind: 'use-sentencepiece' },
    inputs: { inputIds: 'input_ids', attentionMask: 'attention_mask' },
    output: 'sentence_embedding',
    onnx: [{ ...onnx, dtype: spec.dtype }],
    files,
    source: {
      kind: 'tfjs-conversion',
      description:
        spec.dtype === 'fp32'
          ? 'Universal Sentence Encoder Lite, converted from its TF.js graph to an ONNX graph computing the same function'
          : 'Universal Sentence Encoder Lite, converted from its TF.js graph; matrices and embedding table stored as int8 with per-output-channel symmetric scales, activations quantised per token (MatMulInteger)',
      package: `${USE_LITE_PACKAGE}@${packageVersion}`,
      license: 'Apache-2.0',
    },
    createdAt: new Date().toISOString(),
  });
  // Written last: a folder only counts as a version once its manifest exists.
  await writeFileSynced(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  await fsyncDir(join(dir, 'onnx'));
  await fsyncDir(dir);
}

/** Moves a finished temp folder to `target`; returns false when another writer got there first. */
async function publish(temp: string, parent: string, version: string, replace: boolean): Promise<boolean> {
  const target = join(parent, version);
  let old: string | undefined;
  if (replace && existsSync(target)) {
    // Rename aside instead of deleting: the old version stays whole until the new one is in place.
    old = join(parent, `.${USE_LITE_NAME}-${version}.old-${process.pid}-${randomBytes(4).toString('hex')}`);
    await rename(target, old);
  }
  try {
    // Durable once it resolves: the parent's new entry is fsynced too.
    await renameDurably(temp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // rename(2) refuses to replace a non-empty directory: someone else published this version meanwhile.
    if ((code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM') && existsSync(join(target, MANIFEST_FILE))) {
      await rm(temp, { recursive: true, force: true });
      if (old) await rm(old, { recursive: true, force: true });
      return false;
    }
    throw err;
  }
  if (old) await rm(old, { recursive: true, force: true });
  return true;
}

export async function convertUseLite(modelsDir: string, opts: ConvertUseLiteOptions = {}): Promise<{ created: string[] }> {
  const log = opts.log ?? (() => {});
  const parent = join(modelsDir, USE_LITE_NAME);
  await mkdir(parent, { recursive: true });
  await removeStaleFolders(parent, /^\.use-lite-.+\.(?:tmp|old)-(\d+)-[0-9a-f]+$/);

  const todo = VERSIONS.filter((v) => opts.force || !existsSync(join(parent, v.version, MANIFEST_FILE)));
  if (todo.length === 0) return { created: [] };

  const pkgDir = useLitePackageDir();
  const started = Date.now();
  const [weights, vocabText, packageVersion] = await Promise.all([
    readTfjsWeights(pkgDir),
    readFile(join(pkgDir, 'vocab.json'), 'utf8'),
    useLitePackageVersion(),
  ]);
  const pieces = JSON.parse(vocabText) as VocabularyEntry[];
  if (!Array.isArray(pieces) || pieces.length === 0) throw new Error(`${pkgDir}/vocab.json holds no vocabulary`);
  log(`read ${USE_LITE_PACKAGE}@${packageVersion}: ${weights.tensors.size} tensors, ${pieces.length} pieces (${Date.now() - started} ms)`);

  const created: string[] = [];
  for (const spec of todo) {
    const id = modelId({ name: USE_LITE_NAME, version: spec.version });
    const target = join(parent, spec.version);
    const temp = join(parent, `.${USE_LITE_NAME}-${spec.version}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    const t0 = Date.now();
    try {
      await buildVersionFolder(temp, spec, weights, pieces, packageVersion);
      // A target without a manifest is debris from some other tool; replace it like a forced rebuild.
      const replace = opts.force === true || (existsSync(target) && !existsSync(join(target, MANIFEST_FILE)));
      if (await publish(temp, parent, spec.version, replace)) {
        created.push(id);
        log(`converted ${id} (${spec.dtype}) in ${Date.now() - t0} ms`);
      } else {
        log(`${id} was created concurrently by another process; kept that one`);
      }
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      throw err;
    }
  }
  return { created };
}
