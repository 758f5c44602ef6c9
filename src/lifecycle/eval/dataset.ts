/**
 * Evaluation sets in the BEIR layout: a folder with `queries.jsonl` ({"_id", "text"} per line)
 * and relevance judgements in `qrels.tsv` or `qrels/test.tsv` (query-id, corpus-id, score; a
 * header line is allowed). `corpus.jsonl` is not read: the collection is expected to hold the
 * corpus already, under the BEIR `_id`s (as `sextant index` stores them).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { InvalidInputError } from '../../errors.ts';

export interface EvalQuery {
  readonly id: string;
  readonly text: string;
  /** Document id -> graded relevance, only grades > 0. */
  readonly relevant: ReadonlyMap<string, number>;
}

export interface EvalDataset {
  /** Absolute path of the folder. */
  readonly dir: string;
  readonly name: string;
  /** Queries that have at least one relevant document, in the file's order. */
  readonly queries: readonly EvalQuery[];
  /** Queries in queries.jsonl without any judgement > 0 (not evaluated). */
  readonly unjudged: number;
}

const QRELS_CANDIDATES = ['qrels.tsv', join('qrels', 'test.tsv')];

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Reads and validates a BEIR folder; every problem is an InvalidInputError naming the file and line. */
export function readEvalDataset(path: string): EvalDataset {
  if (typeof path !== 'string' || path.trim() === '') throw new InvalidInputError('dataset path is empty');
  const dir = resolve(path);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new InvalidInputError(`dataset folder ${dir} does not exist`);
  }
  if (!isDir) throw new InvalidInputError(`dataset ${dir} is not a folder (expected a BEIR folder with queries.jsonl and qrels.tsv)`);
  const queriesPath = join(dir, 'queries.jsonl');
  if (!isFile(queriesPath)) throw new InvalidInputError(`dataset ${dir} has no queries.jsonl (expected the BEIR layout)`);
  const qrelsPath = QRELS_CANDIDATES.map((p) => join(dir, p)).find(isFile);
  if (!qrelsPath) throw new InvalidInputError(`dataset ${dir} has no qrels.tsv or qrels/test.tsv (expected the BEIR layout)`);

  const qrels = new Map<string, Map<string, number>>();
  // One pattern for the header test and the lines: a first line with a decimal grade is data.
  const SCORE = /^-?\d+(\.\d+)?$/;
  readText(qrelsPath)
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (!line) return;
      const cells = line.split(/\t|\s+/);
      if (i === 0 && !SCORE.test(cells[2] ?? '')) return; // header: query-id corpus-id score
      const [q, d, s] = cells;
      if (!q || !d || s === undefined || !SCORE.test(s)) {
        throw new InvalidInputError(`${qrelsPath} line ${i + 1}: expected "query-id<TAB>corpus-id<TAB>score"`);
      }
      const grade = Number(s);
      if (grade <= 0) return;
      let judged = qrels.get(q);
      if (!judged) qrels.set(q, (judged = new Map()));
      judged.set(d, grade);
    });

  const queries: EvalQuery[] = [];
  const seen = new Set<string>();
  let unjudged = 0;
  readText(queriesPath)
    .split('\n')
    .forEach((raw, i) => {
      if (!raw.trim()) return;
      let row: unknown;
      try {
        row = JSON.parse(raw);
      } catch (err) {
        throw new InvalidInputError(`${queriesPath} line ${i + 1} is not valid JSON: ${(err as Error).message}`);
      }
      const { _id, text } = (row ?? {}) as { _id?: unknown; text?: unknown };
      if ((typeof _id !== 'string' && typeof _id !== 'number') || typeof text !== 'string') {
        throw new InvalidInputError(`${queriesPath} line ${i + 1}: expected {"_id": ..., "text": "..."}`);
      }
      const id = String(_id);
      if (seen.has(id)) throw new InvalidInputError(`${queriesPath} line ${i + 1}: query id '${id}' appears more than once`);
      seen.add(id);
      const relevant = qrels.get(id);
      if (!relevant || text.trim() === '') {
        unjudged++;
        return;
      }
      queries.push({ id, text, relevant });
    });
  if (queries.length === 0) throw new InvalidInputError(`dataset ${dir}: no query in queries.jsonl has a relevance judgement > 0 in ${basename(qrelsPath)}`);
  return { dir, name: basename(dir), queries, unjudged };
}
