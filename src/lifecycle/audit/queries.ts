/**
 * The query set of an audit: texts (from a request, or a file of one query per line) or a BEIR
 * folder (its judged queries, with their relevance judgements; src/lifecycle/eval/dataset.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidInputError } from '../../errors.ts';
import { readEvalDataset, type EvalDataset } from '../eval/dataset.ts';

export interface AuditQuery {
  readonly text: string;
  /** Document id -> grade > 0; absent without judgements. */
  readonly relevant?: ReadonlyMap<string, number>;
}

export interface AuditQuerySet {
  readonly queries: readonly AuditQuery[];
  /** The BEIR folder the queries and judgements came from; null for plain texts. */
  readonly dataset: EvalDataset | null;
}

/** What a caller names: query texts, or a BEIR folder (a path, or a dataset already read). */
export type AuditQuerySource = { readonly queries: readonly string[] } | { readonly dataset: string | EvalDataset };

export function querySetOf(source: AuditQuerySource): AuditQuerySet {
  if ('queries' in source) {
    if (source.queries.length === 0) throw new InvalidInputError('the query set is empty: give at least one query');
    source.queries.forEach((q, i) => {
      if (typeof q !== 'string' || q.trim() === '') throw new InvalidInputError(`query ${i} is empty`);
    });
    return { queries: source.queries.map((text) => ({ text })), dataset: null };
  }
  const dataset = typeof source.dataset === 'string' ? readEvalDataset(source.dataset) : source.dataset;
  return { queries: dataset.queries.map((q) => ({ text: q.text, relevant: q.relevant })), dataset };
}

/**
 * Query texts from a file: one per line; a line holding a JSON object with a string `text`
 * (a BEIR queries.jsonl line) or a JSON string gives that text. Blank lines are skipped; a file
 * without any query is an error.
 */
export function readQueryFile(path: string): string[] {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`cannot read queries file ${resolve(path)}: ${(err as Error).message}`);
  }
  const out: string[] = [];
  for (const line of raw.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    let text = trimmed;
    if (trimmed.startsWith('{') || trimmed.startsWith('"')) {
      try {
        const parsed: unknown = JSON.parse(trimmed);
        if (typeof parsed === 'string') text = parsed;
        else if (parsed && typeof parsed === 'object' && typeof (parsed as { text?: unknown }).text === 'string') text = (parsed as { text: string }).text;
      } catch {
        // Not JSON: the line is the query.
      }
    }
    if (text.trim()) out.push(text);
  }
  if (out.length === 0) throw new InvalidInputError(`queries file ${resolve(path)} holds no query`);
  return out;
}

/** Whether `path` is a folder (a BEIR dataset) rather than a file of queries. */
export function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
