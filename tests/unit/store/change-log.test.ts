// Tests src/store/change-log.ts: the change log (seqs, latest change per document, generation filter, pruning).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_HNSW } from '../../../src/values/backend.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import type { DocumentWrite, NewCollection } from '../../../src/store/types.ts';
import { doc, openTempStore, removeTempStore, spec, vec } from '../../helpers/store.ts';

describe('change log', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => ({ dir, store } = openTempStore()));
  afterEach(() => removeTempStore(store, dir));

  it('returns changes after a seq, latest per document, in seq order, per collection', () => {
    store.createCollection(spec('c'));
    store.createCollection(spec('other'));
    expect(store.lastSeq()).toBe(0);
    const s1 = store.upsertDocuments('c', [doc('a', '1'), doc('b', '1')]).seq; // seq 1 a, 2 b
    expect(s1).toBe(2);
    store.upsertDocuments('other', [doc('a', 'x')]); // 3
    store.upsertDocuments('c', [doc('a', '2')]); // 4
    store.deleteDocuments('c', ['b']); // 5
    store.upsertDocuments('c', [doc('c', '1')]); // 6
    store.upsertDocuments('c', [doc('b', 'back')]); // 7
    expect(store.lastSeq()).toBe(7);

    expect(store.changesSince('c', 0)).toEqual([
      { seq: 4, docId: 'a', op: 'upsert' },
      { seq: 6, docId: 'c', op: 'upsert' },
      { seq: 7, docId: 'b', op: 'upsert' },
    ]);
    expect(store.changesSince('c', 4)).toEqual([
      { seq: 6, docId: 'c', op: 'upsert' },
      { seq: 7, docId: 'b', op: 'upsert' },
    ]);
    expect(store.changesSince('c', 7)).toEqual([]);
    expect(store.changesSince('other', 0)).toEqual([{ seq: 3, docId: 'a', op: 'upsert' }]);

    store.deleteDocuments('c', ['c']); // 8
    expect(store.changesSince('c', 5)).toEqual([
      { seq: 7, docId: 'b', op: 'upsert' },
      { seq: 8, docId: 'c', op: 'delete' },
    ]);

    expect(store.pruneChanges('c', 6)).toBe(5); // seqs 1, 2, 4, 5, 6
    expect(store.changesSince('c', 0).map((c) => c.seq)).toEqual([7, 8]);
    expect(store.lastSeq()).toBe(8);
  });

  it('returns the last seq of a batch', () => {
    store.createCollection(spec('c'));
    expect(store.upsertDocuments('c', [doc('a', 'x'), doc('b', 'y'), doc('a', 'z')]).seq).toBe(3);
    expect(store.upsertDocuments('c', []).seq).toBe(3);
    expect(store.getDocument('c', 'a')!.text).toBe('z');
    expect(store.countDocuments('c')).toBe(1 + 1);
  });

  it('keeps a re-embedding batch to its own generation when filtered by generation', () => {
    const live = store.createCollection(spec('c')).generation.id;
    const next = store.createGeneration('c', { model: 'm@2', dimensions: 2, backend: 'hnsw' }).id;
    store.upsertDocuments('c', [doc('a', 'x', { vectors: new Map([[live, vec(1, 0, 0, 0)]]) }), doc('b', 'y')]); // 1, 2
    const { written, seq } = store.putGenerationVectors('c', next, [
      { id: 'a', vector: vec(1, 0), contentHash: 'h:x' }, // 3
      { id: 'b', vector: vec(0, 1), contentHash: 'stale' }, // rewritten meanwhile: skipped
    ]);
    expect(written).toEqual(['a']);
    expect(seq).toBe(3);
    // Without a generation every change counts; with one, only document writes and that generation's batches.
    expect(store.changesSince('c', 0)).toEqual([
      { seq: 2, docId: 'b', op: 'upsert' },
      { seq: 3, docId: 'a', op: 'upsert' },
    ]);
    expect(store.changesSince('c', 0, next)).toEqual([
      { seq: 2, docId: 'b', op: 'upsert' },
      { seq: 3, docId: 'a', op: 'upsert' },
    ]);
    expect(store.changesSince('c', 0, live)).toEqual([
      { seq: 1, docId: 'a', op: 'upsert' },
      { seq: 2, docId: 'b', op: 'upsert' },
    ]);
    expect(store.changesSince('c', 2, live)).toEqual([]);
    // A batch that writes nothing issues no seq.
    expect(store.putGenerationVectors('c', next, [{ id: 'b', vector: vec(0, 1), contentHash: 'stale' }])).toEqual({ written: [], seq: 3 });
    expect(store.lastSeq()).toBe(3);
  });

  it('prunes through the oldest snapshot of the collection\'s local generations, and remembers how far', () => {
    const live = store.createCollection(spec('c')).generation.id;
    store.createCollection(spec('other'));
    for (let i = 0; i < 5; i++) store.upsertDocuments('c', [doc(`d${i}`, `t${i}`)]); // seqs 1..5
    store.upsertDocuments('other', [doc('x', 'y')]); // 6
    expect(store.prunedThrough('c')).toBe(0);
    expect(store.countChanges('c')).toBe(5);

    // A second local generation without a snapshot holds the log for everyone.
    const next = store.createGeneration('c', { model: 'm@2', dimensions: 4, backend: 'hnsw' }).id;
    expect(store.recordSnapshot('c', live, 4)).toBe(0);
    expect(store.countChanges('c')).toBe(5);
    // A remote generation does not: it replays nothing from the log.
    const remote = store.createGeneration('c', { model: 'm@2', dimensions: 4, backend: 'pinecone' }).id;
    expect(store.recordSnapshot('c', next, 3)).toBe(3); // min(4, 3): seqs 1..3
    expect(store.prunedThrough('c')).toBe(3);
    expect(store.changesSince('c', 0).map((c) => c.seq)).toEqual([4, 5]);
    expect(store.countChanges('other')).toBe(1);
    expect(store.countChanges()).toBe(3);

    // Never backwards: an older record prunes nothing and keeps the horizon.
    expect(store.recordSnapshot('c', next, 1)).toBe(0);
    expect(store.prunedThrough('c')).toBe(3);

    // Dropping the lagging generation lets the log go up to the live snapshot.
    store.recordSnapshot('c', next, 5);
    expect(store.prunedThrough('c')).toBe(4);
    store.dropGeneration(remote);
    store.recordSnapshot('c', live, 5);
    expect(store.prunedThrough('c')).toBe(5);
    expect(store.countChanges('c')).toBe(0);
    expect(store.lastSeq()).toBe(6);

    // Deleting the collection forgets its horizon, so a new one of the same name starts at 0.
    store.deleteCollection('c');
    expect(store.prunedThrough('c')).toBe(0);
  });
});
