/**
 * One tokenizer interface for the engine, two implementations chosen by the manifest:
 * our exact USE-Lite SentencePiece port, or @huggingface/transformers for HF folders.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { ModelLoadError } from '../errors.ts';
import type { Manifest } from '../models/manifest.ts';
import { SentencePieceUnigramTokenizer } from '../tokenizers/sentencepiece-unigram.ts';

export interface Tokenized {
  /** Token ids as the model consumes them (special tokens included), at most maxTokens long. */
  readonly ids: readonly number[];
  readonly truncated: boolean;
}

export interface TextTokenizer {
  encode(text: string): Tokenized;
  /** Share of ids that are the unknown token (drift signal); undefined when the vocabulary has none. */
  readonly unknownId: number | undefined;
}

const unigramTokenizerJsonSchema = z.object({
  model: z.object({ type: z.literal('Unigram'), vocab: z.array(z.tuple([z.string(), z.number()])) }),
});

class UseSentencePieceTokenizer implements TextTokenizer {
  readonly unknownId = 0;
  constructor(
    private readonly inner: SentencePieceUnigramTokenizer,
    private readonly maxTokens: number,
  ) {}

  encode(text: string): Tokenized {
    const ids = this.inner.encode(text);
    // The reference graph drops positions >= 128, so keeping the first maxTokens ids is the same function.
    return ids.length > this.maxTokens ? { ids: ids.slice(0, this.maxTokens), truncated: true } : { ids, truncated: false };
  }
}

/** Subset of transformers.js' tokenizer we use; typed here so the rest of the code stays `any`-free. */
interface HfTokenizerLike {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  readonly unk_token_id?: number | null;
}

class HuggingFaceTokenizer implements TextTokenizer {
  readonly unknownId: number | undefined;
  constructor(
    private readonly inner: HfTokenizerLike,
    private readonly maxTokens: number,
  ) {
    this.unknownId = inner.unk_token_id ?? undefined;
  }

  encode(text: string): Tokenized {
    const full = this.inner.encode(text);
    if (full.length <= this.maxTokens) return { ids: full, truncated: false };
    // transformers.js truncation cuts the end token off; sentence-transformers (what these models
    // were trained with) truncates the content and keeps the special tokens around it. Do the latter.
    const content = this.inner.encode(text, { add_special_tokens: false });
    const specials = full.length - content.length;
    let prefix = 0;
    while (prefix < specials && full[prefix] !== content[0]) prefix += 1;
    const suffix = specials - prefix;
    const kept = content.slice(0, Math.max(1, this.maxTokens - specials));
    return { ids: [...full.slice(0, prefix), ...kept, ...full.slice(full.length - suffix)], truncated: true };
  }
}

// transformers.js reads local models through a process-wide `env`; loads are serialised so two
// folders loading at once cannot see each other's path.
let hfLoadQueue: Promise<unknown> = Promise.resolve();

async function loadHuggingFaceTokenizer(dir: string): Promise<HfTokenizerLike> {
  const load = async (): Promise<HfTokenizerLike> => {
    const { AutoTokenizer, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = `${dirname(dir)}/`;
    const tokenizer = await AutoTokenizer.from_pretrained(basename(dir));
    return tokenizer as unknown as HfTokenizerLike;
  };
  const next = hfLoadQueue.then(load, load);
  hfLoadQueue = next.catch(() => undefined);
  return next;
}

export async function loadTokenizer(dir: string, manifest: Manifest): Promise<TextTokenizer> {
  try {
    if (manifest.tokenizer.kind === 'use-sentencepiece') {
      const json = unigramTokenizerJsonSchema.parse(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')));
      return new UseSentencePieceTokenizer(SentencePieceUnigramTokenizer.fromPieces(json.model.vocab), manifest.maxTokens);
    }
    return new HuggingFaceTokenizer(await loadHuggingFaceTokenizer(dir), manifest.maxTokens);
  } catch (err) {
    throw new ModelLoadError(`cannot load the tokenizer of ${manifest.name}@${manifest.version}: ${(err as Error).message}`);
  }
}
