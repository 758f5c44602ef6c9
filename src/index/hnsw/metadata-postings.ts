/**
 * An inverted index over the HNSW index's metadata: field -> scalar value -> labels holding it
 * (an array value files its label under each element). A filtered search asks it for the
 * candidates of a filter instead of testing every document's metadata: at 1M documents that
 * test costs ~60 ms of JavaScript per search, a posting lookup costs nothing.
 *
 * Only equality narrows (`{f: v}`, `$eq`, `$in`, and `$and` / `$or` of those); `$ne`, `$nin` and
 * ranges keep every document a candidate. Candidates are a superset of the matches; `exact` says
 * when they are the matches themselves, so nobody needs to re-test them against the filter.
 */
import type { FieldCondition, Filter, Metadata, Scalar } from '../../values/filter.ts';

/** A set of labels described by posting sets, evaluated lazily (a 500k-label posting is never copied). */
export interface Candidates {
  /** Upper bound on the labels (exact when the candidates are one posting or a union of disjoint ones). */
  readonly bound: number;
  /** The candidates are exactly the filter's matches (no re-test needed). */
  readonly exact: boolean;
  has(label: number): boolean;
  /** Each candidate label once, in no particular order. */
  labels(): Iterable<number>;
}

/** Every live label is a candidate: what a filter with nothing to look up narrows to. */
export const EVERYTHING = null;

type Narrowed = Candidates | typeof EVERYTHING;

const EMPTY: ReadonlySet<number> = new Set();

export class MetadataPostings {
  private readonly fields = new Map<string, Map<string, Set<number>>>();

  add(label: number, metadata: Metadata | undefined): void {
    this.each(metadata, (field, key) => {
      let values = this.fields.get(field);
      if (!values) this.fields.set(field, (values = new Map()));
      let labels = values.get(key);
      if (!labels) values.set(key, (labels = new Set()));
      labels.add(label);
    });
  }

  remove(label: number, metadata: Metadata | undefined): void {
    this.each(metadata, (field, key) => {
      const values = this.fields.get(field);
      const labels = values?.get(key);
      if (!values || !labels) return;
      labels.delete(label);
      if (labels.size === 0) values.delete(key);
      if (values.size === 0) this.fields.delete(field);
    });
  }

  /** The candidates of `filter`, or EVERYTHING when no part of it can be looked up. */
  candidates(filter: Filter): Narrowed {
    return this.narrowAnd(filter);
  }

  private narrowAnd(filter: Filter): Narrowed {
    const parts: Narrowed[] = [];
    for (const [key, condition] of Object.entries(filter)) {
      if (condition === undefined) continue;
      if (key === '$and') parts.push(intersect((condition as Filter[]).map((f) => this.narrowAnd(f))));
      else if (key === '$or') parts.push(unite((condition as Filter[]).map((f) => this.narrowAnd(f))));
      else parts.push(this.narrowField(key, condition as FieldCondition));
    }
    return intersect(parts);
  }

  private narrowField(field: string, condition: FieldCondition): Narrowed {
    if (typeof condition !== 'object') return this.posting(field, [condition], true);
    const keys = Object.keys(condition).filter((k) => condition[k as keyof typeof condition] !== undefined);
    // With $ne or $nin present an array value must pass every operator with every element
    // (values/filter.ts), which an empty array does vacuously: no posting holds those.
    if (condition.$ne !== undefined || condition.$nin !== undefined) return EVERYTHING;
    const exact = keys.length === 1;
    // $eq and $in together: every match holds the $eq value, so that posting alone bounds them.
    if (condition.$eq !== undefined) return this.posting(field, [condition.$eq], exact);
    if (condition.$in !== undefined) return this.posting(field, condition.$in, exact);
    return EVERYTHING;
  }

  private posting(field: string, values: readonly Scalar[], exact: boolean): Candidates {
    const postings = this.fields.get(field);
    const sets = [...new Set(values.map(valueKey))].map((key) => postings?.get(key) ?? EMPTY);
    const union = unionOfSets(sets);
    return exact ? union : inexact(union);
  }

  private each(metadata: Metadata | undefined, visit: (field: string, key: string) => void): void {
    if (!metadata) return;
    for (const [field, value] of Object.entries(metadata)) {
      if (Array.isArray(value)) {
        for (const key of new Set(value.filter(isScalar).map(valueKey))) visit(field, key);
      } else if (isScalar(value)) {
        visit(field, valueKey(value));
      }
    }
  }
}

function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/** Filters compare with ===, so 1 and '1' are different values: the key keeps the type. */
function valueKey(value: Scalar): string {
  return `${typeof value === 'string' ? 's' : typeof value === 'number' ? 'n' : 'b'}:${String(value)}`;
}

/** The same candidates, no longer known to be exactly the matches. */
function inexact(c: Candidates): Candidates {
  return { bound: c.bound, exact: false, has: (label) => c.has(label), labels: () => c.labels() };
}

/** Posting sets of distinct values of one field are disjoint (a scalar has one value), not so for arrays. */
function unionOfSets(sets: readonly ReadonlySet<number>[]): Candidates {
  const nonEmpty = sets.filter((s) => s.size > 0);
  if (nonEmpty.length === 1) {
    const only = nonEmpty[0]!;
    return { bound: only.size, exact: true, has: (label) => only.has(label), labels: () => only };
  }
  return {
    bound: nonEmpty.reduce((n, s) => n + s.size, 0),
    exact: true,
    has: (label) => nonEmpty.some((s) => s.has(label)),
    labels: () => distinct(nonEmpty),
  };
}

function* distinct(parts: Iterable<Iterable<number>>): Iterable<number> {
  const seen = new Set<number>();
  for (const labels of parts) {
    for (const label of labels) {
      if (seen.has(label)) continue;
      seen.add(label);
      yield label;
    }
  }
}

function intersect(parts: readonly Narrowed[]): Narrowed {
  const narrowing = parts.filter((p): p is Candidates => p !== EVERYTHING);
  if (narrowing.length === 0) return EVERYTHING;
  const exact = narrowing.length === parts.length && narrowing.every((p) => p.exact);
  if (narrowing.length === 1) return exact || !narrowing[0]!.exact ? narrowing[0]! : inexact(narrowing[0]!);
  const smallest = narrowing.reduce((a, b) => (b.bound < a.bound ? b : a));
  const others = narrowing.filter((p) => p !== smallest);
  return {
    bound: smallest.bound,
    exact,
    has: (label) => smallest.has(label) && others.every((p) => p.has(label)),
    labels: function* () {
      for (const label of smallest.labels()) if (others.every((p) => p.has(label))) yield label;
    },
  };
}

function unite(parts: readonly Narrowed[]): Narrowed {
  if (parts.some((p) => p === EVERYTHING)) return EVERYTHING;
  const narrowing = parts as readonly Candidates[];
  if (narrowing.length === 1) return narrowing[0]!;
  return {
    bound: narrowing.reduce((n, p) => n + p.bound, 0),
    exact: narrowing.every((p) => p.exact),
    has: (label) => narrowing.some((p) => p.has(label)),
    labels: () => distinct(narrowing.map((p) => p.labels())),
  };
}
