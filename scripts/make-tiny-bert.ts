/**
 * Generates a tiny BERT sentence-transformers folder (config, tokenizer, pooling config and
 * onnx/model.onnx) with fixed-seed random weights, laid out like a Hugging Face export, so the
 * "any sentence-transformers ONNX folder" path can be tested offline.
 *
 *   npx tsx scripts/make-tiny-bert.ts <outDir> [--seed N] [--pooling mean|cls]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { attr, GraphBuilder, tensor } from '../src/models/onnx/graph.ts';
import { mulberry32 } from '../src/util/random.ts';

export interface TinyBertConfig {
  /** Defaults to the built-in vocabulary's size; a larger value pads it with [unusedN] tokens. */
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  /** Standard deviation of the random weights. */
  initializerRange: number;
}

/** A Linear layer y = x W + b with W stored row-major as [inFeatures, outFeatures]. */
export interface LinearWeights {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

export interface LayerNormWeights {
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
}

export interface TinyBertLayerWeights {
  readonly query: LinearWeights;
  readonly key: LinearWeights;
  readonly value: LinearWeights;
  readonly attentionOutput: LinearWeights;
  readonly attentionLayerNorm: LayerNormWeights;
  readonly intermediate: LinearWeights;
  readonly output: LinearWeights;
  readonly outputLayerNorm: LayerNormWeights;
}

export interface TinyBertWeights {
  readonly config: TinyBertConfig;
  /** Token strings by id; vocab.length === config.vocabSize. */
  readonly vocab: readonly string[];
  /** [vocabSize, hiddenSize] row-major. */
  readonly wordEmbeddings: Float32Array;
  /** [maxPositionEmbeddings, hiddenSize] row-major. */
  readonly positionEmbeddings: Float32Array;
  /** [typeVocabSize, hiddenSize] row-major. */
  readonly tokenTypeEmbeddings: Float32Array;
  readonly embeddingLayerNorm: LayerNormWeights;
  readonly layers: readonly TinyBertLayerWeights[];
}

export type TinyBertPooling = 'mean' | 'cls';

export interface WriteTinyBertOptions {
  seed?: number;
  pooling?: TinyBertPooling;
  config?: Partial<TinyBertConfig>;
}

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'.split('');
const DIGITS = '0123456789'.split('');
// Every ASCII character BertPreTokenizer splits off as punctuation.
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'.split('');

const WORDS = `
the of and to in is you that it he was for on are as with his they at be this have from or one
had by word but not what all were we when your can said there use an each which she do how their
if will up other about out many then them these so some her would make like him into time has look
two more write go see number no way could people my than first water been call who oil its now find
long down day did get come made may part hello world test search semantic model embed vector index
query text document data file cat dog house car book love good new old big small great little own
right left high low work year back give most very after thing our just name sentence man think say
help through much before line too mean same tell boy follow came want show also around form three
set put end does another well large must even such because turn here why ask went men read need
land different home us move try kind hand picture again change off play spell air away animal point
page letter mother answer found study still learn should every near add food between below country
plant last school father keep tree never start city earth eye light thought head under story saw
few while along might close something seem next hard open example begin life always those both
paper together got group often run important until children side feet mile night walk white sea
began grow took river four carry state once hear stop without second late miss idea enough eat
face watch far really almost let above girl sometimes mountain cut young talk soon list song being
leave family quick brown fox jump lazy machine learning language computer fast slow happy sad red
blue green black sun moon star rain cold hot music game friend money phone question similar meaning
`;

// Real BERT vocabularies carry '##' forms of every letter and digit, so any lowercase ASCII word
// decomposes into pieces; only characters outside the vocabulary become [UNK].
const SUFFIXES = [
  's', 'es', 'ed', 'ing', 'er', 'ers', 'est', 'ly', 'tion', 'ness', 'ment', 'able', 'ful', 'less',
  'y', 'al', 'ize', 'ity', 'ic', 'ous', ...LETTERS, ...DIGITS,
];

/** The built-in WordPiece vocabulary, ids in order. */
export function tinyBertVocab(): string[] {
  const tokens = [...SPECIAL_TOKENS, ...PUNCTUATION, ...DIGITS, ...LETTERS];
  for (const word of WORDS.split(/\s+/)) if (word) tokens.push(word);
  for (const suffix of SUFFIXES) tokens.push(`##${suffix}`);
  return [...new Set(tokens)];
}

export const DEFAULT_TINY_BERT_CONFIG: Readonly<TinyBertConfig> = {
  vocabSize: tinyBertVocab().length,
  hiddenSize: 32,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  intermediateSize: 64,
  maxPositionEmbeddings: 64,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  initializerRange: 0.05,
};

function gaussian(random: () => number): () => number {
  return () => {
    // 1 - u keeps the log argument in (0, 1].
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

export function tinyBertWeights(seed: number, config: Partial<TinyBertConfig> = {}): TinyBertWeights {
  const cfg: TinyBertConfig = { ...DEFAULT_TINY_BERT_CONFIG, ...config };
  const vocab = tinyBertVocab();
  if (cfg.vocabSize < vocab.length) {
    throw new Error(`vocabSize ${cfg.vocabSize} is smaller than the built-in vocabulary (${vocab.length})`);
  }
  for (let i = 0; vocab.length < cfg.vocabSize; i++) vocab.push(`[unused${i}]`);
  if (cfg.hiddenSize % cfg.numAttentionHeads !== 0) {
    throw new Error(`hiddenSize ${cfg.hiddenSize} is not divisible by numAttentionHeads ${cfg.numAttentionHeads}`);
  }

  const normal = gaussian(mulberry32(seed));
  const std = cfg.initializerRange;
  const randn = (n: number, mean = 0, scale = std): Float32Array => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + scale * normal();
    return out;
  };
  const linear = (inFeatures: number, outFeatures: number): LinearWeights => ({
    inFeatures,
    outFeatures,
    weight: randn(inFeatures * outFeatures),
    bias: randn(outFeatures),
  });
  // Non-trivial gamma/beta so a LayerNorm that ignores its affine parameters shows up in the cross-check.
  const layerNorm = (): LayerNormWeights => ({ gamma: randn(cfg.hiddenSize, 1), beta: randn(cfg.hiddenSize) });

  const h = cfg.hiddenSize;
  // Embeddings at unit scale: BERT's own LayerNorm renormalises the sum anyway, and larger
  // values make the three embedding tables contribute visibly distinct signals.
  const embeddings = (n: number): Float32Array => randn(n, 0, 1);
  const wordEmbeddings = embeddings(cfg.vocabSize * h);
  const positionEmbeddings = embeddings(cfg.maxPositionEmbeddings * h);
  const tokenTypeEmbeddings = embeddings(cfg.typeVocabSize * h);
  const embeddingLayerNorm = layerNorm();
  const layers: TinyBertLayerWeights[] = [];
  for (let l = 0; l < cfg.numHiddenLayers; l++) {
    layers.push({
      query: linear(h, h),
      key: linear(h, h),
      value: linear(h, h),
      attentionOutput: linear(h, h),
      attentionLayerNorm: layerNorm(),
      intermediate: linear(h, cfg.intermediateSize),
      output: linear(cfg.intermediateSize, h),
      outputLayerNorm: layerNorm(),
    });
  }
  return { config: cfg, vocab, wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings, embeddingLayerNorm, layers };
}

/** Builds the BERT encoder graph: input_ids/attention_mask/token_type_ids -> last_hidden_state. */
export function tinyBertOnnx(weights: TinyBertWeights): Uint8Array {
  const cfg = weights.config;
  const h = cfg.hiddenSize;
  const heads = cfg.numAttentionHeads;
  const headDim = h / heads;
  const g = new GraphBuilder('tiny_bert');

  const inputIds = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
  const tokenTypeIds = g.input('token_type_ids', 'int64', ['batch_size', 'sequence_length']);

  const layerNorm = (x: string, ln: LayerNormWeights, prefix: string): string =>
    g.node(
      'LayerNormalization',
      [x, g.initializer(`${prefix}.weight`, tensor(ln.gamma, [h])), g.initializer(`${prefix}.bias`, tensor(ln.beta, [h]))],
      { axis: attr.int(-1), epsilon: attr.float(cfg.layerNormEps) },
    );
  const linear = (x: string, lin: LinearWeights, prefix: string): string => {
    const w = g.initializer(`${prefix}.weight`, tensor(lin.weight, [lin.inFeatures, lin.outFeatures]));
    const b = g.initializer(`${prefix}.bias`, tensor(lin.bias, [lin.outFeatures]));
    return g.node('Add', [g.node('MatMul', [x, w]), b]);
  };

  // Embeddings: word + position + token type, then LayerNorm.
  const wordTable = g.initializer('embeddings.word_embeddings.weight', tensor(weights.wordEmbeddings, [cfg.vocabSize, h]));
  const positionTable = g.initializer(
    'embeddings.position_embeddings.weight',
    tensor(weights.positionEmbeddings, [cfg.maxPositionEmbeddings, h]),
  );
  const typeTable = g.initializer(
    'embeddings.token_type_embeddings.weight',
    tensor(weights.tokenTypeEmbeddings, [cfg.typeVocabSize, h]),
  );
  const seqLen = g.node('Gather', [g.node('Shape', [inputIds]), g.constInt64(1)], { axis: attr.int(0) });
  const positionIds = g.node('Range', [g.constInt64(0), seqLen, g.constInt64(1)]);
  const summed = g.node('Add', [
    g.node('Add', [g.node('Gather', [wordTable, inputIds]), g.node('Gather', [positionTable, positionIds])]),
    g.node('Gather', [typeTable, tokenTypeIds]),
  ]);
  let hidden = layerNorm(summed, weights.embeddingLayerNorm, 'embeddings.LayerNorm');

  // Additive key mask [batch, 1, 1, seq]: 0 for real tokens, -1e4 for padding (HF BERT's classic value).
  const maskFloat = g.node('Cast', [attentionMask], { to: attr.int(1) });
  const maskBroadcast = g.node('Unsqueeze', [maskFloat, g.constInt64([1, 2])]);
  const additiveMask = g.node('Mul', [g.node('Sub', [g.constFloat(1), maskBroadcast]), g.constFloat(-10000)]);

  const splitHeadsShape = g.constInt64([0, 0, heads, headDim]);
  const mergeHeadsShape = g.constInt64([0, 0, h]);
  const scale = g.constFloat(1 / Math.sqrt(headDim));
  const sqrt2 = g.constFloat(Math.SQRT2);
  const one = g.constFloat(1);
  const half = g.constFloat(0.5);

  weights.layers.forEach((layer, l) => {
    const p = `encoder.layer.${l}`;
    const splitHeads = (x: string, perm: number[]): string =>
      g.node('Transpose', [g.node('Reshape', [x, splitHeadsShape])], { perm: attr.ints(perm) });
    const q = splitHeads(linear(hidden, layer.query, `${p}.attention.self.query`), [0, 2, 1, 3]);
    const kT = splitHeads(linear(hidden, layer.key, `${p}.attention.self.key`), [0, 2, 3, 1]);
    const v = splitHeads(linear(hidden, layer.value, `${p}.attention.self.value`), [0, 2, 1, 3]);
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [q, kT]), scale]), additiveMask]);
    const probs = g.node('Softmax', [scores], { axis: attr.int(-1) });
    const context = g.node('Reshape', [
      g.node('Transpose', [g.node('MatMul', [probs, v])], { perm: attr.ints([0, 2, 1, 3]) }),
      mergeHeadsShape,
    ]);
    const attended = linear(context, layer.attentionOutput, `${p}.attention.output.dense`);
    hidden = layerNorm(g.node('Add', [attended, hidden]), layer.attentionLayerNorm, `${p}.attention.output.LayerNorm`);

    const inner = linear(hidden, layer.intermediate, `${p}.intermediate.dense`);
    // Exact (erf) GELU as BERT uses: 0.5 * x * (1 + erf(x / sqrt(2))).
    const gelu = g.node('Mul', [
      g.node('Mul', [inner, g.node('Add', [g.node('Erf', [g.node('Div', [inner, sqrt2])]), one])]),
      half,
    ]);
    const out = linear(gelu, layer.output, `${p}.output.dense`);
    hidden = layerNorm(g.node('Add', [out, hidden]), layer.outputLayerNorm, `${p}.output.LayerNorm`);
  });

  g.rename(hidden, 'last_hidden_state');
  g.output('last_hidden_state', 'float32', ['batch_size', 'sequence_length', h]);
  return g.toBytes({ opset: 17 });
}

