// Unit: batched bulk indexing (src/ingest/bulk.ts) over streamed files and arrays.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkIndex, type BulkProgress, type IndexTarget } from '../../../src/ingest/bulk.ts';
import { openRecords } from '../../../src/ingest/records.ts';
import type { DocumentInput, UpsertResult } from '../../../src/search/documents.ts';
import { writeBigJsonl } from '../../helpers/big-jsonl.ts';

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

/** An in-memory IndexTarget that records every upsert, in call order. */
class RecordingTarget implements IndexTarget {
  readonly batches: string[][] = [];
  readonly stored = new Map<string, DocumentInput>();
  collections: string[] = [];
  running = 0;
  maxRunning = 0;
  constructor(private readonly behaviour: { delayMs?: number; failOnCall?: number; beforeReturn?: (call: number) => void } = {}) {}

  async ensureCollection(name: string): Promise<void> {
    this.collections.push(name);
  }

  async upsert(_collection: string, docs: readonly DocumentInput[]): Promise<UpsertResult> {
    const call = this.batches.length;
    this.batches.push(docs.map((d) => d.id));
    const ids = new Set(docs.map((d) => d.id));
    if (ids.size !== docs.length) throw new Error('duplicate id in one request'); // as the service does
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      await new Promise((r) => setTimeout(r, this.behaviour.delayMs ?? 1));
      this.behaviour.beforeReturn?.(call);
      if (call === this.behaviour.failOnCall) throw new Error(`upsert ${call} failed`);
      let upserted = 0;
      for (const d of docs) {
        if (this.stored.get(d.id)?.text !== d.text) upserted++;
        this.stored.set(d.id, d);
      }
      return { upserted, unchanged: docs.length - upserted };
    } finally {
      this.running--;
    }
  }
}

function doc(id: string, text = `text of ${id}`): DocumentInput {
  return { id, text };
}

describe('bulk indexing a streamed file', () => {
  let big: string;
  let bigSize: number;
  const LINES = 40_000;
  beforeAll(async () => {
    big = join(dir, 'big.jsonl');
    bigSize = await writeBigJsonl(big, LINES);
  });
  it('bulk indexing reports bytes of the file as it goes, long before the end', async () => {
    const records = await openRecords(big, { text: 'text' });
    const seen: BulkProgress[] = [];
    const target = new RecordingTarget({ failOnCall: 3 });
    await expect(bulkIndex(target, 'c', records, { batchSize: 100, concurrency: 2, bytes: records, onProgress: (p) => seen.push(p) })).rejects.toThrow(/upsert 3 failed/);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen[0]).toMatchObject({ done: 100, bytesTotal: bigSize });
    expect(seen[0]!.total).toBeUndefined();
    expect(seen[0]!.bytesDone).toBeGreaterThan(0);
    expect(seen[0]!.bytesDone).toBeLessThan(bigSize / 100);
    expect(Number.isFinite(seen[0]!.etaSeconds)).toBe(true);
    // After the failure nothing more was read than the batches in flight: the rest of the file never was.
    expect(target.batches.length).toBeLessThanOrEqual(5);
    expect(records.documents).toBeLessThanOrEqual(500);
    expect(records.bytesRead).toBeLessThan(bigSize / 50);
  });
});

