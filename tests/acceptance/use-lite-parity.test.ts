/**
 * Parity of our USE-Lite conversion against the original TF.js graph: same token ids, same vectors
 * (fp32), a close int8 variant, and the model's known semantic behaviour.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Tokenizer } from '@tensorflow-models/universal-sentence-encoder/dist/tokenizer/index.js';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, type TextTokenizer } from '../../src/embedding/tokenizer.ts';
import { SentencePieceUnigramTokenizer, type VocabularyEntry } from '../../src/tokenizers/sentencepiece-unigram.ts';
import { describeFile } from '../../src/models/files.ts';
import { manifestSchema, type Manifest } from '../../src/models/manifest.ts';
import { convertUseLite } from '../../src/models/use-lite/convert.ts';
import { useLitePackageDir } from '../../src/models/use-lite/tfjs-weights.ts';
import { parityTexts } from '../fixtures/parity-texts.ts';
import { cosine, maxAbsDiff } from '../helpers/vectors.ts';

const DIM = 512;
const BATCH = 32;

interface TfjsModelJson {
  modelTopology: tf.io.ModelJSON['modelTopology'];
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

async function loadReference(dir: string): Promise<tf.GraphModel> {
  await tf.setBackend('wasm');
  await tf.ready();
  const mj = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as TfjsModelJson;
  const all = Buffer.concat(mj.weightsManifest.flatMap((g) => g.paths).map((p) => readFileSync(join(dir, p))));
  return tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: mj.modelTopology,
      weightSpecs: mj.weightsManifest.flatMap((g) => g.weights),
      weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    }),
  );
}

/** The reference's own input format: sparse (row, position) -> id, untruncated (the graph clips). */
async function referenceEmbed(model: tf.GraphModel, encodings: number[][]): Promise<Float32Array[]> {
  const positions = encodings.flatMap((ids, row) => ids.map((_, pos) => [row, pos]));
  const indices = tf.tensor2d(positions.flat(), [positions.length, 2], 'int32');
  const values = tf.tensor1d(encodings.flat(), 'int32');
  const out = (await model.executeAsync({ indices, values })) as tf.Tensor;
  const data = (await out.data()) as Float32Array;
  tf.dispose([indices, values, out]);
  return encodings.map((_, i) => data.slice(i * DIM, (i + 1) * DIM));
}

async function onnxEmbed(session: ort.InferenceSession, encodings: readonly (readonly number[])[]): Promise<Float32Array[]> {
  const tokens = Math.max(1, ...encodings.map((e) => e.length));
  const ids = new BigInt64Array(encodings.length * tokens);
  const mask = new BigInt64Array(encodings.length * tokens);
  encodings.forEach((e, row) =>
    e.forEach((id, pos) => {
      ids[row * tokens + pos] = BigInt(id);
      mask[row * tokens + pos] = 1n;
    }),
  );
  const result = await session.run({
    input_ids: new ort.Tensor('int64', ids, [encodings.length, tokens]),
    attention_mask: new ort.Tensor('int64', mask, [encodings.length, tokens]),
  });
  const data = result.sentence_embedding!.data as Float32Array;
  return encodings.map((_, i) => data.slice(i * DIM, (i + 1) * DIM));
}

async function inBatches<T>(items: readonly T[], run: (batch: T[]) => Promise<Float32Array[]>): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(...(await run(items.slice(i, i + BATCH))));
  return out;
}

