/**
 * Metadata filters evaluated in SQL (src/store/filter-sql.ts) against the JavaScript evaluator
 * they replace (`matchesFilter`): for seeded random filters over seeded random metadata stored in
 * a real SqliteStore, `idsMatching` must return exactly the ids `matchesFilter` accepts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/util/random.ts';
import { DEFAULT_HNSW } from '../../../src/values/backend.ts';
import { matchesFilter, type Filter, type Metadata } from '../../../src/values/filter.ts';
import { planFilter } from '../../../src/store/filter-sql.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';

const DOCS = 300;
const FILTERS = 600;

type Rand = () => number;
const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
const chance = (r: Rand, p: number): boolean => r() < p;

/** Field names, including ones a JSON path must quote or escape and two SQL cannot name. */
const FIELDS = ['a', 'b', 'n', 'tags', 'flag', 'x.y', 'q"k', 'back\\slash', '', 'é', '__proto__', 'constructor', '$d', 'arr[0]', 'nul\u0000key', 'lone\ud800'];

const STRINGS = ['', 'x', 'y', 'X', 'xy', 'é', 'e', 'z', '😀', '\uffff', '\ue000', 'a\u0000b', '10', '2', '1', 'true', '\ud800', 'quote"', 'back\\'];
const NUMBERS = [0, -0, 1, 2, 10, -1, 1.5, 0.1, 0.30000000000000004, 2 ** 53, 2 ** 53 + 2, 2 ** 60, 1e21, -1e-7, 5e-324, 12345678901234567000];
const BOOLEANS = [true, false];

function scalar(r: Rand): string | number | boolean {
  const k = r();
  if (k < 0.45) return pick(r, STRINGS);
  if (k < 0.85) return pick(r, NUMBERS);
  return pick(r, BOOLEANS);
}

function metadataValue(r: Rand, depth = 0): unknown {
  const k = r();
  if (k < 0.55 || depth > 2) return scalar(r);
  if (k < 0.62) return null;
  if (k < 0.9) return Array.from({ length: Math.floor(r() * 4) }, () => metadataValue(r, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(r() * 3) }, () => [pick(r, FIELDS), metadataValue(r, depth + 1)]));
}

function metadata(r: Rand): Record<string, unknown> {
  // fromEntries defines own properties, so '__proto__' is a field rather than the prototype.
  return Object.fromEntries(FIELDS.filter(() => chance(r, 0.4)).map((f) => [f, metadataValue(r)]));
}

/** A range bound: numbers and strings, sometimes a boolean (outside the Filter type: JavaScript decides). */
function bound(r: Rand): unknown {
  if (chance(r, 0.03)) return true;
  return chance(r, 0.5) ? pick(r, NUMBERS) : pick(r, STRINGS);
}

function condition(r: Rand): unknown {
  if (chance(r, 0.35)) return scalar(r);
  const ops: Record<string, unknown> = {};
  const count = 1 + Math.floor(r() * 3);
  for (let i = 0; i < count; i++) {
    const op = pick(r, ['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte']);
    if (op === '$eq' || op === '$ne') ops[op] = scalar(r);
    else if (op === '$in' || op === '$nin') ops[op] = Array.from({ length: Math.floor(r() * 4) }, () => scalar(r));
    else ops[op] = bound(r);
  }
  return ops;
}

function filter(r: Rand, depth = 0): Filter {
  const entries: [string, unknown][] = [];
  const count = Math.floor(r() * 3) + (depth === 0 ? 1 : 0);
  for (let i = 0; i < count; i++) {
    const k = r();
    if (k < 0.15 && depth < 3) entries.push(['$and', Array.from({ length: Math.floor(r() * 3) + (chance(r, 0.9) ? 1 : 0) }, () => filter(r, depth + 1))]);
    else if (k < 0.3 && depth < 3) entries.push(['$or', Array.from({ length: Math.floor(r() * 3) + (chance(r, 0.9) ? 1 : 0) }, () => filter(r, depth + 1))]);
    else entries.push([pick(r, FIELDS), condition(r)]);
  }
  return Object.fromEntries(entries) as Filter;
}

