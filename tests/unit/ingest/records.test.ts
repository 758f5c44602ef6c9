// Unit: the file readers of streaming ingest (src/ingest/records.ts), on real files.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRecords, readRecords } from '../../../src/ingest/records.ts';
import type { DocumentInput } from '../../../src/search/documents.ts';
import { writeBigJsonl } from '../../helpers/big-jsonl.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
const CRANFIELD = resolve(REPO_ROOT, '..', 'shared', 'datasets', 'cranfield', 'corpus.jsonl');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sextant-ingest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileNo = 0;
async function file(ext: string, content: string | Buffer): Promise<string> {
  const path = join(dir, `f${fileNo++}.${ext}`);
  await writeFile(path, content);
  return path;
}

async function collect(path: string, fields = { text: 'text' } as Parameters<typeof openRecords>[1]): Promise<DocumentInput[]> {
  const docs: DocumentInput[] = [];
  for await (const d of await openRecords(path, fields)) docs.push(d);
  return docs;
}

describe('CSV records', () => {
  it('reads a file starting with a UTF-8 byte-order mark: the first column name is clean', async () => {
    const path = await file('csv', '\uFEFFlang,id,text\nen,d1,Heat transfer in boundary layers\nfr,d2,Transfert de chaleur\n');
    const docs = await collect(path);
    expect(docs).toEqual([
      { id: 'd1', text: 'Heat transfer in boundary layers', title: null, metadata: { lang: 'en' } },
      { id: 'd2', text: 'Transfert de chaleur', title: null, metadata: { lang: 'fr' } },
    ]);
  });

  it('keeps quoted fields with commas, newlines and escaped quotes, with CRLF rows', async () => {
    const path = await file(
      'csv',
      'doc,body,heading,year\r\n' +
        'a1,"Flutter of thin wings, at ""supersonic"" speed",Wings,1961\r\n' +
        'a2,"Subject catalogues and\nclassification, in libraries",,1975\r\n' +
        '\r\n' +
        'a3,,,1958\r\n' +
        'a4,,"Only a title",\r\n',
    );
    const records = await openRecords(path, { id: 'doc', text: 'body', title: 'heading' });
    const docs: DocumentInput[] = [];
    for await (const d of records) docs.push(d);
    expect(docs).toEqual([
      { id: 'a1', text: 'Flutter of thin wings, at "supersonic" speed', title: 'Wings', metadata: { year: '1961' } },
      { id: 'a2', text: 'Subject catalogues and\nclassification, in libraries', title: null, metadata: { year: '1975' } },
      // Neither text nor title: skipped (a3). A title alone becomes the text (a4); values stay strings, '' included.
      { id: 'a4', text: 'Only a title', title: null, metadata: { year: '' } },
    ]);
    expect(records.skippedEmpty).toBe(1);
    expect(records.documents).toBe(3);
    expect(records.bytesRead).toBe(records.totalBytes);
  });

  it('rejects a malformed quote, naming the line', async () => {
    const stray = await file('csv', 'id,text\nd1,fine\nd2,"a "quoted" word"\nd3,after\n');
    await expect(collect(stray)).rejects.toThrow(/f\d+\.csv line 3: Invalid Closing Quote/);
    const opening = await file('csv', 'id,text\nd1,fine\nd2,a"b\n');
    await expect(collect(opening)).rejects.toThrow(/line 3: Invalid Opening Quote/);
    const unclosed = await file('csv', 'id,text\nd1,fine\nd2,"never closed\nd3,more\nd4,rows\n');
    await expect(collect(unclosed)).rejects.toThrow(/line 3: a quoted field opened in the row starting here is never closed/);
  });

  it('rejects a row with a different number of columns, naming the line', async () => {
    const path = await file('csv', 'id,text\nd1,fine\nd2,one,two\n');
    await expect(collect(path)).rejects.toThrow(/line 3: Invalid Record Length: expect 2, got 3/);
  });

  it('names the row of a missing id, and an empty file', async () => {
    const noId = await file('csv', 'key,text\nk1,hello\n');
    await expect(collect(noId)).rejects.toThrow(/row 2: field 'id' is missing \(use --id-field\)/);
    const empty = await file('csv', '\uFEFF\n\n');
    await expect(collect(empty)).rejects.toThrow(/f\d+\.csv is empty/);
  });
});

