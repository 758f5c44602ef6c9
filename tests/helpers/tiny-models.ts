/** Tiny generated BERT model versions (scripts/make-tiny-bert.ts) imported into a models dir: real models, no USE-Lite conversion. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyBert, type TinyBertConfig, type TinyBertPooling } from '../../scripts/make-tiny-bert.ts';
import { importHuggingFaceFolder } from '../../src/models/hf-import.ts';
import type { ModelRegistry, ModelVersion } from '../../src/models/registry.ts';

export interface TinyBertSpec {
  readonly name: string;
  /** Default: the next integer version of `name`. */
  readonly version?: string;
  readonly seed: number;
  readonly pooling?: TinyBertPooling;
  readonly config?: Partial<TinyBertConfig>;
}

/** Generates a tiny BERT sentence-transformers folder and imports it as a version of `registry`. */
export async function importTinyBert(registry: ModelRegistry, spec: TinyBertSpec): Promise<ModelVersion> {
  const src = await mkdtemp(join(tmpdir(), 'sextant-tiny-bert-'));
  try {
    await writeTinyBert(src, { seed: spec.seed, pooling: spec.pooling, config: spec.config });
    return await importHuggingFaceFolder(registry, src, { name: spec.name, ...(spec.version !== undefined ? { version: spec.version } : {}) });
  } finally {
    await rm(src, { recursive: true, force: true });
  }
}

/** Ten topics of words in the tiny BERT's vocabulary (scripts/make-tiny-bert.ts), for synthetic collections. */
export const TINY_TOPICS: readonly (readonly string[])[] = [
  ['river', 'water', 'sea', 'rain', 'cold', 'mountain'],
  ['music', 'song', 'play', 'hear', 'game', 'friend'],
  ['computer', 'machine', 'learning', 'language', 'model', 'vector'],
  ['food', 'eat', 'plant', 'tree', 'grow', 'green'],
  ['mother', 'father', 'family', 'children', 'home', 'young'],
  ['city', 'country', 'land', 'state', 'school', 'people'],
  ['sun', 'moon', 'star', 'light', 'night', 'earth'],
  ['dog', 'cat', 'animal', 'house', 'run', 'white'],
  ['book', 'read', 'letter', 'story', 'page', 'write'],
  ['car', 'fast', 'slow', 'money', 'phone', 'red'],
];
