/**
 * Metadata filters: `{field: value}` equality, operators `$eq $ne $in $nin $gt $gte $lt $lte`,
 * combined with `$and` / `$or` (Pinecone's and MongoDB's syntax, so translation to Pinecone is
 * the identity on valid filters). One evaluator serves every local use (HNSW search, delete by
 * filter, exact fallback) so the semantics cannot drift apart.
 */
import { z } from 'zod';
import { InvalidInputError } from '../errors.ts';

export type Scalar = string | number | boolean;
export type Metadata = Readonly<Record<string, unknown>>;

export type FieldCondition =
  | Scalar
  | {
      $eq?: Scalar;
      $ne?: Scalar;
      $in?: readonly Scalar[];
      $nin?: readonly Scalar[];
      $gt?: number | string;
      $gte?: number | string;
      $lt?: number | string;
      $lte?: number | string;
    };

export interface Filter {
  readonly $and?: readonly Filter[];
  readonly $or?: readonly Filter[];
  readonly [field: string]: FieldCondition | readonly Filter[] | undefined;
}

const scalar = z.union([z.string(), z.number().finite(), z.boolean()]);
const comparable = z.union([z.number().finite(), z.string()]);
const OPERATORS = ['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte'] as const;
const operatorSchema = z
  .object({
    $eq: scalar.optional(),
    $ne: scalar.optional(),
    $in: z.array(scalar).optional(),
    $nin: z.array(scalar).optional(),
    $gt: comparable.optional(),
    $gte: comparable.optional(),
    $lt: comparable.optional(),
    $lte: comparable.optional(),
  })
  .strict();

const MAX_DEPTH = 8;

/**
 * The one field name refused: it cannot be a key of a plain object (`out['__proto__'] = v` sets
 * the prototype, or for a scalar does nothing, and zod's records skip it). JSON.parse makes it an
 * own key, so a client can send it; dropped, the filter would be broader than the one sent. It is
 * refused as a metadata key too (src/api/schemas.ts, src/ingest/records.ts). Other names plain
 * objects inherit ('constructor', 'toString') are ordinary fields.
 */
export const FORBIDDEN_FIELD = '__proto__';

/** Validates an untrusted filter; throws InvalidInputError naming the offending path. */
export function parseFilter(input: unknown, path = 'filter', depth = 0): Filter {
  if (depth > MAX_DEPTH) throw new InvalidInputError(`${path}: filters nest at most ${MAX_DEPTH} levels`);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidInputError(`${path} must be an object like {"field": value} or {"field": {"$gt": 1}}`);
  }
  const out: Record<string, FieldCondition | Filter[]> = {};
  for (const [key, value] of Object.entries(input)) {
    if (key === FORBIDDEN_FIELD) {
      throw new InvalidInputError(`${path}.${key}: the field name '${FORBIDDEN_FIELD}' is not allowed`);
    } else if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) throw new InvalidInputError(`${path}.${key} must be a non-empty array of filters`);
      out[key] = value.map((v, i) => parseFilter(v, `${path}.${key}[${i}]`, depth + 1));
    } else if (key.startsWith('$')) {
      throw new InvalidInputError(`${path}: unknown operator '${key}' (supported: $and, $or, ${OPERATORS.join(', ')})`);
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const unknown = Object.keys(value).filter((k) => !(OPERATORS as readonly string[]).includes(k));
      if (unknown.length > 0) throw new InvalidInputError(`${path}.${key}: unknown operator '${unknown[0]}' (supported: ${OPERATORS.join(', ')})`);
      if (Object.keys(value).length === 0) throw new InvalidInputError(`${path}.${key}: empty condition`);
      const parsed = operatorSchema.safeParse(value);
      if (!parsed.success) throw new InvalidInputError(`${path}.${key}: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
      out[key] = parsed.data;
    } else {
      const parsed = scalar.safeParse(value);
      if (!parsed.success) throw new InvalidInputError(`${path}.${key} must be a string, number, boolean or an operator object`);
      out[key] = parsed.data;
    }
  }
  return out as Filter;
}

function compare(a: unknown, b: number | string, test: (d: number) => boolean): boolean {
  if (typeof a === 'number' && typeof b === 'number') return test(a - b);
  if (typeof a === 'string' && typeof b === 'string') return test(a < b ? -1 : a > b ? 1 : 0);
  return false;
}

/** Array metadata values match when any element matches (Pinecone's list semantics). */
function matchesCondition(value: unknown, condition: FieldCondition): boolean {
  if (Array.isArray(value)) {
    if (typeof condition === 'object' && (condition.$ne !== undefined || condition.$nin !== undefined)) {
      return value.every((v) => matchesCondition(v, condition));
    }
    return value.some((v) => matchesCondition(v, condition));
  }
  if (typeof condition !== 'object') return value === condition;
  if (condition.$eq !== undefined && value !== condition.$eq) return false;
  if (condition.$ne !== undefined && value === condition.$ne) return false;
  if (condition.$in !== undefined && !condition.$in.includes(value as Scalar)) return false;
  if (condition.$nin !== undefined && condition.$nin.includes(value as Scalar)) return false;
  if (condition.$gt !== undefined && !compare(value, condition.$gt, (d) => d > 0)) return false;
  if (condition.$gte !== undefined && !compare(value, condition.$gte, (d) => d >= 0)) return false;
  if (condition.$lt !== undefined && !compare(value, condition.$lt, (d) => d < 0)) return false;
  if (condition.$lte !== undefined && !compare(value, condition.$lte, (d) => d <= 0)) return false;
  return true;
}

/** A field is an own key of the metadata: inherited properties (`toString`, `constructor`) are missing fields. */
export function matchesFilter(filter: Filter, metadata: Metadata | undefined): boolean {
  const m = metadata ?? {};
  for (const [key, condition] of Object.entries(filter)) {
    if (condition === undefined) continue;
    if (key === '$and') {
      if (!(condition as Filter[]).every((f) => matchesFilter(f, m))) return false;
    } else if (key === '$or') {
      if (!(condition as Filter[]).some((f) => matchesFilter(f, m))) return false;
    } else if (!matchesCondition(Object.hasOwn(m, key) ? m[key] : undefined, condition as FieldCondition)) {
      return false;
    }
  }
  return true;
}