describe('bulkIndex', () => {
  async function* generate(n: number, pulled: { count: number }): AsyncGenerator<DocumentInput> {
    for (let i = 0; i < n; i++) {
      pulled.count++;
      yield doc(`d${i}`);
    }
  }

  it('sends batches in source order and reports documents done', async () => {
    const target = new RecordingTarget();
    const seen: BulkProgress[] = [];
    const pulled = { count: 0 };
    const result = await bulkIndex(target, 'papers', generate(10, pulled), { batchSize: 3, concurrency: 2, onProgress: (p) => seen.push(p) });
    expect(target.collections).toEqual(['papers']);
    expect(target.batches).toEqual([['d0', 'd1', 'd2'], ['d3', 'd4', 'd5'], ['d6', 'd7', 'd8'], ['d9']]);
    expect(seen.map((p) => p.done).sort((a, b) => a - b)).toEqual(seen.map((p) => p.done));
    expect(seen.at(-1)!.done).toBe(10);
    expect(result).toMatchObject({ done: 10, total: 10, upserted: 10, unchanged: 0, superseded: 0, etaSeconds: 0 });
    expect(result.bytesDone).toBeUndefined();

    // A rerun of the same documents: nothing changed (the target says so).
    const again = await bulkIndex(target, 'papers', generate(10, { count: 0 }), { batchSize: 4, concurrency: 3 });
    expect(again).toMatchObject({ done: 10, upserted: 0, unchanged: 10 });
  });

  it('still takes an array, whose total is known up front', async () => {
    const target = new RecordingTarget();
    const seen: BulkProgress[] = [];
    const docs = Array.from({ length: 5 }, (_, i) => doc(`a${i}`));
    const result = await bulkIndex(target, 'c', docs, { batchSize: 2, concurrency: 3, onProgress: (p) => seen.push(p) });
    expect(seen[0]!.total).toBe(5);
    expect(result).toMatchObject({ done: 5, total: 5, upserted: 5 });
  });

  it('keeps at most `concurrency` batches in memory, reading ahead no further', async () => {
    const pulled = { count: 0 };
    const aheadSeen: number[] = [];
    let done = 0;
    const target = new RecordingTarget({ delayMs: 5, beforeReturn: () => aheadSeen.push(pulled.count - done) });
    await bulkIndex(target, 'c', generate(200, pulled), { batchSize: 10, concurrency: 2, onProgress: (p) => (done = p.done) });
    expect(target.maxRunning).toBeLessThanOrEqual(2);
    expect(target.maxRunning).toBe(2);
    // Documents read but not yet acknowledged: never more than concurrency × batchSize.
    expect(Math.max(...aheadSeen)).toBeLessThanOrEqual(2 * 10);
  });

  it('progress by bytes: a streamed file ends with every byte counted and the total known', async () => {
    const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify({ _id: `b${i}`, text: `document number ${i}` }));
    const path = await file('jsonl', `${lines.join('\n')}\n\n`);
    const size = (await stat(path)).size;
    const records = await openRecords(path, { text: 'text' });
    const seen: BulkProgress[] = [];
    const target = new RecordingTarget();
    const result = await bulkIndex(target, 'c', records, { batchSize: 10, concurrency: 2, bytes: records, onProgress: (p) => seen.push(p) });
    expect(target.batches.map((b) => b.length)).toEqual([10, 10, 5]);
    const bytes = seen.map((p) => p.bytesDone!);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    // After the first batch: exactly the bytes of its ten lines.
    expect(bytes[0]).toBe(lines.slice(0, 10).join('\n').length + 1);
    expect(seen.every((p) => p.bytesTotal === size && p.total === undefined)).toBe(true);
    expect(result).toMatchObject({ done: 25, total: 25, upserted: 25, bytesDone: size, bytesTotal: size, etaSeconds: 0 });
  });

  it('a repeated id: the last one wins within a batch, and a later batch replaces an earlier one', async () => {
    const source = [doc('a', 'first a'), doc('b'), doc('a', 'second a'), doc('c'), doc('c', 'second c'), doc('a', 'third a')];
    const one = new RecordingTarget();
    const result = await bulkIndex(one, 'c', source, { batchSize: 10, concurrency: 1 });
    expect(one.batches).toEqual([['b', 'c', 'a']]);
    expect(one.stored.get('a')!.text).toBe('third a');
    expect(one.stored.get('c')!.text).toBe('second c');
    expect(result).toMatchObject({ done: 6, total: 6, upserted: 3, unchanged: 0, superseded: 3 });

    const split = new RecordingTarget();
    const r2 = await bulkIndex(split, 'c', source, { batchSize: 2, concurrency: 1 });
    expect(split.batches).toEqual([['a', 'b'], ['a', 'c'], ['c', 'a']]);
    expect(split.stored.get('a')!.text).toBe('third a');
    expect(split.stored.get('c')!.text).toBe('second c');
    expect(r2).toMatchObject({ done: 6, superseded: 0 });
  });

  it('a failing upsert stops reading; nothing is still running on the target when it rejects', async () => {
    const pulled = { count: 0 };
    const target = new RecordingTarget({ delayMs: 5, failOnCall: 1 });
    await expect(bulkIndex(target, 'c', generate(1000, pulled), { batchSize: 10, concurrency: 3 })).rejects.toThrow(/upsert 1 failed/);
    expect(target.running).toBe(0);
    expect(pulled.count).toBeLessThanOrEqual(50);
  });

  it('a bad row in the file rejects after the batches in flight have finished', async () => {
    const good = Array.from({ length: 12 }, (_, i) => JSON.stringify({ _id: `g${i}`, text: `good ${i}` }));
    const path = await file('jsonl', `${good.join('\n')}\n{oops\n${good[0]}\n`);
    const records = await openRecords(path, { text: 'text' });
    const target = new RecordingTarget({ delayMs: 20 });
    await expect(bulkIndex(target, 'c', records, { batchSize: 5, concurrency: 3, bytes: records })).rejects.toThrow(/line 13 is not valid JSON/);
    expect(target.running).toBe(0);
    // What came before the bad line in complete batches was sent; a rerun after the fix skips it.
    expect(target.batches).toEqual([
      ['g0', 'g1', 'g2', 'g3', 'g4'],
      ['g5', 'g6', 'g7', 'g8', 'g9'],
    ]);
  });
});