function tokenizerJson(vocab: readonly string[]): unknown {
  const id = (token: string): number => {
    const i = vocab.indexOf(token);
    if (i < 0) throw new Error(`vocabulary lacks ${token}`);
    return i;
  };
  const specialEntry = (token: string) => ({ id: token, ids: [id(token)], tokens: [token] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({
      id: id(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': specialEntry('[CLS]'), '[SEP]': specialEntry('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, i) => [token, i])),
    },
  };
}

function tokenizerConfigJson(vocab: readonly string[], maxLength: number): unknown {
  const addedTokensDecoder: Record<string, unknown> = {};
  for (const content of SPECIAL_TOKENS) {
    addedTokensDecoder[String(vocab.indexOf(content))] = {
      content,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  }
  return {
    added_tokens_decoder: addedTokensDecoder,
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: '[MASK]',
    model_max_length: maxLength,
    never_split: null,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  };
}

function configJson(cfg: TinyBertConfig): unknown {
  return {
    architectures: ['BertModel'],
    attention_probs_dropout_prob: 0.1,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: cfg.hiddenSize,
    initializer_range: cfg.initializerRange,
    intermediate_size: cfg.intermediateSize,
    layer_norm_eps: cfg.layerNormEps,
    max_position_embeddings: cfg.maxPositionEmbeddings,
    model_type: 'bert',
    num_attention_heads: cfg.numAttentionHeads,
    num_hidden_layers: cfg.numHiddenLayers,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    type_vocab_size: cfg.typeVocabSize,
    vocab_size: cfg.vocabSize,
  };
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

export async function writeTinyBert(dir: string, opts: WriteTinyBertOptions = {}): Promise<void> {
  const weights = tinyBertWeights(opts.seed ?? 0, opts.config);
  const pooling = opts.pooling ?? 'mean';
  const cfg = weights.config;
  if (weights.vocab.indexOf('[PAD]') !== 0) throw new Error('[PAD] must have id 0 (pad_token_id)');

  await mkdir(join(dir, 'onnx'), { recursive: true });
  await mkdir(join(dir, '1_Pooling'), { recursive: true });
  // sentence-transformers saves Normalize as an empty folder; keep the layout identical.
  await mkdir(join(dir, '2_Normalize'), { recursive: true });

  const files: Array<[string, string | Uint8Array]> = [
    ['config.json', json(configJson(cfg))],
    ['tokenizer.json', json(tokenizerJson(weights.vocab))],
    ['tokenizer_config.json', json(tokenizerConfigJson(weights.vocab, cfg.maxPositionEmbeddings))],
    [
      'special_tokens_map.json',
      json({ cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' }),
    ],
    ['vocab.txt', `${weights.vocab.join('\n')}\n`],
    [
      'modules.json',
      json([
        { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
        { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
        { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
      ]),
    ],
    [
      join('1_Pooling', 'config.json'),
      json({
        word_embedding_dimension: cfg.hiddenSize,
        pooling_mode_cls_token: pooling === 'cls',
        pooling_mode_mean_tokens: pooling === 'mean',
        pooling_mode_max_tokens: false,
        pooling_mode_mean_sqrt_len_tokens: false,
        pooling_mode_weightedmean_tokens: false,
        pooling_mode_lasttoken: false,
        include_prompt: true,
      }),
    ],
    ['sentence_bert_config.json', json({ max_seq_length: cfg.maxPositionEmbeddings, do_lower_case: false })],
    [
      'config_sentence_transformers.json',
      json({ prompts: {}, default_prompt_name: null, similarity_fn_name: 'cosine' }),
    ],
    [join('onnx', 'model.onnx'), tinyBertOnnx(weights)],
  ];
  for (const [name, data] of files) await writeFile(join(dir, name), data);
}

function parseArgs(argv: readonly string[]): { dir: string; seed: number; pooling: TinyBertPooling } {
  let dir: string | undefined;
  let seed = 0;
  let pooling: TinyBertPooling = 'mean';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--seed') {
      seed = Number(argv[++i]);
      if (!Number.isInteger(seed)) throw new Error('--seed needs an integer');
    } else if (arg === '--pooling') {
      const value = argv[++i];
      if (value !== 'mean' && value !== 'cls') throw new Error('--pooling must be mean or cls');
      pooling = value;
    } else if (!arg.startsWith('--') && dir === undefined) {
      dir = arg;
    } else {
      throw new Error(`unexpected argument ${arg}`);
    }
  }
  if (dir === undefined) throw new Error('usage: make-tiny-bert.ts <outDir> [--seed N] [--pooling mean|cls]');
  return { dir, seed, pooling };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const { dir, seed, pooling } = parseArgs(process.argv.slice(2));
    await writeTinyBert(dir, { seed, pooling });
    console.log(`wrote tiny BERT (seed ${seed}, ${pooling} pooling) to ${dir}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
