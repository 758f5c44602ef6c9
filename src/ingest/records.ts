/**
 * Reads documents for bulk indexing from JSONL (one object per line, BEIR's corpus.jsonl
 * included) or CSV (header row, RFC 4180 quoting). Fields other than id/text/title become metadata.
 */
import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { InvalidInputError } from '../errors.ts';
import type { DocumentInput } from '../search/documents.ts';

export interface FieldNames {
  /** Default: `_id` (BEIR), else `id`. */
  readonly id?: string;
  readonly text: string;
  /** Default: `title` when present. */
  readonly title?: string;
}

function toDocument(row: Record<string, unknown>, fields: FieldNames, where: string): DocumentInput | undefined {
  const idField = fields.id ?? ('_id' in row ? '_id' : 'id');
  const titleField = fields.title ?? 'title';
  const id = row[idField];
  if (typeof id !== 'string' && typeof id !== 'number') throw new InvalidInputError(`${where}: field '${idField}' is missing (use --id-field)`);
  const rawText = row[fields.text];
  const rawTitle = row[titleField];
  const text = typeof rawText === 'string' ? rawText : '';
  const title = typeof rawTitle === 'string' && rawTitle.trim() ? rawTitle : null;
  if (!text.trim() && !title) return undefined; // nothing to embed (e.g. Cranfield's two empty documents)
  const metadata: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (k !== idField && k !== fields.text && k !== titleField) metadata[k] = v;
  return { id: String(id), text: text.trim() ? text : title!, title: text.trim() ? title : null, metadata };
}

/** Splits CSV text into rows, honouring quoted fields with commas, quotes ("") and newlines. */
export function* parseCsv(text: string): Generator<string[]> {
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.length > 1 || row[0] !== '') yield row;
      row = [];
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    yield row;
  }
}

export interface ReadResult {
  readonly documents: DocumentInput[];
  /** Rows with neither text nor title. */
  readonly skippedEmpty: number;
}

export async function readRecords(path: string, fields: FieldNames): Promise<ReadResult> {
  const documents: DocumentInput[] = [];
  let skippedEmpty = 0;
  const add = (row: Record<string, unknown>, where: string) => {
    const doc = toDocument(row, fields, where);
    if (doc) documents.push(doc);
    else skippedEmpty++;
  };
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') {
    const { readFile } = await import('node:fs/promises');
    const rows = parseCsv(await readFile(path, 'utf8'));
    const first = rows.next();
    const header: string[] | undefined = first.done ? undefined : first.value;
    if (!header) throw new InvalidInputError(`${path} is empty`);
    let line = 1;
    for (const cells of rows) {
      line++;
      add(Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ''])), `${path} row ${line}`);
    }
  } else if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') {
    let line = 0;
    for await (const raw of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      line++;
      if (!raw.trim()) continue;
      let row: unknown;
      try {
        row = JSON.parse(raw);
      } catch (err) {
        throw new InvalidInputError(`${path} line ${line} is not valid JSON: ${(err as Error).message}`);
      }
      if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new InvalidInputError(`${path} line ${line} is not a JSON object`);
      add(row as Record<string, unknown>, `${path} line ${line}`);
    }
  } else {
    throw new InvalidInputError(`${path}: expected a .jsonl or .csv file`);
  }
  const seen = new Set<string>();
  for (const d of documents) {
    if (seen.has(d.id)) throw new InvalidInputError(`${path}: document id '${d.id}' appears more than once`);
    seen.add(d.id);
  }
  return { documents, skippedEmpty };
}
