/**
 * Hugging Face `tokenizer.json` / `tokenizer_config.json` for the USE Lite vocabulary.
 *
 * These files exist for interoperability: they let the exported model folder be opened by
 * `tokenizers` (Rust/Python) and transformers.js, and they carry the vocabulary that Sextant's own
 * tokenizer reads back (`model.vocab`, in id order, duplicates included).
 *
 * Hugging Face's Unigram model is *not* the reference USE tokenizer and agrees with it on only
 * about 99% of texts. It breaks Viterbi ties towards the earlier candidate (the reference: the
 * later one), treats a zero running score as a real score (the reference: as "unset"), scores an
 * unknown character at min(score) - 10 and inserts it wherever no single-character piece matches
 * (the reference: score 0, only where no piece at all matches), counts code points rather than
 * UTF-16 code units, and turns the literal text of a reserved piece ("<s>") into its id (the
 * reference spells it out with ordinary pieces). The service therefore always encodes with
 * `SentencePieceUnigramTokenizer`, which reproduces the reference exactly; never use these files
 * to produce ids for the USE Lite model itself.
 */
import type { VocabularyEntry } from '../../tokenizers/sentencepiece-unigram.ts';

const WORD_BOUNDARY = '\u2581';

export interface HfAddedToken {
  readonly id: number;
  readonly content: string;
  readonly single_word: boolean;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  readonly normalized: boolean;
  readonly special: boolean;
}

export type HfNormalizer =
  | { readonly type: 'NFKC' }
  | { readonly type: 'Prepend'; readonly prepend: string }
  | { readonly type: 'Replace'; readonly pattern: { readonly String: string }; readonly content: string };

export interface HfTokenizerJson {
  readonly version: '1.0';
  readonly truncation: null;
  readonly padding: null;
  readonly added_tokens: readonly HfAddedToken[];
  readonly normalizer: { readonly type: 'Sequence'; readonly normalizers: readonly HfNormalizer[] };
  readonly pre_tokenizer: null;
  readonly post_processor: null;
  readonly decoder: {
    readonly type: 'Metaspace';
    readonly replacement: string;
    readonly prepend_scheme: 'always';
    readonly split: false;
  };
  readonly model: {
    readonly type: 'Unigram';
    readonly unk_id: 0;
    readonly vocab: ReadonlyArray<readonly [string, number]>;
    readonly byte_fallback: false;
  };
}

export interface HfTokenizerConfigJson {
  readonly tokenizer_class: 'PreTrainedTokenizerFast';
  readonly model_max_length: number;
  readonly unk_token: string;
  readonly clean_up_tokenization_spaces: false;
}

/**
 * @param pieces USE's `vocab.json`: `[piece, score]` pairs in id order.
 * @param reservedCount leading pieces the reference never matches in text (unk, `<s>`, `</s>`,
 *   extra ids); they become special added tokens.
 */
export function buildTokenizerJson(pieces: ReadonlyArray<VocabularyEntry>, reservedCount = 6): HfTokenizerJson {
  if (pieces.length === 0) throw new Error('vocabulary is empty');
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: pieces.slice(0, reservedCount).map(([content], id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    // The reference's preprocessing is NFKC, then '\u2581' prepended to any non-empty text, then
    // every U+0020 replaced by '\u2581'. A Metaspace *pre-tokenizer* cannot say that: both the
    // tokenizers library and transformers.js skip its prepend when the text already starts with
    // '\u2581', so " leading space" loses a token (measured: 282/288 parity texts agree with
    // Metaspace, 285/288 with this). The Prepend + Replace normalizers (the shape Llama 2's
    // tokenizer.json uses; Prepend skips empty text, like the reference) reproduce it exactly.
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFKC' },
        { type: 'Prepend', prepend: WORD_BOUNDARY },
        { type: 'Replace', pattern: { String: ' ' }, content: WORD_BOUNDARY },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    // Decoding: '\u2581' back to spaces, dropping the one marker the normalizer prepended.
    decoder: { type: 'Metaspace', replacement: WORD_BOUNDARY, prepend_scheme: 'always', split: false },
    model: {
      type: 'Unigram',
      unk_id: 0,
      // USE's vocab.json has `null` scores for a few pieces containing ':'. The reference adds
      // them as `null + x`, i.e. as 0, and the tokenizers library requires numbers, so write 0.
      vocab: pieces.map(([piece, score]) => [piece, score ?? 0] as const),
      byte_fallback: false,
    },
  };
}

export function buildTokenizerConfigJson(): HfTokenizerConfigJson {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: 128,
    unk_token: '\uFFFD',
    clean_up_tokenization_spaces: false,
  };
}
