/**
 * Metadata filters (src/values/filter.ts) as SQL over the `documents.metadata` JSON column, so
 * `idsMatching` reads only the ids that match instead of parsing every row's metadata in
 * JavaScript. Separate because the translation must agree with `matchesFilter` exactly (the HNSW
 * index, delete-by-filter and exact search all use that evaluator;
 * tests/unit/store/filter-sql.test.ts checks the two against each other) and is easiest to reason
 * about on its own.
 *
 * How `matchesFilter` reads, and how the SQL says the same:
 * - A field is looked up as `json_type`/`json_extract(metadata, '$."field"')`; the path is bound as
 *   a parameter (never spliced into the SQL) with `"` and `\` escaped. Values are bound too.
 * - Equality is strict (`===`): a string matches only JSON text, a number only a JSON number
 *   (compared as a double, like JavaScript's parse of the same text), a boolean only JSON
 *   true/false — `json_type` tells those apart, so `{featured: true}` never matches the number 1.
 * - A missing field, JSON null and a nested object equal nothing: positive operators ($eq, $in,
 *   ranges) fail and $ne/$nin hold. Every type check uses `IS`, so a missing field (SQL NULL)
 *   gives 0, never NULL, and `NOT` works.
 * - Ranges compare numbers with numbers and strings with strings; mixed types fail.
 * - An array field matches when any element does, or, when the condition has $ne or $nin, when
 *   every element does; nested arrays are flattened (matchesCondition recurses). That is an
 *   EXISTS / NOT EXISTS over the `json_tree` rows under the field that are not arrays and sit
 *   under arrays only: their full key after the field's path holds `[n]` steps and no `.` (an
 *   object member step), so an object inside an array is one element and its members are not.
 *
 * Left to JavaScript (the rows SQL cannot decide are re-checked with `matchesFilter`):
 * - `inexpressible` parts: field names holding NUL (SQLite paths cannot name them) or a lone
 *   surrogate; strings with a lone surrogate (their UTF-8 encoding is not well defined); range
 *   bounds holding a code unit at or above U+D800 (JavaScript orders strings by UTF-16 code unit,
 *   SQLite by UTF-8 byte, i.e. code point, and the two disagree from there); non-finite numbers.
 *   Conjuncts at the top of the filter that are expressible still narrow the rows in SQL.
 * - `malformed` filters, outside the `Filter` type (a null condition, `$and` that is not an array,
 *   an operator value of the wrong type): those are evaluated entirely in JavaScript over every
 *   row, exactly as before, so whatever `matchesFilter` does with them (including throwing) holds.
 */
import type { Filter } from '../values/filter.ts';

/** SQL text with its positional parameters, in text order. */
export class Sql {
  constructor(
    readonly text: string,
    readonly params: readonly (string | number)[],
  ) {}
}

/** Tagged template: interpolated `Sql` is spliced in, any other value becomes a bound `?`. */
function sql(strings: TemplateStringsArray, ...values: (Sql | string | number)[]): Sql {
  let text = strings[0]!;
  const params: (string | number)[] = [];
  values.forEach((value, i) => {
    if (value instanceof Sql) {
      text += value.text;
      params.push(...value.params);
    } else {
      text += '?';
      params.push(value);
    }
    text += strings[i + 1]!;
  });
  return new Sql(text, params);
}

/** Only for constant SQL written here, never for input. */
function raw(text: string): Sql {
  return new Sql(text, []);
}

function joinSql(parts: readonly Sql[], separator: 'AND' | 'OR'): Sql {
  if (parts.length === 0) return raw(separator === 'AND' ? '1' : '0');
  if (parts.length === 1) return parts[0]!;
  return new Sql(`(${parts.map((p) => p.text).join(` ${separator} `)})`, parts.flatMap((p) => p.params));
}

const INEXPRESSIBLE = 'inexpressible';
const MALFORMED = 'malformed';
type Translation = Sql | typeof INEXPRESSIBLE | typeof MALFORMED;

