// Acceptance: `sextant index` of a CSV written by Excel (UTF-8 byte-order mark, quoted fields, CRLF), then search.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI } from '../helpers/server.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sextant-index-csv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileNo = 0;
async function file(ext: string, content: string): Promise<string> {
  const path = join(dir, `f${fileNo++}.${ext}`);
  await writeFile(path, content);
  return path;
}

describe('sextant index (end to end)', () => {
  it('indexes a CSV with a byte-order mark through the CLI and finds it', async () => {
    const data = join(dir, 'cli-data');
    const csv = await file(
      'csv',
      '\uFEFFdoc,body,heading,year\r\n' +
        'a1,"Flutter of thin wings at supersonic speed, with ""quoted"" notes",Wings,1961\r\n' +
        'a2,"Subject catalogues and\nclassification in libraries",Libraries,1975\r\n' +
        'a3,Heat transfer through laminar boundary layers,Heat,1958\r\n',
    );
    const env = { ...process.env, SEXTANT_MODELS_DIR: inject('modelsDir'), SEXTANT_DATA_DIR: data };
    const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 120_000 });
    const indexed = run(['index', 'bom', csv, '--id-field', 'doc', '--text-field', 'body', '--title-field', 'heading', '--batch-size', '2']);
    expect(indexed.status, indexed.stderr).toBe(0);
    expect(JSON.parse(indexed.stdout.trim().split('\n').at(-1)!)).toEqual({
      collection: 'bom',
      documents: 3,
      upserted: 3,
      unchanged: 0,
      skipped_empty: 0,
      docs_per_s: expect.any(Number) as unknown as number,
    });
    expect(indexed.stderr).toMatch(/indexing bom \[#{28}\] 3\/3 100% \(\d+ B of \d+ B\)/);
    const search = run(['search', 'bom', 'library classification', '--mode', 'hybrid', '--json']);
    expect(search.status, search.stderr).toBe(0);
    const body = JSON.parse(search.stdout) as { results: { id: string; metadata: Record<string, unknown> }[] };
    expect(body.results[0]!.id).toBe('a2');
    expect(body.results[0]!.metadata).toEqual({ year: '1975' });

    const broken = await file('csv', '\uFEFFdoc,body\r\nz1,ok\r\nz2,"bad"quote\r\n');
    const failed = run(['index', 'bom', broken, '--id-field', 'doc', '--text-field', 'body']);
    expect(failed.status).toBe(2);
    expect(failed.stderr).toMatch(/sextant index: .*f\d+\.csv line 3: Invalid Closing Quote/);
  });
});
