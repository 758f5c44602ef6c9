// Tests src/lifecycle/audit/queries.ts: query files, query sets from texts or a BEIR folder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../../src/errors.ts';
import { isFolder, querySetOf, readQueryFile } from '../../../../src/lifecycle/audit/queries.ts';

const dir = mkdtempSync(join(tmpdir(), 'sextant-audit-queries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('readQueryFile', () => {
  it('reads one query per line, BEIR queries.jsonl lines and JSON strings; skips blank lines', () => {
    const path = file('q.txt', 'boundary layer\n\n{"_id": "1", "text": "library catalogues"}\n"quoted query"\n{not json}\n');
    expect(readQueryFile(path)).toEqual(['boundary layer', 'library catalogues', 'quoted query', '{not json}']);
  });

  it('refuses an empty file and a missing one', () => {
    expect(() => readQueryFile(file('empty.txt', '\n  \n'))).toThrow(/holds no query/);
    expect(() => readQueryFile(join(dir, 'nope.txt'))).toThrow(InvalidInputError);
  });
});

describe('querySetOf', () => {
  it('texts: no judgements', () => {
    expect(querySetOf({ queries: ['a', 'b'] })).toEqual({ queries: [{ text: 'a' }, { text: 'b' }], dataset: null });
  });

  it('refuses an empty set and blank texts', () => {
    expect(() => querySetOf({ queries: [] })).toThrow(/query set is empty/);
    expect(() => querySetOf({ queries: ['a', ' '] })).toThrow(/query 1 is empty/);
  });

  it('a BEIR folder: its judged queries with their judgements', () => {
    const beir = join(dir, 'beir');
    mkdirSync(beir);
    writeFileSync(join(beir, 'queries.jsonl'), '{"_id": "1", "text": "one"}\n{"_id": "2", "text": "two"}\n');
    writeFileSync(join(beir, 'qrels.tsv'), 'query-id\tcorpus-id\tscore\n1\td1\t2\n2\td2\t0\n');
    const set = querySetOf({ dataset: beir });
    expect(set.dataset?.dir).toBe(beir);
    expect(set.queries).toEqual([{ text: 'one', relevant: new Map([['d1', 2]]) }]);
    expect(isFolder(beir)).toBe(true);
    expect(isFolder(join(beir, 'qrels.tsv'))).toBe(false);
  });
});
