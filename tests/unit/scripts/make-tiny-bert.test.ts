import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyBertVocab, tinyBertWeights, writeTinyBert } from '../../../scripts/make-tiny-bert.ts';
import type { TinyBertWeights } from '../../../scripts/make-tiny-bert.ts';
import { bertForwardReference, clsPool, l2normalize, meanPool } from '../../helpers/bert-reference.ts';

const SEED = 7;
const TEXTS = ['Hello world, testing!', 'the cat', 'A quick brown fox jumps over the lazy dog; searching semantic vectors 42 times.'];

let root: string;
let weights: TinyBertWeights;
const folder = (name: string): string => join(root, name);
const readJson = async (path: string): Promise<Record<string, unknown>> =>
  JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;

type Matrix = number[][];
const toBigInt = (rows: Matrix): BigInt64Array => BigInt64Array.from(rows.flat().map((x) => BigInt(x)));
const toNumbers = (t: { tolist(): unknown }): Matrix => (t.tolist() as bigint[][]).map((r) => r.map(Number));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

async function runOnnx(ids: Matrix, mask: Matrix, types: Matrix): Promise<Float32Array[][]> {
  const session = await InferenceSession.create(join(folder('tiny-bert'), 'onnx', 'model.onnx'));
  const dims = [ids.length, ids[0]!.length];
  const out = await session.run({
    input_ids: new Tensor('int64', toBigInt(ids), dims),
    attention_mask: new Tensor('int64', toBigInt(mask), dims),
    token_type_ids: new Tensor('int64', toBigInt(types), dims),
  });
  const hidden = out['last_hidden_state']!;
  const [batch, seq, width] = hidden.dims as number[];
  expect([batch, seq, width]).toEqual([dims[0], dims[1], weights.config.hiddenSize]);
  const data = hidden.data as Float32Array;
  await session.release();
  return Array.from({ length: batch! }, (_, b) =>
    Array.from({ length: seq! }, (_, t) => data.slice((b * seq! + t) * width!, (b * seq! + t + 1) * width!)),
  );
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tiny-bert-'));
  await writeTinyBert(folder('tiny-bert'), { seed: SEED });
  await writeTinyBert(folder('tiny-bert-again'), { seed: SEED });
  await writeTinyBert(folder('tiny-bert-other'), { seed: SEED + 1 });
  await writeTinyBert(folder('tiny-bert-cls'), { seed: SEED, pooling: 'cls' });
  weights = tinyBertWeights(SEED);
  env.allowRemoteModels = false;
  env.localModelPath = root;
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('tiny BERT generator', () => {
  it('writes a sentence-transformers folder layout', async () => {
    const dir = folder('tiny-bert');
    for (const file of [
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
      'vocab.txt',
      'modules.json',
      'sentence_bert_config.json',
      '1_Pooling/config.json',
      'onnx/model.onnx',
    ]) {
      expect((await stat(join(dir, file))).isFile(), file).toBe(true);
    }
    const config = await readJson(join(dir, 'config.json'));
    expect(config).toMatchObject({
      architectures: ['BertModel'],
      model_type: 'bert',
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 64,
      max_position_embeddings: 64,
      type_vocab_size: 2,
      vocab_size: weights.vocab.length,
      layer_norm_eps: 1e-12,
      hidden_act: 'gelu',
      pad_token_id: 0,
    });
    const modules = JSON.parse(await readFile(join(dir, 'modules.json'), 'utf8')) as Array<{ path: string; type: string }>;
    expect(modules.map((m) => [m.path, m.type])).toEqual([
      ['', 'sentence_transformers.models.Transformer'],
      ['1_Pooling', 'sentence_transformers.models.Pooling'],
      ['2_Normalize', 'sentence_transformers.models.Normalize'],
    ]);
    expect(await readJson(join(dir, '1_Pooling/config.json'))).toMatchObject({
      word_embedding_dimension: 32,
      pooling_mode_cls_token: false,
      pooling_mode_mean_tokens: true,
      pooling_mode_max_tokens: false,
      pooling_mode_mean_sqrt_len_tokens: false,
    });
    expect(await readJson(join(folder('tiny-bert-cls'), '1_Pooling/config.json'))).toMatchObject({
      pooling_mode_cls_token: true,
      pooling_mode_mean_tokens: false,
    });
    expect(await readJson(join(dir, 'sentence_bert_config.json'))).toEqual({ max_seq_length: 64, do_lower_case: false });
    expect(await readJson(join(dir, 'tokenizer_config.json'))).toMatchObject({
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: 64,
    });

    const vocabLines = (await readFile(join(dir, 'vocab.txt'), 'utf8')).trimEnd().split('\n');
    expect(vocabLines).toEqual(weights.vocab);
    const tokenizer = await readJson(join(dir, 'tokenizer.json'));
    const model = tokenizer['model'] as { vocab: Record<string, number> };
    expect(Object.keys(model.vocab).length).toBe(weights.vocab.length);
    weights.vocab.forEach((token, id) => expect(model.vocab[token]).toBe(id));
  });

  it('has the expected vocabulary shape', () => {
    const vocab = tinyBertVocab();
    expect(vocab.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    expect(new Set(vocab).size).toBe(vocab.length);
    expect(vocab.length).toBeGreaterThanOrEqual(300);
    expect(vocab.length).toBeLessThanOrEqual(600);
    for (const token of ['a', '0', ',', 'hello', 'world', '##s', '##ing', '##ed', '##z']) expect(vocab).toContain(token);
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const model = (name: string) => readFile(join(folder(name), 'onnx', 'model.onnx'));
    const [a, again, other] = await Promise.all([model('tiny-bert'), model('tiny-bert-again'), model('tiny-bert-other')]);
    expect(Buffer.compare(a, again)).toBe(0);
    expect(Buffer.compare(a, other)).not.toBe(0);
    // Everything but the weights is seed-independent.
    for (const file of await readdir(folder('tiny-bert'))) {
      if ((await stat(join(folder('tiny-bert'), file))).isDirectory()) continue;
      const [x, y] = await Promise.all([readFile(join(folder('tiny-bert'), file)), readFile(join(folder('tiny-bert-other'), file))]);
      expect(Buffer.compare(x, y), file).toBe(0);
    }
    expect(tinyBertWeights(SEED).layers[1]!.output.weight).toEqual(weights.layers[1]!.output.weight);
  });

  it('tokenizes with transformers.js from the local folder', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained('tiny-bert');
    const id = (token: string): number => weights.vocab.indexOf(token);

    const hello = tokenizer('Hello world, testing!');
    expect(toNumbers(hello.input_ids)[0]).toEqual(
      ['[CLS]', 'hello', 'world', ',', 'test', '##ing', '!', '[SEP]'].map(id),
    );
    expect(toNumbers(hello.input_ids)[0]).toEqual([2, 171, 172, 16, 173, 408, 5, 3]);

    // An out-of-vocabulary ASCII word splits into '##' letter pieces; a character outside the
    // vocabulary (here an emoji) becomes [UNK]; accents are stripped by BertNormalizer.
    const oov = tokenizer('Zyxwv 🙂 über');
    expect(toNumbers(oov.input_ids)[0]).toEqual(
      ['[CLS]', 'z', '##y', '##x', '##w', '##v', '[UNK]', 'u', '##b', '##er', '[SEP]'].map(id),
    );
    expect(tokenizer.decode(toNumbers(hello.input_ids)[0]!, { skip_special_tokens: true })).toBe('hello world, testing!');
  });

  it('matches the float64 reference forward pass on a padded batch', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained('tiny-bert');
    const enc = tokenizer(TEXTS, { padding: true });
    const ids = toNumbers(enc.input_ids);
    const mask = toNumbers(enc.attention_mask);
    // BERT tokenizers emit token_type_ids; the ONNX model requires them.
    expect(enc.token_type_ids).toBeDefined();
    const types = toNumbers(enc.token_type_ids!);
    const lengths = mask.map((m) => m.reduce((a, b) => a + b, 0));
    expect(new Set(lengths).size).toBe(3);
    expect(Math.max(...lengths)).toBe(ids[0]!.length);

    const onnx = await runOnnx(ids, mask, types);
    const padded = bertForwardReference(weights, ids, mask, types);
    // Reference on the unpadded rows: padding must not change real tokens' states.
    const unpadded = bertForwardReference(
      weights,
      ids.map((r, b) => r.slice(0, lengths[b])),
      mask.map((r, b) => r.slice(0, lengths[b])),
    );

    let tokenDiff = 0;
    for (let b = 0; b < TEXTS.length; b++) {
      for (let t = 0; t < lengths[b]!; t++) {
        tokenDiff = Math.max(tokenDiff, maxAbsDiff(onnx[b]![t]!, padded[b]![t]!), maxAbsDiff(onnx[b]![t]!, unpadded[b]![t]!));
      }
    }
    expect(tokenDiff).toBeLessThanOrEqual(1e-4);

    let pooledDiff = 0;
    let clsDiff = 0;
    for (let b = 0; b < TEXTS.length; b++) {
      const got = l2normalize(meanPool(onnx[b]!, mask[b]!));
      const want = l2normalize(meanPool(unpadded[b]!, mask[b]!.slice(0, lengths[b])));
      expect(Math.hypot(...got)).toBeCloseTo(1, 6);
      pooledDiff = Math.max(pooledDiff, maxAbsDiff(got, want));
      clsDiff = Math.max(clsDiff, maxAbsDiff(l2normalize(clsPool(onnx[b]!)), l2normalize(clsPool(unpadded[b]!))));
    }
    expect(pooledDiff).toBeLessThanOrEqual(1e-4);
    expect(clsDiff).toBeLessThanOrEqual(1e-4);
    // The texts should not collapse onto one vector (random weights still separate them).
    const v0 = l2normalize(meanPool(onnx[0]!, mask[0]!));
    const v1 = l2normalize(meanPool(onnx[1]!, mask[1]!));
    expect(maxAbsDiff(v0, v1)).toBeGreaterThan(1e-2);
  });

  it('uses token_type_ids', async () => {
    const ids = [[2, 171, 172, 3, 173, 3]];
    const mask = [[1, 1, 1, 1, 1, 1]];
    const types = [[0, 0, 0, 0, 1, 1]];
    const onnx = await runOnnx(ids, mask, types);
    const ref = bertForwardReference(weights, ids, mask, types);
    const zeros = bertForwardReference(weights, ids, mask);
    let diff = 0;
    for (let t = 0; t < 6; t++) diff = Math.max(diff, maxAbsDiff(onnx[0]![t]!, ref[0]![t]!));
    expect(diff).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(onnx[0]![5]!, zeros[0]![5]!)).toBeGreaterThan(1e-3);
  });

  it('loads as a feature-extraction pipeline in transformers.js', async () => {
    const extractor = await pipeline('feature-extraction', 'tiny-bert', { dtype: 'fp32' });
    const out = await extractor(TEXTS, { pooling: 'mean', normalize: true });
    expect(out.dims).toEqual([TEXTS.length, 32]);
    const tokenizer = await AutoTokenizer.from_pretrained('tiny-bert');
    let diff = 0;
    for (let b = 0; b < TEXTS.length; b++) {
      const ids = toNumbers(tokenizer(TEXTS[b]!).input_ids);
      const mask = ids.map((r) => r.map(() => 1));
      const want = l2normalize(meanPool(bertForwardReference(weights, ids, mask)[0]!, mask[0]!));
      diff = Math.max(diff, maxAbsDiff((out.data as Float32Array).subarray(b * 32, (b + 1) * 32), want));
    }
    expect(diff).toBeLessThanOrEqual(1e-4);
    await extractor.dispose();
  });
});
