/** Reads a BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels.tsv). */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface BeirDoc {
  _id: string;
  title: string;
  text: string;
}
export interface BeirQuery {
  _id: string;
  text: string;
}

export const SHARED_DATASETS = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'datasets');

export function datasetDir(name: string): string | undefined {
  const dir = join(SHARED_DATASETS, name);
  return existsSync(join(dir, 'corpus.jsonl')) ? dir : undefined;
}

function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

export function readCorpus(dir: string): BeirDoc[] {
  return readJsonl<BeirDoc>(join(dir, 'corpus.jsonl'));
}

export function readQueries(dir: string): BeirQuery[] {
  return readJsonl<BeirQuery>(join(dir, 'queries.jsonl'));
}

/** A corpus document as the service indexes it. */
export interface CorpusDocument {
  id: string;
  title: string | null;
  text: string;
}

/** The corpus as the service indexes it: empty documents dropped, a title-only document's title is its text. */
export function corpusDocuments(corpus: readonly BeirDoc[]): CorpusDocument[] {
  return corpus
    .filter((d) => d.text.trim() || d.title.trim())
    .map((d) => (d.text.trim() ? { id: d._id, title: d.title.trim() || null, text: d.text } : { id: d._id, title: null, text: d.title }));
}

/** Title and text joined the way we index them; empty documents dropped by callers as needed. */
export function docText(d: BeirDoc): string {
  return [d.title, d.text].filter((s) => s && s.trim()).join('\n');
}

/** qrels: query id -> doc id -> graded relevance (> 0 relevant). */
export function readQrels(dir: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  const lines = readFileSync(join(dir, 'qrels.tsv'), 'utf8').split('\n');
  for (const line of lines) {
    const [q, d, s] = line.trim().split(/\s+/);
    if (!q || !d || s === undefined || !/^-?\d+$/.test(s) || q === 'query-id') continue;
    const score = Number(s);
    if (score <= 0) continue;
    if (!out.has(q)) out.set(q, new Map());
    out.get(q)!.set(d, score);
  }
  return out;
}