describe('USE-Lite conversion parity with the TF.js graph', () => {
  let modelsDir: string;
  let reference: tf.GraphModel;
  let referenceTokenizer: Tokenizer;
  let tokenizer: TextTokenizer;
  let fp32: ort.InferenceSession;
  let int8: ort.InferenceSession;
  let fp32Bytes: number;
  let int8Bytes: number;
  const texts = parityTexts();
  let referenceIds: number[][];
  let ids: number[][];
  let fp32Vectors: Float32Array[];

  beforeAll(async () => {
    modelsDir = await mkdtemp(join(tmpdir(), 'sextant-use-lite-parity-'));
    const started = Date.now();
    const { created } = await convertUseLite(modelsDir);
    console.log(`conversion: ${Date.now() - started} ms, created ${created.join(', ')}`);
    expect(created).toEqual(['use-lite@1', 'use-lite@1-int8']);

    const pkgDir = useLitePackageDir();
    const vocab = JSON.parse(readFileSync(join(pkgDir, 'vocab.json'), 'utf8')) as [string, number][];
    referenceTokenizer = new Tokenizer(vocab);
    reference = await loadReference(pkgDir);

    const versionDir = join(modelsDir, 'use-lite', '1');
    const manifest: Manifest = manifestSchema.parse(JSON.parse(await readFile(join(versionDir, 'manifest.json'), 'utf8')));
    tokenizer = await loadTokenizer(versionDir, manifest);
    const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', intraOpNumThreads: 2 };
    fp32 = await ort.InferenceSession.create(join(versionDir, 'onnx', 'model.onnx'), options);
    int8 = await ort.InferenceSession.create(join(modelsDir, 'use-lite', '1-int8', 'onnx', 'model.onnx'), options);
    fp32Bytes = manifest.onnx[0]!.bytes;
    int8Bytes = manifestSchema.parse(JSON.parse(await readFile(join(modelsDir, 'use-lite', '1-int8', 'manifest.json'), 'utf8'))).onnx[0]!.bytes;

    referenceIds = texts.map((t) => referenceTokenizer.encode(t));
    ids = texts.map((t) => [...tokenizer.encode(t).ids]);
    fp32Vectors = await inBatches(ids, (b) => onnxEmbed(fp32, b));
  });

  afterAll(async () => {
    reference?.dispose();
    await fp32?.release();
    await int8?.release();
    if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
  });

  it('covers enough texts, including ones longer than 128 tokens', () => {
    expect(texts.length).toBeGreaterThanOrEqual(200);
    expect(referenceIds.filter((r) => r.length > 128).length).toBeGreaterThan(0);
  });

  it('tokenizes exactly like the reference Tokenizer', () => {
    const pieces = JSON.parse(readFileSync(join(useLitePackageDir(), 'vocab.json'), 'utf8')) as VocabularyEntry[];
    const port = SentencePieceUnigramTokenizer.fromPieces(pieces);
    const mismatches = texts.filter((t, i) => JSON.stringify(port.encode(t)) !== JSON.stringify(referenceIds[i]));
    expect(mismatches).toEqual([]);
    // The folder's tokenizer (read back from tokenizer.json) keeps the first 128 ids, which is what the graph uses.
    texts.forEach((_, i) => expect(ids[i]).toEqual(referenceIds[i]!.slice(0, 128)));
  });

  it('fp32 ONNX matches the TF.js graph within 1e-4 on every component', async () => {
    // The reference in batches of texts of similar length (its cost grows with a batch's longest
    // text), put back in text order.
    const order = referenceIds.map((_, i) => i).sort((a, b) => referenceIds[a]!.length - referenceIds[b]!.length);
    const byLength = await inBatches(order.map((i) => referenceIds[i]!), (b) => referenceEmbed(reference, b));
    const expected: Float32Array[] = [];
    order.forEach((i, k) => (expected[i] = byLength[k]!));
    expect(expected.filter(Boolean)).toHaveLength(texts.length);
    let worst = 0;
    let worstText = '';
    expected.forEach((e, i) => {
      const d = maxAbsDiff(e, fp32Vectors[i]!);
      if (d > worst) [worst, worstText] = [d, texts[i]!];
    });
    console.log(`fp32 vs TF.js over ${texts.length} texts: max |diff| ${worst.toExponential(3)} (${JSON.stringify(worstText.slice(0, 40))})`);
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it('clips input_ids itself: untruncated input gives the same vectors as 128-token input', async () => {
    const long = referenceIds.map((r, i) => [r, i] as const).filter(([r]) => r.length > 128).slice(0, 8);
    const untruncated = await onnxEmbed(fp32, long.map(([r]) => r));
    long.forEach(([, i], k) => expect(maxAbsDiff(untruncated[k]!, fp32Vectors[i]!)).toBeLessThanOrEqual(1e-6));
  });

  it('is padding invariant: a text alone and in a padded batch give the same vector', async () => {
    const longest = ids.reduce((a, b) => (b.length > a.length ? b : a));
    let worst = 0;
    for (const i of [0, 3, 10, 50, 120]) {
      const [alone] = await onnxEmbed(fp32, [ids[i]!]);
      const batched = await onnxEmbed(fp32, [longest, ids[i]!, [5, 6, 7]]);
      worst = Math.max(worst, maxAbsDiff(alone!, batched[1]!));
    }
    console.log(`fp32 padding invariance: max |diff| ${worst.toExponential(3)}`);
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it('int8 variant stays close to fp32', async () => {
    const quantized = await inBatches(ids, (b) => onnxEmbed(int8, b));
    const cosines = quantized.map((q, i) => cosine(q, fp32Vectors[i]!));
    const mean = cosines.reduce((a, b) => a + b, 0) / cosines.length;
    const min = Math.min(...cosines);
    console.log(
      `int8 vs fp32 cosine over ${texts.length} texts: mean ${mean.toFixed(5)}, min ${min.toFixed(5)}; ` +
        `model.onnx fp32 ${(fp32Bytes / 1e6).toFixed(2)} MB, int8 ${(int8Bytes / 1e6).toFixed(2)} MB`,
    );
    expect(min).toBeGreaterThanOrEqual(0.99);
    expect(int8Bytes).toBeLessThan(fp32Bytes / 3);

    // Activations are quantised per token, so batching and padding must not change a text's vector.
    let worst = 0;
    for (const i of [0, 3, 10, 50, 120]) {
      const [alone] = await onnxEmbed(int8, [ids[i]!]);
      worst = Math.max(worst, maxAbsDiff(alone!, quantized[i]!));
    }
    console.log(`int8 alone vs in a batch of ${BATCH}: max |diff| ${worst.toExponential(3)}`);
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it('keeps the semantics of the original model', async () => {
    const [question, paraphrase, unrelated] = await onnxEmbed(
      fp32,
      ['How do I reset my password?', 'I forgot my login credentials and need to change them', 'What is the weather like in Paris today?'].map(
        (t) => tokenizer.encode(t).ids,
      ),
    );
    const related = cosine(question!, paraphrase!);
    const far = cosine(question!, unrelated!);
    console.log(`cosine(question, paraphrase) ${related.toFixed(3)}, cosine(question, unrelated) ${far.toFixed(3)}`);
    expect(related).toBeGreaterThanOrEqual(0.5);
    expect(far).toBeLessThanOrEqual(0.2);
  });

  it('leaves existing versions alone unless forced', async () => {
    expect((await convertUseLite(modelsDir)).created).toEqual([]);
  });
});

describe('USE-Lite conversion folders', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sextant-use-lite-convert-'));
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function expectValidVersion(dir: string): Promise<void> {
    const manifest = manifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
    for (const entry of [...manifest.onnx, ...manifest.files]) {
      const actual = await describeFile(dir, entry.path);
      expect(actual.sha256, entry.path).toBe(entry.sha256);
      expect(actual.bytes, entry.path).toBe(entry.bytes);
    }
  }

  it('two concurrent conversions both succeed and leave one valid folder per version', async () => {
    const dir = join(root, 'concurrent');
    const [a, b] = await Promise.all([convertUseLite(dir), convertUseLite(dir)]);
    // Each version was published by exactly one of the two.
    expect([...a.created, ...b.created].sort()).toEqual(['use-lite@1', 'use-lite@1-int8']);
    await expectValidVersion(join(dir, 'use-lite', '1'));
    await expectValidVersion(join(dir, 'use-lite', '1-int8'));
    expect((await readdir(join(dir, 'use-lite'))).sort()).toEqual(['1', '1-int8']);
  });

  it('cleans up after a killed conversion and replaces a version folder without a manifest', async () => {
    const parent = join(root, 'crashed', 'use-lite');
    // What a conversion killed mid-write leaves: a hidden temp folder of a dead pid, and (from some
    // other tool) a version folder that never got its manifest.
    const stale = join(parent, '.use-lite-1.tmp-4194303-deadbeef');
    await mkdir(join(stale, 'onnx'), { recursive: true });
    await writeFile(join(stale, 'onnx', 'model.onnx'), 'half');
    const old = new Date(Date.now() - 3600_000);
    await utimes(stale, old, old);
    await mkdir(join(parent, '1-int8'), { recursive: true });
    await writeFile(join(parent, '1-int8', 'junk'), 'x');

    const { created } = await convertUseLite(join(root, 'crashed'));
    expect(created).toEqual(['use-lite@1', 'use-lite@1-int8']);
    expect((await readdir(parent)).sort()).toEqual(['1', '1-int8']);
    await expectValidVersion(join(parent, '1-int8'));

    const before = await readFile(join(parent, '1', 'manifest.json'), 'utf8');
    expect((await convertUseLite(join(root, 'crashed'), { force: true })).created).toEqual(['use-lite@1', 'use-lite@1-int8']);
    expect(await readFile(join(parent, '1', 'manifest.json'), 'utf8')).not.toBe(before);
    await expectValidVersion(join(parent, '1'));
  });
});
