/**
 * Small helpers every repository uses to read and write rows: timestamps, JSON columns, argument
 * checks and chunked `IN (...)` lists. Separate so the repositories share one definition of each
 * (a JSON column parsed two ways would be a bug) without importing one another.
 */
import { InvalidInputError } from '../errors.ts';

/** Ids per `IN (...)` list; lists are padded to a power of two so few statements get cached. */
export const ID_CHUNK = 512;

export function nowIso(): string {
  return new Date().toISOString();
}

/** A JSON column that should hold an object; anything else reads as `{}`. */
export function parseJsonObject(text: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A JSON column that should hold an array of strings (document ids); anything else is corrupt. */
export function parseJsonStringArray(text: string, what: string): string[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value) || !value.every((x) => typeof x === 'string')) throw new Error(`corrupt ${what}: expected a JSON array of strings`);
  return value as string[];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function requireName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidInputError(`${what} must be a non-empty string`);
}

/** Deduplicated ids in chunks of at most ID_CHUNK, each padded (repeating its last id) to a power of two. */
export function idChunks(ids: readonly string[]): string[][] {
  const unique = [...new Set(ids)];
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += ID_CHUNK) {
    const chunk = unique.slice(i, i + ID_CHUNK);
    let size = 1;
    while (size < chunk.length) size *= 2;
    while (chunk.length < size) chunk.push(chunk[chunk.length - 1]);
    chunks.push(chunk);
  }
  return chunks;
}

export function placeholders(n: number): string {
  return new Array<string>(n).fill('?').join(',');
}
