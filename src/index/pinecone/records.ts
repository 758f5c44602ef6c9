/** Vectors, ids and metadata checked and converted to Pinecone records, and Pinecone's request-size limits. */
import type { PineconeRecord, RecordMetadata } from '@pinecone-database/pinecone';
import { InvalidInputError, InvalidVectorError } from '../../errors.ts';
import type { Metadata } from '../../values/filter.ts';
import type { IndexedVector } from '../types.ts';

/** Pinecone's documented limits: 1000 records and 2 MB per upsert, 1000 ids per delete, topK <= 10000. */
export const UPSERT_MAX_RECORDS = 100;
export const UPSERT_MAX_BYTES = 2 * 1024 * 1024 - 64 * 1024;
export const DELETE_MAX_IDS = 1000;
export const MAX_TOP_K = 10_000;
export const MAX_METADATA_BYTES = 40 * 1024;
export const MAX_ID_BYTES = 512;
/** Ids per fetch: they travel in the query string, and 100 keeps the URL well under common 8 KB limits. */
export const FETCH_MAX_IDS = 100;

/**
 * Pinecone stores string, number, boolean and list-of-string values under keys that do not start
 * with '$'. Null/undefined values are dropped (Pinecone rejects null; absent is the closest
 * meaning); anything else is an InvalidInputError naming the key.
 */
export function toPineconeMetadata(metadata: Metadata | undefined, what = 'metadata'): RecordMetadata | undefined {
  if (metadata === undefined || metadata === null) return undefined;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw new InvalidInputError(`${what} must be an object`);
  const out: RecordMetadata = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (key === '' || key.startsWith('$')) throw new InvalidInputError(`${what}: key '${key}' is not allowed by Pinecone (empty or starting with '$')`);
    if (value === null || value === undefined) continue;
    if (typeof value === 'string' || typeof value === 'boolean') {
      out[key] = value;
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new InvalidInputError(`${what}.${key} is ${value}; Pinecone stores only finite numbers`);
      out[key] = value;
    } else if (Array.isArray(value)) {
      if (!value.every((v) => typeof v === 'string')) {
        throw new InvalidInputError(`${what}.${key}: Pinecone lists may hold only strings`);
      }
      out[key] = [...(value as string[])];
    } else if (typeof value === 'object') {
      throw new InvalidInputError(`${what}.${key}: nested objects are not supported by Pinecone (use flat keys like '${key}_field')`);
    } else {
      throw new InvalidInputError(`${what}.${key} has type ${typeof value}; Pinecone stores strings, numbers, booleans and lists of strings`);
    }
  }
  if (Object.keys(out).length === 0) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(out));
  if (bytes > MAX_METADATA_BYTES) throw new InvalidInputError(`${what} is ${bytes} bytes; Pinecone allows ${MAX_METADATA_BYTES} per record`);
  return out;
}

export function toValues(vector: unknown, dimensions: number, what: string): number[] {
  if (!(vector instanceof Float32Array) && !Array.isArray(vector)) {
    throw new InvalidVectorError(`${what} must be a Float32Array or an array of numbers`);
  }
  if (vector.length !== dimensions) {
    throw new InvalidVectorError(`${what} has ${vector.length} dimensions; this index has ${dimensions}`, { expected: dimensions, got: vector.length });
  }
  const out = new Array<number>(dimensions);
  for (let i = 0; i < dimensions; i++) {
    const x: unknown = vector[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new InvalidVectorError(`${what}[${i}] is ${String(x)}; vectors must hold finite numbers`);
    out[i] = x;
  }
  return out;
}

export function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidInputError(`${what} must be a non-empty string`);
  if (Buffer.byteLength(id) > MAX_ID_BYTES) throw new InvalidInputError(`${what} is longer than Pinecone's ${MAX_ID_BYTES} bytes`);
  return id;
}

/** Splits records into requests of at most UPSERT_MAX_RECORDS and about UPSERT_MAX_BYTES of JSON. */
export function upsertBatches<T extends { readonly id: string }>(records: readonly T[], maxRecords = UPSERT_MAX_RECORDS, maxBytes = UPSERT_MAX_BYTES): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = Buffer.byteLength(JSON.stringify(r)) + 1;
    if (current.length > 0 && (current.length >= maxRecords || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** One vector to upsert as a Pinecone record, checked against the index's dimensions (`what` names it in errors). */
export function toPineconeRecord(item: IndexedVector, dimensions: number, what: string): PineconeRecord {
  const id = checkId(item.id, `${what}.id`);
  const values = toValues(item.vector, dimensions, `${what}.vector`);
  const metadata = toPineconeMetadata(item.metadata, `${what}.metadata`);
  return metadata === undefined ? { id, values } : { id, values, metadata };
}

/** A record read back (fetch) as a vector and its metadata. */
export function fromPineconeRecord(record: PineconeRecord): { vector: Float32Array; metadata?: Metadata } {
  return { vector: Float32Array.from(record.values ?? []), ...(record.metadata !== undefined && { metadata: record.metadata }) };
}
