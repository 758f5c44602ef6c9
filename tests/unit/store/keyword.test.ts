// Tests src/store/keyword.ts: BM25 keyword search over per-collection FTS5 tables, and toFtsQuery.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.ts';
import { DEFAULT_HNSW } from '../../../src/values/backend.ts';
import { toFtsQuery } from '../../../src/store/keyword.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import type { DocumentWrite, NewCollection } from '../../../src/store/types.ts';
import { doc, openTempStore, removeTempStore, spec } from '../../helpers/store.ts';

describe('keyword search', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => {
    ({ dir, store } = openTempStore());
    store.createCollection(spec('a'));
    store.createCollection(spec('b'));
  });
  afterEach(() => removeTempStore(store, dir));

  it('explains a score as its terms: contributions from the BM25 formula with FTS5\'s statistics, summing to the score', () => {
    const texts: Record<string, string> = { '1': 'wing wing heat', '2': 'heat transfer', '3': 'flutter of a wing', '4': 'nozzle flow', '5': 'combustion chamber', '6': 'shock tube' };
    store.upsertDocuments('a', Object.entries(texts).map(([id, text]) => doc(id, text)));
    const query = 'Wings heat nozzle heat';
    // BM25 as FTS5 documents it (k1 1.2, b 0.75, IDF ln((N - n + 0.5) / (n + 0.5)), floored at 1e-6).
    const words = Object.fromEntries(Object.entries(texts).map(([id, t]) => [id, t.split(' ')]));
    const N = 6;
    const avgdl = Object.values(words).reduce((n, w) => n + w.length, 0) / N;
    const bm25 = (stem: string, id: string) => {
      const n = Object.values(words).filter((w) => w.includes(stem)).length;
      const idf = Math.max(1e-6, Math.log((N - n + 0.5) / (n + 0.5)));
      const f = words[id]!.filter((w) => w === stem).length;
      return { df: n, tf: f, contribution: (idf * f * 2.2) / (f + 1.2 * (0.25 + (0.75 * words[id]!.length) / avgdl)) };
    };
    const explained = store.keywordExplain('a', query, ['1', '4', 'missing']);
    expect([...explained.keys()].sort()).toEqual(['1', '4']);
    const one = explained.get('1')!;
    expect(one.terms.map((t) => t.term)).toEqual(['wings', 'heat', 'nozzle']); // a repeated word is one entry
    const expected = [bm25('wing', '1'), { ...bm25('heat', '1'), contribution: 2 * bm25('heat', '1').contribution }, bm25('nozzle', '1')];
    one.terms.forEach((t, i) => {
      expect([t.df, t.tf]).toEqual([expected[i]!.df, expected[i]!.tf]);
      expect(t.contribution).toBeCloseTo(expected[i]!.contribution, 12);
    });
    const sum = one.terms.reduce((s, t) => s + t.contribution, 0);
    expect(Math.abs(sum - one.score)).toBeLessThan(1e-12);
    expect(one.score).toBeCloseTo(store.keywordSearch('a', query, 10).find((h) => h.id === '1')!.score, 12);
    expect(explained.get('4')!.terms.map((t) => [t.term, t.tf])).toEqual([['wings', 0], ['heat', 0], ['nozzle', 1]]);
    // A document no term matches scores 0 with every contribution 0.
    const none = store.keywordExplain('a', 'zebra', ['2']).get('2')!;
    expect(none).toEqual({ score: 0, terms: [{ term: 'zebra', df: 0, tf: 0, contribution: 0 }] });
  });

  it('ranks stemmed matches: "wings" finds "wing"', () => {
    store.upsertDocuments('a', [
      doc('1', 'the wing of the aircraft was swept back', { title: 'Swept wing' }),
      doc('2', 'a study of boundary layers'),
      doc('3', 'heat transfer in nozzles'),
    ]);
    const hits = store.keywordSearch('a', 'Wings', 10);
    expect(hits.map((h) => h.id)).toEqual(['1']);
    expect(hits[0].score).toBeGreaterThan(0);
    // Title matches count, and diacritics are folded.
    expect(store.keywordSearch('a', 'swépt', 10).map((h) => h.id)).toEqual(['1']);
  });

  it('uses OR semantics and ranks documents matching more terms first', () => {
    store.upsertDocuments('a', [
      doc('both', 'supersonic flutter of panels'),
      doc('one', 'supersonic inlet design'),
      doc('other', 'flutter of bridges'),
      doc('none', 'heat transfer'),
    ]);
    const hits = store.keywordSearch('a', 'supersonic flutter', 10);
    expect(hits[0].id).toBe('both');
    expect(hits.map((h) => h.id).sort()).toEqual(['both', 'one', 'other']);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1].score).toBeGreaterThanOrEqual(hits[i].score);
    expect(store.keywordSearch('a', 'supersonic flutter', 1)).toHaveLength(1);
  });

  it('keeps BM25 statistics per collection', () => {
    const target = [doc('t', 'laminar flow over a flat plate'), doc('u', 'turbulent jets'), doc('v', 'shock waves')];
    store.upsertDocuments('b', target);
    const before = store.keywordSearch('b', 'laminar plate', 5);
    // 'laminar' becomes very common in collection a; b's scores must not move.
    store.upsertDocuments('a', Array.from({ length: 200 }, (_, i) => doc(`x${i}`, `laminar laminar boundary layer number ${i}`)));
    const after = store.keywordSearch('b', 'laminar plate', 5);
    expect(after).toEqual(before);
    // Sanity: the same document in a now scores lower on the common term.
    store.upsertDocuments('a', [doc('t', 'laminar flow over a flat plate')]);
    const inA = store.keywordSearch('a', 'laminar', 500).find((h) => h.id === 't')!;
    const inB = store.keywordSearch('b', 'laminar', 5).find((h) => h.id === 't')!;
    expect(inA.score).toBeLessThan(inB.score);
  });

  it('never throws on FTS syntax in queries', () => {
    store.upsertDocuments('a', [doc('1', 'near the wing tip and the body'), doc('2', 'not a wing')]);
    const nasty = [
      '"',
      '""',
      '"wing',
      'wing AND body',
      'AND',
      'OR OR',
      'NOT wing',
      'wing*',
      '*',
      '-wing',
      'wing - body',
      '(wing',
      'wing)',
      '()',
      'NEAR(wing body)',
      'NEAR(',
      'title:wing',
      '{title text}: wing',
      '^wing',
      'wing + body',
      "it's",
      '\u0000',
      '\u0301',
      'wing \u0301 body',
      'ｗｉｎｇ',
      '   ',
      '',
      '🚀🚀',
      'a'.repeat(10000),
      Array.from({ length: 2000 }, (_, i) => `w${i}`).join(' '),
    ];
    for (const q of nasty) expect(() => store.keywordSearch('a', q, 5), q.slice(0, 40)).not.toThrow();
    expect(store.keywordSearch('a', '"wing', 5).length).toBe(2);
    expect(store.keywordSearch('a', 'NEAR(wing body)', 5)[0].id).toBe('1');
    expect(store.keywordSearch('a', '   ', 5)).toEqual([]);
    expect(store.keywordSearch('a', '()', 5)).toEqual([]);
    expect(toFtsQuery('wing AND "body" NEAR(x*')).toBe('"wing" OR "and" OR "body" OR "near" OR "x"');
    expect(toFtsQuery('-- ** ()')).toBeUndefined();
  });

  it('returns the true top-k among allowed ids', () => {
    // Scores fall with document length, so the order is known: d00 best ... d59 worst.
    const docs = Array.from({ length: 60 }, (_, i) => doc(`d${String(i).padStart(2, '0')}`, `wing ${'filler '.repeat(i)}`));
    store.upsertDocuments('a', docs);
    const full = store.keywordSearch('a', 'wing', 1000);
    expect(full).toHaveLength(60);
    const allowed = new Set(['d03', 'd17', 'd58', 'd41', 'd22', 'nope']);
    const expected = full.filter((h) => allowed.has(h.id)).slice(0, 3);
    const got = store.keywordSearch('a', 'wing', 3, allowed);
    expect(got).toEqual(expected);
    expect(got.map((h) => h.id)).toEqual(['d03', 'd17', 'd22']);
    // Allowed ids ranked far below the unrestricted top-k are still found.
    expect(store.keywordSearch('a', 'wing', 2, new Set(['d58', 'd59'])).map((h) => h.id)).toEqual(['d58', 'd59']);
    expect(store.keywordSearch('a', 'wing', 3, new Set())).toEqual([]);
  });

  it('refuses a bad k and finds nothing for k = 0', () => {
    store.upsertDocuments('a', [doc('1', 'wing')]);
    expect(() => store.keywordSearch('a', 'wing', -1)).toThrow(InvalidInputError);
    expect(() => store.keywordSearch('a', 'wing', 1.5)).toThrow(InvalidInputError);
    expect(store.keywordSearch('a', 'wing', 0)).toEqual([]);
    expect(store.keywordSearch('a', 'wing', 1).map((h) => h.id)).toEqual(['1']);
  });
});

describe('toFtsQuery', () => {
  it('quotes lower-cased word tokens, joins them with OR and keeps at most 256 terms', () => {
    expect(toFtsQuery('Swept WING')).toBe('"swept" OR "wing"');
    // NFC first, so a decomposed accent and a precomposed one give the same token.
    expect(toFtsQuery('swe\u0301pt')).toBe(toFtsQuery('sw\u00e9pt'));
    expect(toFtsQuery('sw\u00e9pt')).toBe('"sw\u00e9pt"');
    const many = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
    const terms = toFtsQuery(many)!.split(' OR ');
    expect(terms).toHaveLength(256);
    expect(terms[255]).toBe('"w255"');
    expect(toFtsQuery('')).toBeUndefined();
  });
});
