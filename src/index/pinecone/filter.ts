/** Translation of Sextant's metadata filter (src/values/filter.ts) to Pinecone's filter language. */
import { InvalidInputError } from '../../errors.ts';
import type { FieldCondition, Filter, Scalar } from '../../values/filter.ts';

/** A Pinecone metadata filter (JSON object in Pinecone's MongoDB-like language). */
export type PineconeFilter = { readonly [key: string]: unknown };

/**
 * Translates our filter to Pinecone's. Returns `{}` when the filter constrains nothing (send no
 * filter) and `null` when no record can match (e.g. `$in: []`), which Pinecone cannot express;
 * the caller answers that without a request.
 *
 * Differences handled: Pinecone's `$gt/$gte/$lt/$lte` take numbers only (a string bound is an
 * InvalidInputError, since Pinecone would reject or misorder it); `$in/$nin` take strings and
 * numbers only, so booleans in them become `$eq`/`$ne` clauses; equality shorthand becomes an
 * explicit `$eq`; several fields in one object become an explicit `$and`.
 */
export function toPineconeFilter(filter: Filter): PineconeFilter | null {
  const out = translate(filter, 'filter');
  return out === MATCH_ALL ? {} : out === MATCH_NONE ? null : out;
}

const MATCH_ALL = Symbol('all');
const MATCH_NONE = Symbol('none');
type Translated = PineconeFilter | typeof MATCH_ALL | typeof MATCH_NONE;

function conjunction(parts: readonly Translated[]): Translated {
  const kept: PineconeFilter[] = [];
  for (const p of parts) {
    if (p === MATCH_NONE) return MATCH_NONE;
    if (p !== MATCH_ALL) kept.push(p);
  }
  if (kept.length === 0) return MATCH_ALL;
  return kept.length === 1 ? kept[0]! : { $and: kept };
}

function disjunction(parts: readonly Translated[]): Translated {
  const kept: PineconeFilter[] = [];
  for (const p of parts) {
    if (p === MATCH_ALL) return MATCH_ALL;
    if (p !== MATCH_NONE) kept.push(p);
  }
  if (kept.length === 0) return MATCH_NONE;
  return kept.length === 1 ? kept[0]! : { $or: kept };
}

function translate(filter: Filter, path: string): Translated {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new InvalidInputError(`${path} must be an object`);
  }
  const parts: Translated[] = [];
  for (const [key, condition] of Object.entries(filter)) {
    if (condition === undefined) continue;
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(condition) || condition.length === 0) throw new InvalidInputError(`${path}.${key} must be a non-empty array of filters`);
      const subs = (condition as readonly Filter[]).map((f, i) => translate(f, `${path}.${key}[${i}]`));
      parts.push(key === '$and' ? conjunction(subs) : disjunction(subs));
    } else if (key.startsWith('$')) {
      throw new InvalidInputError(`${path}: unknown operator '${key}'`);
    } else {
      parts.push(translateField(key, condition as FieldCondition, `${path}.${key}`));
    }
  }
  return conjunction(parts);
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function translateField(field: string, condition: FieldCondition, path: string): Translated {
  if (typeof condition !== 'object' || condition === null) {
    if (!isScalar(condition)) throw new InvalidInputError(`${path} must be a string, number, boolean or an operator object`);
    return { [field]: { $eq: condition } };
  }
  const ops: Record<string, unknown> = {};
  const extra: Translated[] = [];
  for (const [op, value] of Object.entries(condition)) {
    if (value === undefined) continue;
    switch (op) {
      case '$eq':
      case '$ne':
        if (!isScalar(value)) throw new InvalidInputError(`${path}.${op} must be a string, number or boolean`);
        ops[op] = value;
        break;
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          throw new InvalidInputError(
            `${path}.${op}: Pinecone compares only numbers with $gt/$gte/$lt/$lte, got ${JSON.stringify(value)}; ` +
              'store the field as a number (e.g. epoch milliseconds for dates) to range-filter on the pinecone backend',
          );
        }
        ops[op] = value;
        break;
      case '$in':
      case '$nin': {
        if (!Array.isArray(value) || !value.every(isScalar)) throw new InvalidInputError(`${path}.${op} must be an array of strings, numbers or booleans`);
        const others = value.filter((v) => typeof v !== 'boolean');
        const bools = [...new Set(value.filter((v): v is boolean => typeof v === 'boolean'))];
        if (op === '$in') {
          // Pinecone's $in takes strings and numbers; a boolean member is an equality alternative.
          if (bools.length === 0 && others.length > 0) ops.$in = others;
          else extra.push(disjunction([...bools.map((b) => ({ [field]: { $eq: b } })), ...(others.length > 0 ? [{ [field]: { $in: others } }] : [])]));
        } else {
          if (others.length > 0) ops.$nin = others;
          for (const b of bools) extra.push({ [field]: { $ne: b } });
        }
        break;
      }
      default:
        throw new InvalidInputError(`${path}: unknown operator '${op}'`);
    }
  }
  if (Object.keys(ops).length === 0 && extra.length === 0 && Object.keys(condition).length === 0) {
    throw new InvalidInputError(`${path}: empty condition`);
  }
  return conjunction([...(Object.keys(ops).length > 0 ? [{ [field]: ops }] : []), ...extra]);
}
