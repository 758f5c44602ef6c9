// Tests src/store/documents.ts: documents and their vectors per generation (upsert, delete, reads, paging, filters).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidVectorError } from '../../../src/errors.ts';
import { DEFAULT_HNSW } from '../../../src/values/backend.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import type { DocumentWrite, NewCollection } from '../../../src/store/types.ts';
import { bits, doc, openTempStore, removeTempStore, sleep, spec, vec } from '../../helpers/store.ts';

describe('documents', () => {
  let dir: string;
  let store: SqliteStore;
  let gen: number;

  beforeEach(() => {
    ({ dir, store } = openTempStore());
    gen = store.createCollection(spec('c')).generation.id;
  });
  afterEach(() => removeTempStore(store, dir));

  it('upserts idempotently: one row, created_at kept, content and keyword index replaced', async () => {
    store.upsertDocuments('c', [doc('a', 'the propeller slipstream', { title: 'first', metadata: { year: 1960 } })]);
    const first = store.getDocument('c', 'a')!;
    await sleep(5);
    store.upsertDocuments('c', [doc('a', 'boundary layer transition', { title: 'second', metadata: { year: 1961 } })]);
    const second = store.getDocument('c', 'a')!;
    expect(store.countDocuments('c')).toBe(1);
    expect(second).toMatchObject({ title: 'second', text: 'boundary layer transition', metadata: { year: 1961 } });
    expect(second.contentHash).toBe('h:boundary layer transition');
    expect(second.createdAt).toBe(first.createdAt);
    expect(second.updatedAt > first.updatedAt).toBe(true);
    expect(store.keywordSearch('c', 'slipstream', 5)).toEqual([]);
    expect(store.keywordSearch('c', 'first', 5)).toEqual([]);
    expect(store.keywordSearch('c', 'transition', 5).map((h) => h.id)).toEqual(['a']);
    expect(store.keywordSearch('c', 'second', 5).map((h) => h.id)).toEqual(['a']);
  });

  it('round-trips vectors per generation bit-exactly', () => {
    const other = store.createGeneration('c', { model: 'm@2', dimensions: 3, backend: 'hnsw' });
    // A view at a non-zero offset into a larger buffer, and awkward values.
    const backing = new Float32Array(16);
    const liveVec = backing.subarray(5, 9);
    liveVec.set([-0, 1.401298464324817e-45, 3.4028234663852886e38, -1 / 3]);
    const otherVec = vec(Math.PI, Math.E, -1e-30);
    store.upsertDocuments('c', [
      doc('a', 'alpha', { metadata: { tag: 'x' }, vectors: new Map([[gen, liveVec], [other.id, otherVec]]) }),
      doc('b', 'beta', { metadata: { tag: 'y' }, vectors: new Map([[gen, vec(1, 2, 3, 4)]]) }),
    ]);
    const got = store.getVectors(gen, ['a', 'b', 'missing']);
    expect([...got.keys()].sort()).toEqual(['a', 'b']);
    expect(bits(got.get('a')!)).toEqual(bits(liveVec));
    expect(got.get('a')!.byteOffset).toBe(0);
    expect(bits(store.getVectors(other.id, ['a']).get('a')!)).toEqual(bits(otherVec));
    expect(store.getVectors(other.id, ['b']).size).toBe(0);
    expect(store.countVectors(gen)).toBe(2);
    expect(store.countVectors(other.id)).toBe(1);

    const all = [...store.iterateVectors(gen)];
    expect(all.map((v) => v.id)).toEqual(['a', 'b']);
    expect(bits(all[0].vector)).toEqual(bits(liveVec));
    expect(all[1].metadata).toEqual({ tag: 'y' });

    const some = store.vectorsWithMetadata(gen, ['b', 'zzz', 'a', 'b']);
    expect(some.map((v) => v.id)).toEqual(['b', 'a']);
    expect(some[1].metadata).toEqual({ tag: 'x' });
    expect(bits(some[0].vector)).toEqual(bits(vec(1, 2, 3, 4)));
  });

  it('pages iterateVectors across many documents and tolerates writes between items', () => {
    const n = 2500;
    const docs = Array.from({ length: n }, (_, i) => doc(`d${String(i).padStart(5, '0')}`, `text ${i}`, { vectors: new Map([[gen, vec(i, 0, 0, 1)]]) }));
    store.upsertDocuments('c', docs);
    let seen = 0;
    for (const item of store.iterateVectors(gen)) {
      if (item.id !== 'zzz') expect(item.vector[0]).toBe(Number(item.id.slice(1)));
      // A write mid-iteration must not hit "connection is busy".
      if (seen === 1500) store.upsertDocuments('c', [doc('zzz', 'late', { vectors: new Map([[gen, vec(0, 0, 0, 1)]]) })]);
      seen++;
    }
    expect(seen).toBe(n + 1);
  });

  it('rejects bad vectors and leaves the batch unwritten', () => {
    const other = store.createCollection(spec('other')).generation.id;
    const good = doc('ok', 'fine', { vectors: new Map([[gen, vec(1, 2, 3, 4)]]) });
    expect(() => store.upsertDocuments('c', [good, doc('bad', 'x', { vectors: new Map([[gen, vec(1, 2)]]) })])).toThrow(InvalidVectorError);
    expect(() => store.upsertDocuments('c', [good, doc('bad', 'x', { vectors: new Map([[gen, vec(1, NaN, 3, 4)]]) })])).toThrow(
      InvalidVectorError,
    );
    const notFloat32 = new Map([[gen, [1, 2, 3, 4] as unknown as Float32Array]]);
    expect(() => store.upsertDocuments('c', [good, doc('bad', 'x', { vectors: notFloat32 })])).toThrow(InvalidVectorError);
    expect(() => store.upsertDocuments('c', [good, doc('bad', 'x', { vectors: new Map([[other, vec(1, 2, 3, 4)]]) })])).toThrow(
      InvalidInputError,
    );
    expect(() => store.upsertDocuments('c', [good, doc('', 'x')])).toThrow(InvalidInputError);
    expect(store.countDocuments('c')).toBe(0);
    expect(store.countVectors(gen)).toBe(0);
    expect(store.lastSeq()).toBe(0);
  });

  it('deletes documents with their vectors in every generation and their keyword rows', () => {
    const other = store.createGeneration('c', { model: 'm@2', dimensions: 2, backend: 'hnsw' });
    store.upsertDocuments('c', [
      doc('a', 'supersonic wing', { vectors: new Map([[gen, vec(1, 0, 0, 0)], [other.id, vec(1, 0)]]) }),
      doc('b', 'subsonic wing', { vectors: new Map([[gen, vec(0, 1, 0, 0)], [other.id, vec(0, 1)]]) }),
    ]);
    const { deleted, seq } = store.deleteDocuments('c', ['a', 'ghost', 'a']);
    expect(deleted).toEqual(['a']);
    expect(seq).toBe(store.lastSeq());
    expect(store.getDocument('c', 'a')).toBeUndefined();
    expect(store.getVectors(gen, ['a']).size).toBe(0);
    expect(store.getVectors(other.id, ['a']).size).toBe(0);
    expect(store.countVectors(gen)).toBe(1);
    expect(store.keywordSearch('c', 'supersonic', 5)).toEqual([]);
    expect(store.keywordSearch('c', 'wing', 5).map((h) => h.id)).toEqual(['b']);

    const noop = store.deleteDocuments('c', ['ghost']);
    expect(noop).toEqual({ deleted: [], seq });

    // The keyword index accepts the id again after deletion.
    store.upsertDocuments('c', [doc('a', 'supersonic again')]);
    expect(store.keywordSearch('c', 'supersonic', 5).map((h) => h.id)).toEqual(['a']);
  });

  it('reads large id lists in chunks', () => {
    const n = 1300;
    store.upsertDocuments(
      'c',
      Array.from({ length: n }, (_, i) => doc(`id-${i}`, `t${i}`, { vectors: new Map([[gen, vec(i, 1, 2, 3)]]) })),
    );
    const ids = [...Array.from({ length: n }, (_, i) => `id-${i}`), 'missing-1', 'missing-2', 'id-7'];
    expect(store.getDocuments('c', ids).size).toBe(n);
    expect(store.hitDocuments('c', ids, { text: false }).size).toBe(n);
    const hashes = store.contentHashes('c', ids);
    expect(hashes.size).toBe(n);
    expect(hashes.get('id-777')).toBe('h:t777');
    const vectors = store.getVectors(gen, ids);
    expect(vectors.size).toBe(n);
    expect(vectors.get('id-1299')![0]).toBe(1299);
    expect(store.vectorsWithMetadata(gen, ids)).toHaveLength(n);
  });

  it('reads what a search hit shows, with title and text only when asked', () => {
    store.upsertDocuments('c', [doc('a', 'supersonic wing', { title: 'Wings', metadata: { year: 1960 } }), doc('b', 'subsonic')]);
    const bare = store.hitDocuments('c', ['b', 'ghost', 'a'], { text: false });
    expect([...bare.keys()].sort()).toEqual(['a', 'b']);
    expect(bare.get('a')).toEqual({ metadata: { year: 1960 } });
    const full = store.hitDocuments('c', ['a', 'b'], { text: true });
    expect(full.get('a')).toEqual({ metadata: { year: 1960 }, title: 'Wings', text: 'supersonic wing' });
    expect(full.get('b')).toEqual({ metadata: {}, title: null, text: 'subsonic' });
  });

  it('pages documents in id order and filters by metadata', () => {
    store.upsertDocuments('c', [
      doc('b', 'x', { metadata: { lang: 'en', year: 2001 } }),
      doc('a', 'x', { metadata: { lang: 'de', year: 1999 } }),
      doc('d', 'x', { metadata: { lang: 'en', year: 1990, tags: ['physics', 'wings'] } }),
      doc('c', 'x'),
    ]);
    expect(store.documentsAfter('c', null, 2).map((d) => d.id)).toEqual(['a', 'b']);
    expect(store.documentsAfter('c', 'b', 10).map((d) => d.id)).toEqual(['c', 'd']);
    expect(store.documentsAfter('c', 'd', 10)).toEqual([]);
    expect(store.idsMatching('c', { lang: 'en' })).toEqual(['b', 'd']);
    expect(store.idsMatching('c', { year: { $lt: 2000 } })).toEqual(['a', 'd']);
    expect(store.idsMatching('c', { tags: 'wings' })).toEqual(['d']);
    expect(store.idsMatching('c', { $or: [{ lang: 'de' }, { year: { $gte: 2001 } }] })).toEqual(['a', 'b']);
    expect(store.idsMatching('c', {})).toEqual(['a', 'b', 'c', 'd']);
    expect(store.countDocuments('c')).toBe(4);
    expect(store.countDocuments('nope')).toBe(0);
  });

  it('says whether any document has a field to group by: a string, number or boolean value, any field name', () => {
    store.upsertDocuments('c', [
      doc('a', 'x', { metadata: { kind: null, tags: ['wings'], nested: { a: 1 }, 'a.b': 'dotted', 'q"uote': 7 } }),
      doc('b', 'x', { metadata: { flag: false, 'nul\u0000name': 'x', '\ud800lone': 1.5 } }),
      doc('c', 'x'),
    ]);
    for (const field of ['a.b', 'q"uote', 'flag', 'nul\u0000name', '\ud800lone']) expect(store.hasGroupableField('c', field), field).toBe(true);
    for (const field of ['kind', 'tags', 'nested', 'missing', 'a', '\u0000', '\ud800']) expect(store.hasGroupableField('c', field), field).toBe(false);
    store.createCollection(spec('other'));
    expect(store.hasGroupableField('other', 'flag')).toBe(false);
  });

  it('writes 3000 512-d documents in batches of 100 and reads every one back exactly', () => {
    const bench = store.createCollection(spec('bench', 512)).generation.id;
    const batches = 30;
    const words = 'wing flow boundary layer shock pressure heat transfer supersonic subsonic flutter panel nozzle jet'.split(' ');
    const make = (b: number) =>
      Array.from({ length: 100 }, (_, i) => {
        const v = new Float32Array(512);
        for (let d = 0; d < 512; d++) v[d] = Math.sin(b * 1000 + i * 7 + d);
        const text = Array.from({ length: 120 }, (_, w) => words[(b + i + w * 3) % words.length]).join(' ');
        return doc(`b${b}-${i}`, text, { metadata: { batch: b }, vectors: new Map([[bench, v]]) });
      });
    const prepared = Array.from({ length: batches }, (_, b) => make(b));
    // Each batch's seq is its last document's: one change row per document, in order.
    const seqs = prepared.map((batch) => store.upsertDocuments('bench', batch).seq);
    expect(seqs).toEqual(Array.from({ length: batches }, (_, b) => (b + 1) * 100));
    expect(store.countVectors(bench)).toBe(batches * 100);
    expect(store.countDocuments('bench')).toBe(batches * 100);
    expect(store.lastSeq()).toBe(batches * 100);

    const all = prepared.flat();
    const ids = all.map((d) => d.id);
    const vectors = store.getVectors(bench, ids);
    const documents = store.getDocuments('bench', ids);
    expect(vectors.size).toBe(all.length);
    expect(documents.size).toBe(all.length);
    const wrongVectors = all.filter((d) => {
      const got = vectors.get(d.id);
      return !got || bits(got).join() !== bits(d.vectors.get(bench)!).join();
    });
    expect(wrongVectors.map((d) => d.id)).toEqual([]);
    const wrongDocuments = all.filter((d) => {
      const got = documents.get(d.id);
      return !got || got.text !== d.text || got.contentHash !== d.contentHash || got.metadata.batch !== d.metadata!.batch;
    });
    expect(wrongDocuments.map((d) => d.id)).toEqual([]);
    // Every document was indexed for keyword search too.
    expect(store.keywordSearch('bench', words.join(' '), 5000)).toHaveLength(all.length);
  });
});