describe('metadata filters in SQL', () => {
  let dir: string;
  let store: SqliteStore;
  /** Metadata as the store reads it back (what matchesFilter saw before filters went to SQL). */
  let stored: Map<string, Metadata>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-filter-sql-'));
    store = SqliteStore.open(dir);
    const spec = { modelTarget: 'default', model: 'm@1', dimensions: 2, backend: 'hnsw' as const, hnsw: DEFAULT_HNSW, hybridAlpha: 0.5 };
    store.createCollection({ name: 'c', ...spec });
    store.createCollection({ name: 'other', ...spec });
    const r = mulberry32(20240611);
    const docs = Array.from({ length: DOCS }, (_, i) => ({
      id: `d${String(i).padStart(3, '0')}`,
      text: 'x',
      contentHash: String(i),
      metadata: metadata(r),
      vectors: new Map<number, Float32Array>(),
    }));
    // A few fixed shapes the random ones might miss.
    docs.push(
      { id: 'fixed-true', text: 'x', contentHash: 't', metadata: { flag: true, n: 1, tags: ['x', 'y'] }, vectors: new Map() },
      { id: 'fixed-one', text: 'x', contentHash: 'o', metadata: { flag: 1, n: true, tags: 'x' }, vectors: new Map() },
      { id: 'fixed-nested', text: 'x', contentHash: 'n', metadata: { tags: [['x'], [[2]], { a: 'y' }], a: { b: 1 } }, vectors: new Map() },
      { id: 'fixed-empty', text: 'x', contentHash: 'e', metadata: { tags: [], a: null }, vectors: new Map() },
    );
    store.upsertDocuments('c', docs);
    // The same metadata under another collection: none of it may leak into 'c'.
    store.upsertDocuments('other', docs.map((d) => ({ ...d, id: `other-${d.id}` })));
    stored = new Map([...store.getDocuments('c', docs.map((d) => d.id))].map(([id, row]) => [id, row.metadata]));
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const expected = (f: Filter) => [...stored].filter(([, m]) => matchesFilter(f, m)).map(([id]) => id).sort();

  it(`agrees with matchesFilter on ${FILTERS} seeded random filters`, () => {
    const r = mulberry32(7);
    let sqlOnly = 0;
    let nonEmpty = 0;
    let partial = 0;
    for (let i = 0; i < FILTERS; i++) {
      const f = filter(r);
      const want = expected(f);
      expect(store.idsMatching('c', f), JSON.stringify(f)).toEqual(want);
      const plan = planFilter(f);
      if (plan && !plan.residual) sqlOnly++;
      if (plan?.residual && plan.where.text !== '1') partial++;
      if (want.length > 0 && want.length < stored.size) nonEmpty++;
    }
    console.log(`filters: ${sqlOnly} in SQL alone, ${partial} narrowed in SQL and finished in JS, ${nonEmpty} selecting a proper non-empty subset`);
    // Most filters are decided in SQL alone, and most select a proper, non-empty subset.
    expect(sqlOnly).toBeGreaterThan(FILTERS * 0.5);
    expect(partial).toBeGreaterThan(0);
    expect(nonEmpty).toBeGreaterThan(FILTERS * 0.3);
  });

  it.each<[string, Filter, string[]]>([
    ['a boolean never matches the number 1', { flag: true }, ['fixed-true']],
    ['the number 1 never matches a boolean', { n: 1 }, ['fixed-true']],
    ['equality on an array matches any element', { tags: 'x' }, ['fixed-nested', 'fixed-one', 'fixed-true']],
    ['$ne on an array needs every element to differ', { tags: { $ne: 'y' } }, ['fixed-empty', 'fixed-nested', 'fixed-one']],
    ['nested arrays are flattened', { tags: 2 }, ['fixed-nested']],
    ['an object inside an array is one element, not its members', { tags: 'y' }, ['fixed-true']],
  ])('%s', (_name, f, ids) => {
    const fixed = (list: string[]) => list.filter((id) => id.startsWith('fixed-'));
    expect(fixed(store.idsMatching('c', f))).toEqual(ids);
    expect(fixed(expected(f))).toEqual(ids);
  });

  it('keeps missing fields matching $ne and $nin and failing everything else', () => {
    for (const f of [{ zz: { $ne: 'x' } }, { zz: { $nin: ['x', 1] } }, { zz: { $ne: 1, $gt: 0 } }, { zz: { $in: [] } }, { zz: {} }] as Filter[]) {
      expect(store.idsMatching('c', f), JSON.stringify(f)).toEqual(expected(f));
    }
    expect(store.idsMatching('c', { zz: { $ne: 'x' } })).toHaveLength(stored.size);
    expect(store.idsMatching('c', { zz: { $ne: 1, $gt: 0 } })).toEqual([]);
  });

  it('decides inexpressible parts in JavaScript and narrows by the rest in SQL', () => {
    const f = { b: { $gt: '😀' }, flag: { $in: [true, false] } } as Filter;
    const plan = planFilter(f)!;
    expect(plan.residual).toBe(true);
    expect(plan.where.text).not.toBe('1');
    expect(store.idsMatching('c', f)).toEqual(expected(f));
    const nul = { 'nul\u0000key': 'x' } as Filter;
    expect(planFilter(nul)!.residual).toBe(true);
    expect(store.idsMatching('c', nul)).toEqual(expected(nul));
  });

  it('evaluates filters outside the Filter type in JavaScript alone, as before', () => {
    const odd = [{ a: { $in: 'xyz' } }, { a: { $eq: null } }, { $and: [{ a: 'x' }, { b: [1] }] }] as unknown as Filter[];
    for (const f of odd) {
      expect(planFilter(f)).toBeUndefined();
      expect(store.idsMatching('c', f), JSON.stringify(f)).toEqual(expected(f));
    }
    // matchesFilter throws on a null condition; so does idsMatching.
    expect(() => store.idsMatching('c', { a: null } as unknown as Filter)).toThrow(TypeError);
  });

  it('binds values and field names instead of splicing them into the SQL', () => {
    const f = { "a'); DROP TABLE documents; --": "x'); DROP TABLE documents; --" } as Filter;
    const plan = planFilter(f)!;
    expect(plan.where.text).not.toContain('DROP');
    expect(store.idsMatching('c', f)).toEqual([]);
    expect(store.countDocuments('c')).toBe(stored.size);
  });
});
