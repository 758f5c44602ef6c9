// Tests src/values/filter.ts: validating untrusted metadata filters (parseFilter) and evaluating them (matchesFilter).
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.ts';
import { mulberry32 } from '../../../src/util/random.ts';
import { matchesFilter, parseFilter, type Filter, type Metadata, type Scalar } from '../../../src/values/filter.ts';

/** The InvalidInputError parseFilter throws for `input` (fails the test when it does not throw). */
function rejection(input: unknown, path?: string): InvalidInputError {
  try {
    parseFilter(input, path);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error(`parseFilter accepted ${JSON.stringify(input)}`);
}

/** `depth` levels of $and/$or around one equality. */
function nested(depth: number): Filter {
  let f: Filter = { a: 1 };
  for (let i = 0; i < depth; i++) f = i % 2 === 0 ? { $and: [f] } : { $or: [{ b: 2 }, f] };
  return f;
}

describe('parseFilter', () => {
  it('returns every valid form as given', () => {
    const valid: Filter[] = [
      {},
      { s: 'x', n: -1.5, b: false, empty: '' },
      { a: { $eq: 'x' } },
      { a: { $ne: 0 } },
      { a: { $in: ['x', 1, true] } },
      { a: { $in: [] } },
      { a: { $nin: [false] } },
      { a: { $gt: 1, $lt: 'z' } },
      { a: { $gte: -2, $lte: 2, $ne: 0 } },
      { $and: [{ a: 1 }, { $or: [{ b: { $gt: 3 } }, { c: 'y' }] }] },
      { $or: [{ a: 1 }], d: { $nin: ['q'] } },
      { 'dotted.name': 1, 'with space': 'v', é: true },
    ];
    for (const f of valid) expect(parseFilter(structuredClone(f))).toEqual(f);
  });

  it('rejects anything but a plain object, naming the path', () => {
    for (const bad of [null, undefined, [], [{ a: 1 }], 'a', 1, true]) {
      expect(rejection(bad).message).toMatch(/^filter must be an object/);
    }
    expect(rejection({ $and: [{ a: 1 }, 'x'] }).message).toMatch(/^filter\.\$and\[1\] must be an object/);
    expect(rejection({ $or: [{ $and: [null] }] }).message).toMatch(/^filter\.\$or\[0\]\.\$and\[0\] must be an object/);
    expect(rejection(null, 'body.filter').message).toMatch(/^body\.filter must be an object/);
  });

  it('$and and $or take non-empty arrays of filters', () => {
    for (const key of ['$and', '$or']) {
      for (const bad of [[], {}, { a: 1 }, 'x', null, 1]) {
        expect(rejection({ [key]: bad }).message).toBe(`filter.${key} must be a non-empty array of filters`);
      }
    }
  });

  it('rejects unknown operators at the top and inside a field condition', () => {
    expect(rejection({ $not: { a: 1 } }).message).toContain("unknown operator '$not'");
    expect(rejection({ $nor: [{ a: 1 }] }).message).toContain("unknown operator '$nor'");
    const inField = rejection({ a: { $exists: true } }).message;
    expect(inField).toMatch(/^filter\.a: unknown operator '\$exists'/);
    expect(rejection({ a: { $eq: 1, $regex: 'x' } }).message).toContain("'$regex'");
    // A field condition holds operators only: a nested plain key is not a sub-field.
    expect(rejection({ a: { b: 1 } }).message).toContain("unknown operator 'b'");
    expect(rejection({ $and: [{ a: { $size: 1 } }] }).message).toMatch(/^filter\.\$and\[0\]\.a: unknown operator/);
  });

  it('rejects an empty condition object', () => {
    expect(rejection({ a: {} }).message).toBe('filter.a: empty condition');
  });

  it('type-checks operator values', () => {
    const bad: Record<string, unknown>[] = [
      { $eq: null },
      { $eq: {} },
      { $eq: [1] },
      { $eq: Number.NaN },
      { $ne: Infinity },
      { $in: 'x' },
      { $in: [null] },
      { $in: [[1]] },
      { $in: [{}] },
      { $nin: 1 },
      { $nin: [Number.NaN] },
      { $gt: true },
      { $gte: null },
      { $lt: [1] },
      { $lte: -Infinity },
      { $gt: 1, $lt: {} },
    ];
    for (const condition of bad) expect(rejection({ price: condition }).message).toMatch(/^filter\.price: /);
  });

  it('field values must be a scalar or an operator object', () => {
    for (const bad of [null, undefined, [1, 2], [], Number.NaN, Infinity, () => 1]) {
      expect(rejection({ a: bad }).message).toBe('filter.a must be a string, number, boolean or an operator object');
    }
  });

  it("rejects the field name '__proto__' (as JSON.parse gives it: an own key), never dropping it", () => {
    // Dropped, {"__proto__": "x", "b": 1} would select every document with b = 1 and
    // {"__proto__": "x"} every document: a filter broader than the one sent.
    expect(Object.hasOwn(JSON.parse('{"__proto__": "x"}'), '__proto__')).toBe(true);
    for (const [json, path] of [
      ['{"__proto__": "x", "b": 1}', 'filter.__proto__'],
      ['{"__proto__": "x"}', 'filter.__proto__'],
      ['{"b": 1, "__proto__": {"$eq": 1}}', 'filter.__proto__'],
      ['{"__proto__": {"$ne": null}}', 'filter.__proto__'],
      ['{"$and": [{"a": 1}, {"__proto__": 2}]}', 'filter.$and[1].__proto__'],
      ['{"$or": [{"$and": [{"__proto__": [1]}]}]}', 'filter.$or[0].$and[0].__proto__'],
    ] as const) {
      const input: unknown = JSON.parse(json);
      const err = rejection(input);
      expect(err.message, json).toContain(path);
      expect(err.message, json).toContain("'__proto__'");
    }
    // Inside a field condition it is an unknown operator, as before.
    expect(rejection(JSON.parse('{"a": {"__proto__": 1}}')).message).toMatch(/^filter\.a: unknown operator '__proto__'/);
  });

  it("other names Object.prototype has ('constructor', 'toString', 'hasOwnProperty', 'prototype') are ordinary fields", () => {
    const input = JSON.parse('{"constructor": "x", "toString": {"$ne": 1}, "hasOwnProperty": {"$in": ["a"]}, "prototype": true, "valueOf": {"$gt": 2}}') as Filter;
    const parsed = parseFilter(input);
    expect(parsed).toEqual(input);
    expect(Object.keys(parsed)).toEqual(['constructor', 'toString', 'hasOwnProperty', 'prototype', 'valueOf']);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    const matching = { constructor: 'x', toString: 2, hasOwnProperty: 'a', prototype: true, valueOf: 3 };
    expect(matchesFilter(parsed, matching)).toBe(true);
    expect(matchesFilter(parsed, { ...matching, constructor: 'y' })).toBe(false);
    expect(matchesFilter(parsed, { ...matching, valueOf: 2 })).toBe(false);
    expect(matchesFilter(parsed, {})).toBe(false);
    // As missing fields, they satisfy $ne and nothing positive.
    expect(matchesFilter(parseFilter({ constructor: { $ne: 'x' }, toString: { $nin: ['y'] } }), {})).toBe(true);
  });

  it('nests $and/$or at most 8 levels deep', () => {
    expect(parseFilter(nested(8))).toEqual(nested(8));
    expect(rejection(nested(9)).message).toContain('filters nest at most 8 levels');
  });
});

describe('matchesFilter', () => {
  it('equality is strict: no coercion between strings, numbers and booleans', () => {
    expect(matchesFilter({ a: 1 }, { a: 1 })).toBe(true);
    expect(matchesFilter({ a: 1 }, { a: '1' })).toBe(false);
    expect(matchesFilter({ a: '1' }, { a: 1 })).toBe(false);
    expect(matchesFilter({ a: true }, { a: 1 })).toBe(false);
    expect(matchesFilter({ a: false }, { a: 0 })).toBe(false);
    expect(matchesFilter({ a: false }, { a: false })).toBe(true);
    expect(matchesFilter({ a: '' }, {})).toBe(false);
    expect(matchesFilter({ a: '' }, { a: '' })).toBe(true);
    expect(matchesFilter({ a: 'x' }, { a: 'X' })).toBe(false);
    expect(matchesFilter({ a: 0 }, { a: -0 })).toBe(true);
  });

  it('$eq and $ne: a missing or null field is not equal to anything', () => {
    expect(matchesFilter({ a: { $eq: 'x' } }, { a: 'x' })).toBe(true);
    expect(matchesFilter({ a: { $eq: 'x' } }, { a: 'y' })).toBe(false);
    expect(matchesFilter({ a: { $eq: 0 } }, {})).toBe(false);
    expect(matchesFilter({ a: { $ne: 'x' } }, { a: 'x' })).toBe(false);
    expect(matchesFilter({ a: { $ne: 'x' } }, { a: 'y' })).toBe(true);
    expect(matchesFilter({ a: { $ne: 'x' } }, {})).toBe(true);
    expect(matchesFilter({ a: { $ne: 'x' } }, { a: null })).toBe(true);
    expect(matchesFilter({ a: { $ne: 1 } }, { a: '1' })).toBe(true);
  });

  it('$in and $nin: membership by strict equality; empty lists match nothing and everything', () => {
    const f = { a: { $in: ['x', 2, true] } };
    expect(matchesFilter(f, { a: 'x' })).toBe(true);
    expect(matchesFilter(f, { a: 2 })).toBe(true);
    expect(matchesFilter(f, { a: true })).toBe(true);
    expect(matchesFilter(f, { a: '2' })).toBe(false);
    expect(matchesFilter(f, { a: 1 })).toBe(false);
    expect(matchesFilter(f, {})).toBe(false);
    const g = { a: { $nin: ['x', 2] } };
    expect(matchesFilter(g, { a: 'x' })).toBe(false);
    expect(matchesFilter(g, { a: 2 })).toBe(false);
    expect(matchesFilter(g, { a: '2' })).toBe(true);
    expect(matchesFilter(g, {})).toBe(true);
    expect(matchesFilter({ a: { $in: [] } }, { a: 'x' })).toBe(false);
    expect(matchesFilter({ a: { $nin: [] } }, { a: 'x' })).toBe(true);
    expect(matchesFilter({ a: { $nin: [] } }, {})).toBe(true);
  });

  it('$gt $gte $lt $lte on numbers, at and around the bound', () => {
    const at = (op: '$gt' | '$gte' | '$lt' | '$lte', value: number) => matchesFilter({ n: { [op]: 5 } }, { n: value });
    expect([4, 5, 6].map((v) => at('$gt', v))).toEqual([false, false, true]);
    expect([4, 5, 6].map((v) => at('$gte', v))).toEqual([false, true, true]);
    expect([4, 5, 6].map((v) => at('$lt', v))).toEqual([true, false, false]);
    expect([4, 5, 6].map((v) => at('$lte', v))).toEqual([true, true, false]);
    expect(matchesFilter({ n: { $gt: -1 } }, { n: -0.5 })).toBe(true);
    expect(matchesFilter({ n: { $lt: 0.3 } }, { n: 0.1 + 0.2 })).toBe(false);
  });

  it('ranges on strings compare by UTF-16 code units', () => {
    expect(matchesFilter({ s: { $lt: 'a' } }, { s: 'B' })).toBe(true);
    expect(matchesFilter({ s: { $gt: '2' } }, { s: '10' })).toBe(false);
    expect(matchesFilter({ s: { $gt: 'z' } }, { s: 'é' })).toBe(true);
    expect(matchesFilter({ s: { $gte: 'abc' } }, { s: 'abc' })).toBe(true);
    expect(matchesFilter({ s: { $gt: 'abc' } }, { s: 'abcd' })).toBe(true);
    expect(matchesFilter({ s: { $lte: '2024-12-31' } }, { s: '2024-06-01' })).toBe(true);
  });

  it('a range never matches across types, nor a missing or null field', () => {
    for (const op of ['$gt', '$gte', '$lt', '$lte'] as const) {
      expect(matchesFilter({ v: { [op]: 5 } }, { v: '5' })).toBe(false);
      expect(matchesFilter({ v: { [op]: '5' } }, { v: 5 })).toBe(false);
      expect(matchesFilter({ v: { [op]: 1 } }, { v: true })).toBe(false);
      expect(matchesFilter({ v: { [op]: 1 } }, { v: null })).toBe(false);
      expect(matchesFilter({ v: { [op]: 1 } }, {})).toBe(false);
      expect(matchesFilter({ v: { [op]: 1 } }, { v: { n: 1 } })).toBe(false);
    }
  });

  it('operators in one condition must all hold', () => {
    const f = { n: { $gte: 2, $lt: 5, $ne: 3 } };
    expect([1, 2, 3, 4, 5, 6].map((n) => matchesFilter(f, { n }))).toEqual([false, true, false, true, false, false]);
    expect(matchesFilter({ s: { $in: ['a', 'b'], $ne: 'a' } }, { s: 'a' })).toBe(false);
    expect(matchesFilter({ s: { $in: ['a', 'b'], $ne: 'a' } }, { s: 'b' })).toBe(true);
    expect(matchesFilter({ s: { $eq: 'a', $nin: ['a'] } }, { s: 'a' })).toBe(false);
  });

  it('array values: equality, $in and ranges match when any element does; $ne and $nin need every element', () => {
    const m = { tags: ['red', 'blue'], sizes: [1, 8] };
    expect(matchesFilter({ tags: 'red' }, m)).toBe(true);
    expect(matchesFilter({ tags: 'green' }, m)).toBe(false);
    expect(matchesFilter({ tags: { $eq: 'blue' } }, m)).toBe(true);
    expect(matchesFilter({ tags: { $in: ['green', 'blue'] } }, m)).toBe(true);
    expect(matchesFilter({ tags: { $in: ['green'] } }, m)).toBe(false);
    expect(matchesFilter({ tags: { $ne: 'red' } }, m)).toBe(false);
    expect(matchesFilter({ tags: { $ne: 'green' } }, m)).toBe(true);
    expect(matchesFilter({ tags: { $nin: ['green', 'red'] } }, m)).toBe(false);
    expect(matchesFilter({ tags: { $nin: ['green', 'white'] } }, m)).toBe(true);
    expect(matchesFilter({ sizes: { $gt: 5 } }, m)).toBe(true);
    expect(matchesFilter({ sizes: { $gt: 8 } }, m)).toBe(false);
    expect(matchesFilter({ sizes: { $lt: 1 } }, m)).toBe(false);
    // An empty list: nothing is in it, and nothing in it is equal to anything.
    expect(matchesFilter({ tags: 'red' }, { tags: [] })).toBe(false);
    expect(matchesFilter({ tags: { $in: ['red'] } }, { tags: [] })).toBe(false);
    expect(matchesFilter({ tags: { $ne: 'red' } }, { tags: [] })).toBe(true);
    expect(matchesFilter({ tags: { $nin: ['red'] } }, { tags: [] })).toBe(true);
  });

  it('field names are literal top-level keys: a dot is not a path, a nested object is not a scalar', () => {
    expect(matchesFilter({ 'a.b': 1 }, { 'a.b': 1 })).toBe(true);
    expect(matchesFilter({ 'a.b': 1 }, { a: { b: 1 } })).toBe(false);
    expect(matchesFilter({ a: 1 }, { a: { b: 1 } })).toBe(false);
    expect(matchesFilter({ a: { $in: [1] } }, { a: { b: 1 } })).toBe(false);
    expect(matchesFilter({ a: { $ne: 1 } }, { a: { b: 1 } })).toBe(true);
    // Inherited properties of plain objects are not metadata.
    expect(matchesFilter({ toString: { $in: ['x'] } }, {})).toBe(false);
    expect(matchesFilter({ constructor: 'Object' }, {})).toBe(false);
  });

  it('fields combine with AND; $and needs every filter; $or needs one', () => {
    const m = { a: 1, b: 'x', c: true };
    expect(matchesFilter({ a: 1, b: 'x' }, m)).toBe(true);
    expect(matchesFilter({ a: 1, b: 'y' }, m)).toBe(false);
    expect(matchesFilter({ $and: [{ a: 1 }, { b: 'x' }] }, m)).toBe(true);
    expect(matchesFilter({ $and: [{ a: 1 }, { b: 'y' }] }, m)).toBe(false);
    expect(matchesFilter({ $or: [{ a: 2 }, { b: 'x' }] }, m)).toBe(true);
    expect(matchesFilter({ $or: [{ a: 2 }, { b: 'y' }] }, m)).toBe(false);
    // $or beside a field: both must hold.
    expect(matchesFilter({ $or: [{ a: 2 }, { b: 'x' }], c: false }, m)).toBe(false);
    expect(matchesFilter({ $or: [{ a: 2 }, { b: 'x' }], c: true }, m)).toBe(true);
    // $and and $or nested inside each other.
    expect(matchesFilter({ $and: [{ $or: [{ a: 2 }, { c: true }] }, { $or: [{ b: 'z' }, { a: { $lt: 2 } }] }] }, m)).toBe(true);
    expect(matchesFilter({ $or: [{ $and: [{ a: 1 }, { b: 'z' }] }, { $and: [{ c: false }, { a: 1 }] }] }, m)).toBe(false);
  });

  it('an empty filter matches everything, also a document without metadata; a field condition never matches no metadata except by $ne/$nin', () => {
    expect(matchesFilter({}, { a: 1 })).toBe(true);
    expect(matchesFilter({}, undefined)).toBe(true);
    expect(matchesFilter({ a: 1 }, undefined)).toBe(false);
    expect(matchesFilter({ a: { $gt: 0 } }, undefined)).toBe(false);
    expect(matchesFilter({ a: { $ne: 1 } }, undefined)).toBe(true);
    expect(matchesFilter({ a: { $nin: [1] } }, undefined)).toBe(true);
  });

  it('agrees with a brute-force evaluator and the logical laws on seeded random filters and metadata', () => {
    const r = mulberry32(20240611);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
    const SCALARS: Scalar[] = ['', 'a', 'b', 'B', 'ab', '10', '9', 'é', 0, 1, 2, -1, 1.5, 10, true, false];
    const FIELDS = ['x', 'y', 'z'];
    const OPS = ['eq', '$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte'] as const;
    type Op = (typeof OPS)[number];

    const randomValue = (): unknown => {
      const k = r();
      if (k < 0.1) return undefined;
      if (k < 0.15) return null;
      if (k < 0.35) return Array.from({ length: Math.floor(r() * 4) }, () => pick(SCALARS));
      return pick(SCALARS);
    };
    const randomMetadata = (): Metadata => {
      const m: Record<string, unknown> = {};
      for (const f of FIELDS) {
        const v = randomValue();
        if (v !== undefined) m[f] = v;
      }
      return m;
    };
    const randomBound = (op: Op): Scalar | Scalar[] => {
      if (op === '$in' || op === '$nin') return Array.from({ length: Math.floor(r() * 4) }, () => pick(SCALARS));
      if (op === '$gt' || op === '$gte' || op === '$lt' || op === '$lte') return pick(SCALARS.filter((s) => typeof s !== 'boolean'));
      return pick(SCALARS);
    };
    const leaf = (field: string, op: Op, bound: Scalar | Scalar[]): Filter =>
      op === 'eq' ? { [field]: bound as Scalar } : ({ [field]: { [op]: bound } } as Filter);

    // Brute force: one comparison per element, written from the documented semantics.
    const sameTypeCompare = (a: unknown, b: Scalar): number | undefined =>
      (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string') ? (a < b ? -1 : a > b ? 1 : 0) : undefined;
    const elementTest = (op: Op, bound: Scalar | Scalar[], e: unknown): boolean => {
      const c = Array.isArray(bound) ? undefined : sameTypeCompare(e, bound);
      switch (op) {
        case 'eq':
        case '$eq':
          return e === bound;
        case '$ne':
          return e !== bound;
        case '$in':
          return (bound as Scalar[]).some((b) => b === e);
        case '$nin':
          return !(bound as Scalar[]).some((b) => b === e);
        case '$gt':
          return c !== undefined && c > 0;
        case '$gte':
          return c !== undefined && c >= 0;
        case '$lt':
          return c !== undefined && c < 0;
        case '$lte':
          return c !== undefined && c <= 0;
      }
    };
    const oracle = (op: Op, bound: Scalar | Scalar[], value: unknown): boolean => {
      if (!Array.isArray(value)) return elementTest(op, bound, value);
      return op === '$ne' || op === '$nin' ? value.every((e) => elementTest(op, bound, e)) : value.some((e) => elementTest(op, bound, e));
    };

    const randomFilter = (depth: number): Filter => {
      const k = r();
      if (depth < 3 && k < 0.2) return { $and: Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomFilter(depth + 1)) };
      if (depth < 3 && k < 0.4) return { $or: Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomFilter(depth + 1)) };
      const op = pick(OPS);
      return leaf(pick(FIELDS), op, randomBound(op));
    };
    const evaluate = (f: Filter, m: Metadata): boolean =>
      Object.entries(f).every(([key, c]) => {
        if (key === '$and') return (c as Filter[]).every((g) => evaluate(g, m));
        if (key === '$or') return (c as Filter[]).some((g) => evaluate(g, m));
        const [op, bound] = typeof c === 'object' && c !== null && !Array.isArray(c) ? (Object.entries(c)[0] as [Op, Scalar | Scalar[]]) : (['eq', c] as [Op, Scalar]);
        return oracle(op, bound, m[key]);
      });

    for (let round = 0; round < 3000; round++) {
      const m = randomMetadata();
      // Single conditions against the element-wise oracle.
      const op = pick(OPS);
      const field = pick(FIELDS);
      const bound = randomBound(op);
      const single = leaf(field, op, bound);
      expect(matchesFilter(single, m)).toBe(oracle(op, bound, m[field]));

      // Negation pairs hold for scalars, missing fields and lists alike.
      const s = pick(SCALARS);
      expect(matchesFilter({ [field]: { $ne: s } }, m)).toBe(!matchesFilter({ [field]: { $eq: s } }, m));
      expect(matchesFilter({ [field]: { $eq: s } }, m)).toBe(matchesFilter({ [field]: s }, m));
      const list = randomBound('$in') as Scalar[];
      expect(matchesFilter({ [field]: { $nin: list } }, m)).toBe(!matchesFilter({ [field]: { $in: list } }, m));
      expect(matchesFilter({ [field]: { $in: list } }, m)).toBe(list.some((v) => matchesFilter({ [field]: v }, m)));

      // Trees: the brute-force evaluator, $and/$or as conjunction/disjunction, and parse round trips.
      const f = randomFilter(0);
      const g = randomFilter(0);
      expect(matchesFilter(f, m)).toBe(evaluate(f, m));
      expect(matchesFilter({ $and: [f, g] }, m)).toBe(matchesFilter(f, m) && matchesFilter(g, m));
      expect(matchesFilter({ $or: [f, g] }, m)).toBe(matchesFilter(f, m) || matchesFilter(g, m));
      const parsed = parseFilter(JSON.parse(JSON.stringify(f)));
      expect(parsed).toEqual(f);
      expect(matchesFilter(parsed, m)).toBe(matchesFilter(f, m));
    }
  });
});
