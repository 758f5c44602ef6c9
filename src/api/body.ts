/** Reads and validates a JSON body: malformed JSON and schema violations become 400s with details. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { InvalidInputError } from '../errors.ts';
import { zodDetails } from './errors.ts';

/** `emptyAs`: the value an empty body stands for (for endpoints whose body is optional). */
export async function readJson<S extends z.ZodType>(c: Context, schema: S, options: { emptyAs?: unknown } = {}): Promise<z.infer<S>> {
  const raw = await c.req.text();
  if (raw.trim() === '' && options.emptyAs === undefined) throw new InvalidInputError('request body is empty; expected JSON');
  let parsed: unknown;
  try {
    parsed = raw.trim() === '' ? options.emptyAs : JSON.parse(raw);
  } catch (err) {
    throw new InvalidInputError(`request body is not valid JSON: ${(err as Error).message}`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const { message, details } = zodDetails(result.error);
    throw new InvalidInputError(message, { issues: details });
  }
  return result.data;
}