describe('JSONL records', () => {
  it('tolerates a byte-order mark, blank lines and CRLF; maps _id/id, title and metadata', async () => {
    const path = await file(
      'jsonl',
      '\uFEFF{"_id":"1","title":"Wings","text":"Flutter of thin wings","year":1961,"tags":["a"]}\r\n' +
        '\n   \n' +
        '{"id":7,"text":"Numeric ids become strings"}\n' +
        '{"_id":"3","title":"","text":"  "}\n' +
        '{"_id":"4","title":"Title only","text":""}', // no final newline
    );
    const records = await openRecords(path, { text: 'text' });
    const docs: DocumentInput[] = [];
    for await (const d of records) docs.push(d);
    expect(docs).toEqual([
      { id: '1', text: 'Flutter of thin wings', title: 'Wings', metadata: { year: 1961, tags: ['a'] } },
      { id: '7', text: 'Numeric ids become strings', title: null, metadata: {} },
      { id: '4', text: 'Title only', title: null, metadata: {} },
    ]);
    expect(records.skippedEmpty).toBe(1);
    expect(records.bytesRead).toBe((await stat(path)).size);
  });

  it('names the line of invalid JSON and of a value that is not an object', async () => {
    const bad = await file('jsonl', '{"_id":"1","text":"ok"}\n\n{"_id":"2","text":"ok"}\n{"_id":"3","text":\n');
    await expect(collect(bad)).rejects.toThrow(/f\d+\.jsonl line 4 is not valid JSON/);
    const array = await file('ndjson', '{"_id":"1","text":"ok"}\n[1,2]\n');
    await expect(collect(array)).rejects.toThrow(/line 2 is not a JSON object/);
  });

  it("rejects a '__proto__' field (it cannot be metadata), naming the line or row, in JSONL and CSV", async () => {
    const jsonl = await file('jsonl', '{"_id":"1","text":"ok"}\n{"_id":"2","text":"ok","__proto__":{"year":1961},"kind":"x"}\n');
    await expect(collect(jsonl)).rejects.toThrow(/f\d+\.jsonl line 2: field '__proto__' cannot be metadata/);
    const csv = await file('csv', 'id,text,__proto__\nd1,hello,x\n');
    await expect(collect(csv)).rejects.toThrow(/f\d+\.csv row 2: field '__proto__' cannot be metadata/);
    // Named as the text field, it is read like any other.
    expect(await collect(await file('jsonl', '{"id":"1","__proto__":"the text","constructor":"c"}\n'), { text: '__proto__' })).toEqual([
      { id: '1', text: 'the text', title: null, metadata: { constructor: 'c' } },
    ]);
  });

  it('rejects a repeated id in the file, naming the id and the line of the repeat', async () => {
    const path = await file('jsonl', '{"_id":"a","text":"one"}\n{"_id":"b","text":"two"}\n{"_id":"a","text":"three"}\n');
    await expect(collect(path)).rejects.toThrow(/line 3: document id 'a' appears more than once/);
    await expect(readRecords(path, { text: 'text' })).rejects.toThrow(/document id 'a' appears more than once/);
  });

  it('rejects other extensions and missing files before reading', async () => {
    await expect(openRecords(join(dir, 'x.txt'), { text: 'text' })).rejects.toThrow(/expected a \.jsonl or \.csv file/);
    await expect(openRecords(join(dir, 'missing.jsonl'), { text: 'text' })).rejects.toThrow(/missing\.jsonl does not exist/);
  });

  it.skipIf(!existsSync(CRANFIELD))('reads the BEIR Cranfield corpus as before (two empty documents skipped)', async () => {
    const { documents, skippedEmpty } = await readRecords(CRANFIELD, { text: 'text' });
    expect(documents).toHaveLength(1398);
    expect(skippedEmpty).toBe(2);
    expect(documents[0]).toMatchObject({ id: '1', title: expect.stringMatching(/^experimental investigation/) as unknown as string, metadata: {} });
  });
});

describe('records are read lazily', () => {
  let big: string;
  let bigSize: number;
  const LINES = 40_000;
  beforeAll(async () => {
    big = join(dir, 'big.jsonl');
    bigSize = await writeBigJsonl(big, LINES);
  });
  it('stopping after the first record reads only the start of the file', async () => {
    const records = await openRecords(big, { text: 'text' });
    let first: DocumentInput | undefined;
    for await (const d of records) {
      first = d;
      break;
    }
    expect(first?.id).toBe('d0');
    expect(records.documents).toBe(1);
    expect(records.bytesRead).toBeLessThan(2_000);
    expect(records.bytesRead).toBeLessThan(bigSize / 1000);
  });
});
