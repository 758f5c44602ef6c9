// Tests src/lifecycle/eval/dataset.ts: readEvalDataset, the BEIR folder reader (queries.jsonl + qrels.tsv or qrels/test.tsv).
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../../src/errors.ts';
import { readEvalDataset } from '../../../../src/lifecycle/eval/dataset.ts';
import { QUERIES, UNJUDGED_QUERY, qrelsRows, relevantOf, writeBeir, writeMainDataset } from '../../../helpers/eval-fixture.ts';

let root: string;
let n = 0;
/** A new, empty folder under root. */
function folder(): string {
  const dir = join(root, `ds-${++n}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
/** A folder holding exactly these files (relative path -> content). */
function withFiles(files: Record<string, string>): string {
  const dir = folder();
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}
function invalid(fn: () => unknown, message: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(InvalidInputError);
  expect((thrown as InvalidInputError).code).toBe('invalid_input');
  expect((thrown as Error).message).toMatch(message);
}

const Q = '{"_id": "q1", "text": "river water"}\n{"_id": "q2", "text": "music song"}\n';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sextant-eval-dataset-'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('readEvalDataset', () => {
  it('reads a BEIR folder: judged queries in file order with their positive grades, unjudged ones counted, name and absolute dir', () => {
    const dir = writeMainDataset(join(root, 'main-set'));
    const ds = readEvalDataset(dir);
    expect(ds.dir).toBe(dir);
    expect(ds.name).toBe('main-set');
    expect(ds.unjudged).toBe(1);
    expect(ds.queries.map((q) => q.id)).toEqual(QUERIES.map((q) => q.id));
    ds.queries.forEach((q, i) => {
      expect(q.text).toBe(QUERIES[i]!.text);
      expect(q.relevant).toEqual(relevantOf(QUERIES[i]!)); // the grade-0 judgement is left out
    });
    expect(ds.queries.some((q) => q.id === UNJUDGED_QUERY.id)).toBe(false);
  });

  it('resolves a relative path to an absolute dir', () => {
    const dir = writeMainDataset(join(root, 'relative-set'));
    const ds = readEvalDataset(relative(process.cwd(), dir));
    expect(ds.dir).toBe(dir);
  });

  it('reads qrels/test.tsv when there is no qrels.tsv, and prefers qrels.tsv when both exist', () => {
    const nested = writeBeir(folder(), { queries: QUERIES, qrels: qrelsRows(QUERIES), qrelsFile: join('qrels', 'test.tsv') });
    expect(readEvalDataset(nested).queries).toHaveLength(QUERIES.length);
    const both = withFiles({ 'queries.jsonl': Q, 'qrels.tsv': 'q1\td1\t1\n', 'qrels/test.tsv': 'q1\td1\t1\nq2\td2\t1\n' });
    expect(readEvalDataset(both).queries.map((q) => q.id)).toEqual(['q1']);
  });

  it('accepts qrels without a header, separated by spaces, with blank lines and CRLF, graded and decimal scores', () => {
    const dir = withFiles({
      'queries.jsonl': '\n{"_id": "q1", "text": "river water"}\r\n\r\n{"_id": 2, "text": "music song"}\r\n',
      'qrels.tsv': 'q1 d1 2\r\n\r\nq1\td2\t1\nq1  d3   0\n2\td4\t1.5\nq1\td5\t-1\n',
    });
    const ds = readEvalDataset(dir);
    expect(ds.queries.map((q) => [q.id, q.text, [...q.relevant]])).toEqual([
      ['q1', 'river water', [['d1', 2], ['d2', 1]]],
      ['2', 'music song', [['d4', 1.5]]], // a numeric _id becomes its string
    ]);
    expect(ds.unjudged).toBe(0);
  });

  it('a first line with a decimal grade is a judgement, not a header', () => {
    const dir = withFiles({ 'queries.jsonl': Q, 'qrels.tsv': 'q1\td1\t1.5\nq1\td2\t1\n' });
    expect([...readEvalDataset(dir).queries[0]!.relevant]).toEqual([['d1', 1.5], ['d2', 1]]);
    const alone = withFiles({ 'queries.jsonl': Q, 'qrels.tsv': 'q1\td1\t0.5\n' });
    expect([...readEvalDataset(alone).queries[0]!.relevant]).toEqual([['d1', 0.5]]);
  });

  it('a later judgement of the same pair replaces the earlier one', () => {
    const dir = withFiles({ 'queries.jsonl': Q, 'qrels.tsv': 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1\t3\n' });
    expect([...readEvalDataset(dir).queries[0]!.relevant]).toEqual([['d1', 3]]);
  });

  it('counts queries with only zero grades, without judgements or with blank text as unjudged', () => {
    const dir = withFiles({
      'queries.jsonl': '{"_id": "q1", "text": "river"}\n{"_id": "q2", "text": "music"}\n{"_id": "q3", "text": "   "}\n{"_id": "q4", "text": "sun"}\n',
      'qrels.tsv': 'q1\td1\t1\nq2\td2\t0\nq3\td3\t1\n',
    });
    const ds = readEvalDataset(dir);
    expect(ds.queries.map((q) => q.id)).toEqual(['q1']);
    expect(ds.unjudged).toBe(3);
  });

  it('refuses an empty path, a missing folder and a file', () => {
    invalid(() => readEvalDataset(''), /dataset path is empty/);
    invalid(() => readEvalDataset('   '), /dataset path is empty/);
    invalid(() => readEvalDataset(join(root, 'nope')), /dataset folder .*nope does not exist/);
    const dir = withFiles({ 'queries.jsonl': Q });
    invalid(() => readEvalDataset(join(dir, 'queries.jsonl')), /is not a folder/);
  });

  it('refuses a folder without queries.jsonl or without qrels', () => {
    invalid(() => readEvalDataset(withFiles({ 'qrels.tsv': 'q1\td1\t1\n' })), /has no queries\.jsonl/);
    invalid(() => readEvalDataset(withFiles({ 'queries.jsonl': Q })), /has no qrels\.tsv or qrels\/test\.tsv/);
    // A folder named qrels.tsv is not a qrels file.
    const dir = withFiles({ 'queries.jsonl': Q });
    mkdirSync(join(dir, 'qrels.tsv'));
    invalid(() => readEvalDataset(dir), /has no qrels\.tsv/);
  });

  it('refuses malformed qrels lines, naming the file and line', () => {
    invalid(() => readEvalDataset(withFiles({ 'queries.jsonl': Q, 'qrels.tsv': 'q1\td1\t1\nq1\td2\n' })), /qrels\.tsv line 2: expected "query-id<TAB>corpus-id<TAB>score"/);
    invalid(() => readEvalDataset(withFiles({ 'queries.jsonl': Q, 'qrels.tsv': 'q-id\td-id\tscore\nq1\td2\thigh\n' })), /qrels\.tsv line 2/);
    invalid(() => readEvalDataset(withFiles({ 'queries.jsonl': Q, 'qrels.tsv': '\nq1\n' })), /qrels\.tsv line 2/);
  });

  it('refuses malformed queries lines, naming the file and line', () => {
    const qrels = 'q1\td1\t1\n';
    invalid(() => readEvalDataset(withFiles({ 'queries.jsonl': '{"_id": "q1", "text": "a"}\n{not json\n', 'qrels.tsv': qrels })), /queries\.jsonl line 2 is not valid JSON/);
    invalid(() => readEvalDataset(withFiles({ 'queries.jsonl': '{"_id": "q1"}\n', 'qrels.tsv': qrels })), /queries\.jsonl line 1: expected \{"_id": \.\.\., "text": "\.\.\."\}/);
    invalid(() => readEvalDataset(withFiles({ 'queries.jsonl': '{"_id": true, "text": "a"}\n', 'qrels.tsv': qrels })), /queries\.jsonl line 1: expected/);
    invalid(() => readEvalDataset(withFiles({ 'queries.jsonl': 'null\n', 'qrels.tsv': qrels })), /queries\.jsonl line 1: expected/);
    invalid(
      () => readEvalDataset(withFiles({ 'queries.jsonl': '{"_id": "q1", "text": "a"}\n\n{"_id": "q1", "text": "b"}\n', 'qrels.tsv': qrels })),
      /queries\.jsonl line 3: query id 'q1' appears more than once/,
    );
  });

  it('refuses a set in which no query has a positive judgement', () => {
    invalid(() => readEvalDataset(withFiles({ 'queries.jsonl': Q, 'qrels.tsv': 'q1\td1\t0\nq9\td1\t1\n' })), /no query in queries\.jsonl has a relevance judgement > 0 in qrels\.tsv/);
  });
});