/** Combines children: malformed wins over inexpressible, which wins over SQL. */
function combine(children: readonly Translation[], separator: 'AND' | 'OR'): Translation {
  if (children.includes(MALFORMED)) return MALFORMED;
  if (children.includes(INEXPRESSIBLE)) return INEXPRESSIBLE;
  return joinSql(children as Sql[], separator);
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** From U+D800 on, UTF-16 code unit order and code point order disagree. */
const ORDER_UNSAFE = /[\uD800-\uFFFF]/;

/** How a JSON value is typed and read: `json_type`/`json_extract` of a field, or a json_tree row. */
interface Leaf {
  readonly type: Sql;
  readonly value: Sql;
}

function isNumber(leaf: Leaf): Sql {
  return sql`(${leaf.type} IS 'integer' OR ${leaf.type} IS 'real')`;
}

/** `value === c` for a scalar c. */
function equals(leaf: Leaf, c: unknown): Translation {
  switch (typeof c) {
    case 'string':
      if (LONE_SURROGATE.test(c)) return INEXPRESSIBLE;
      return sql`(${leaf.type} IS 'text' AND ${leaf.value} = ${c})`;
    case 'number':
      if (!Number.isFinite(c)) return INEXPRESSIBLE;
      // As a double: JavaScript parsed 1152921504606847000 to 2^60, SQLite to an exact integer.
      return sql`(${isNumber(leaf)} AND CAST(${leaf.value} AS REAL) = ${c})`;
    case 'boolean':
      return sql`${leaf.type} IS ${raw(c ? `'true'` : `'false'`)}`;
    default:
      return MALFORMED;
  }
}

/** `list.includes(value)`, the list bound as one JSON array per type so the SQL text is fixed. */
function inList(leaf: Leaf, list: unknown): Translation {
  if (!Array.isArray(list)) return MALFORMED;
  const strings: string[] = [];
  const numbers: number[] = [];
  const booleans = new Set<boolean>();
  for (const item of list as unknown[]) {
    if (typeof item === 'string') {
      if (LONE_SURROGATE.test(item)) return INEXPRESSIBLE;
      strings.push(item);
    } else if (typeof item === 'number') {
      if (!Number.isFinite(item)) return INEXPRESSIBLE;
      numbers.push(item);
    } else if (typeof item === 'boolean') {
      booleans.add(item);
    } else {
      return MALFORMED;
    }
  }
  const parts: Sql[] = [];
  if (strings.length > 0) parts.push(sql`(${leaf.type} IS 'text' AND ${leaf.value} IN (SELECT value FROM json_each(${JSON.stringify(strings)})))`);
  if (numbers.length > 0) {
    parts.push(
      sql`(${isNumber(leaf)} AND CAST(${leaf.value} AS REAL) IN (SELECT CAST(value AS REAL) FROM json_each(${JSON.stringify(numbers)})))`,
    );
  }
  for (const b of booleans) parts.push(sql`${leaf.type} IS ${raw(b ? `'true'` : `'false'`)}`);
  return joinSql(parts, 'OR');
}

/** `compare(value, bound, test)`: numbers with numbers, strings with strings, else false. */
function range(leaf: Leaf, operator: '>' | '>=' | '<' | '<=', bound: unknown): Translation {
  if (typeof bound === 'number') {
    if (!Number.isFinite(bound)) return INEXPRESSIBLE;
    return sql`(${isNumber(leaf)} AND CAST(${leaf.value} AS REAL) ${raw(operator)} ${bound})`;
  }
  if (typeof bound === 'string') {
    if (ORDER_UNSAFE.test(bound)) return INEXPRESSIBLE;
    return sql`(${leaf.type} IS 'text' AND ${leaf.value} ${raw(operator)} ${bound})`;
  }
  return MALFORMED;
}

function not(t: Translation): Translation {
  return t instanceof Sql ? sql`(NOT ${t})` : t;
}

const RANGES = [
  ['$gt', '>'],
  ['$gte', '>='],
  ['$lt', '<'],
  ['$lte', '<='],
] as const;

/** matchesCondition for one non-array value: every operator that is set must hold. */
function leafCondition(leaf: Leaf, condition: unknown): Translation {
  if (!isPlainRecord(condition)) return equals(leaf, condition);
  const parts: Translation[] = [];
  if (condition.$eq !== undefined) parts.push(equals(leaf, condition.$eq));
  if (condition.$ne !== undefined) parts.push(not(equals(leaf, condition.$ne)));
  if (condition.$in !== undefined) parts.push(inList(leaf, condition.$in));
  if (condition.$nin !== undefined) parts.push(not(inList(leaf, condition.$nin)));
  for (const [op, operator] of RANGES) if (condition[op] !== undefined) parts.push(range(leaf, operator, condition[op]));
  return combine(parts, 'AND');
}

function isScalar(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/**
 * The SQLite JSON path of a top-level metadata field (`$."field"`, quotes and backslashes escaped),
 * or undefined for a field a path cannot name (NUL, a lone surrogate).
 */
export function fieldPath(field: string): string | undefined {
  if (field.includes('\u0000') || LONE_SURROGATE.test(field)) return undefined;
  return `$."${field.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function fieldCondition(field: string, condition: unknown): Translation {
  if (!isScalar(condition) && !isPlainRecord(condition)) return MALFORMED;
  // A field no path can name still has its condition checked for malformation first ('$' stands in).
  const named = fieldPath(field);
  const path = named ?? '$';
  const top = leafCondition({ type: sql`json_type(d.metadata, ${path})`, value: sql`json_extract(d.metadata, ${path})` }, condition);
  const element = leafCondition({ type: raw('j.type'), value: raw('j.atom') }, condition);
  if (top === MALFORMED || element === MALFORMED) return MALFORMED;
  if (named === undefined) return INEXPRESSIBLE;
  if (top === INEXPRESSIBLE || element === INEXPRESSIBLE) return INEXPRESSIBLE;
  // The flattened elements of an array field: non-array json_tree rows with only [n] steps
  // (no '.', which starts every object member step) after the field's own path.
  const elements = sql`SELECT 1 FROM json_tree(d.metadata, ${path}) AS j
    WHERE j.type IS NOT 'array' AND instr(substr(CAST(j.fullkey AS BLOB), ${Buffer.byteLength(path) + 1}), X'2E') = 0`;
  const every = isPlainRecord(condition) && (condition.$ne !== undefined || condition.$nin !== undefined);
  const quantified = every ? sql`NOT EXISTS (${elements} AND NOT ${element})` : sql`EXISTS (${elements} AND ${element})`;
  return sql`(CASE json_type(d.metadata, ${path}) WHEN 'array' THEN ${quantified} ELSE ${top} END)`;
}

function entryCondition(key: string, condition: unknown): Translation {
  if (key === '$and' || key === '$or') {
    if (!Array.isArray(condition)) return MALFORMED;
    return combine((condition as unknown[]).map(translate), key === '$and' ? 'AND' : 'OR');
  }
  return fieldCondition(key, condition);
}

function translate(filter: unknown): Translation {
  if (!isPlainRecord(filter)) return MALFORMED;
  const parts: Translation[] = [];
  for (const [key, condition] of Object.entries(filter)) {
    if (condition !== undefined) parts.push(entryCondition(key, condition));
  }
  return combine(parts, 'AND');
}

/** The top-level conjuncts of a well-formed filter, `$and` members included, each translated. */
function conjuncts(filter: Record<string, unknown>, out: Translation[]): void {
  for (const [key, condition] of Object.entries(filter)) {
    if (condition === undefined) continue;
    if (key === '$and') for (const member of condition as Record<string, unknown>[]) conjuncts(member, out);
    else out.push(entryCondition(key, condition));
  }
}

export interface FilterPlan {
  /** A condition over `d.metadata` (`d` = the documents row); `1` when nothing narrows. */
  readonly where: Sql;
  /**
   * Part of the filter could not be said in SQL: `where` holds the conjuncts that could (a
   * superset of the matches), and each row it selects must still pass `matchesFilter`.
   */
  readonly residual: boolean;
}

/** The SQL for a filter; undefined when the filter is malformed and must be evaluated in JavaScript alone. */
export function planFilter(filter: Filter): FilterPlan | undefined {
  const whole = translate(filter);
  if (whole === MALFORMED) return undefined;
  if (whole instanceof Sql) return { where: whole, residual: false };
  const parts: Translation[] = [];
  conjuncts(filter as Record<string, unknown>, parts);
  return { where: joinSql(parts.filter((p): p is Sql => p instanceof Sql), 'AND'), residual: true };
}
