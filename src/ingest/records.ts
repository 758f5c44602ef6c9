/**
 * Reads documents for bulk indexing from JSONL (one object per line, BEIR's corpus.jsonl
 * included) or CSV (header row, RFC 4180 quoting), streaming: a file is read a chunk at a time
 * as its documents are consumed, so one larger than memory can be indexed. Fields other than
 * id/text/title become metadata.
 *
 * Memory: one read chunk (64 KiB) plus the record being parsed, and one id per document read so
 * far (to reject a repeated id, as the whole-file reader did: the id strings only, a few tens of
 * bytes per document, never the texts). A single record (a JSONL line, a CSV row) may not exceed
 * MAX_RECORD_BYTES, so a file without line breaks or with a quote that never closes fails
 * instead of being buffered whole.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { pipeline } from 'node:stream';
import { CsvError, parse as csvParser, type Info } from 'csv-parse';
import { InvalidInputError } from '../errors.ts';
import type { DocumentInput } from '../search/documents.ts';
import { FORBIDDEN_FIELD } from '../values/filter.ts';

export interface FieldNames {
  /** Default: `_id` (BEIR), else `id`. */
  readonly id?: string;
  readonly text: string;
  /** Default: `title` when present. */
  readonly title?: string;
}

/** The largest JSONL line or CSV record accepted. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

const READ_CHUNK_BYTES = 64 * 1024;

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
  for (const [k, v] of Object.entries(row)) {
    if (k === idField || k === fields.text || k === titleField) continue;
    // Assigned, it would be dropped (or replace the prototype); the API refuses it as a metadata key too.
    if (k === FORBIDDEN_FIELD) throw new InvalidInputError(`${where}: field '${FORBIDDEN_FIELD}' cannot be metadata`);
    metadata[k] = v;
  }
  return { id: String(id), text: text.trim() ? text : title!, title: text.trim() ? title : null, metadata };
}

/** A row of the file, before it becomes a document. */
interface Row {
  readonly row: Record<string, unknown>;
  /** `<path> line N` (JSONL) or `<path> row N` (CSV), for messages. */
  readonly where: string;
  /** Bytes of the file up to the end of this row. */
  readonly endByte: number;
}

type Format = 'csv' | 'jsonl';

function formatOf(path: string): Format {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  throw new InvalidInputError(`${path}: expected a .jsonl or .csv file`);
}

/** JSONL, split on '\n' in the raw bytes (no UTF-8 sequence contains that byte), one chunk in memory at a time. */
async function* jsonlRows(path: string): AsyncGenerator<Row> {
  let line = 0;
  let offset = 0; // bytes of the file before `pending`
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  function* emit(bytes: Buffer, terminated: boolean): Generator<Row> {
    line++;
    offset += bytes.length + (terminated ? 1 : 0);
    let raw = bytes.toString('utf8');
    if (line === 1 && raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1); // a byte-order mark
    if (!raw.trim()) return;
    let row: unknown;
    try {
      row = JSON.parse(raw);
    } catch (err) {
      throw new InvalidInputError(`${path} line ${line} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new InvalidInputError(`${path} line ${line} is not a JSON object`);
    yield { row: row as Record<string, unknown>, where: `${path} line ${line}`, endByte: offset };
  }
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const tail = chunk.subarray(start, nl);
      const bytes = pending.length > 0 ? Buffer.concat([...pending, tail]) : tail;
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      yield* emit(bytes, true);
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_RECORD_BYTES) {
        throw new InvalidInputError(`${path} line ${line + 1} is longer than ${MAX_RECORD_BYTES} bytes; expected one JSON object per line`);
      }
    }
  }
  if (pendingBytes > 0) yield* emit(Buffer.concat(pending), false);
}

function csvError(path: string, err: CsvError, lastRecordLine: number): InvalidInputError {
  if (err.code === 'CSV_QUOTE_NOT_CLOSED') {
    return new InvalidInputError(`${path} line ${lastRecordLine + 1}: a quoted field opened in the row starting here is never closed (${err.message})`);
  }
  const line = typeof err.lines === 'number' ? err.lines : lastRecordLine + 1;
  return new InvalidInputError(`${path} line ${line}: ${err.message}`);
}

/** CSV through csv-parse: the header row names the columns; values stay strings. */
async function* csvRows(path: string): AsyncGenerator<Row> {
  const parser = csvParser({
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_column_count: false,
    relax_quotes: false,
    // Today's reader took \n, \r\n and \r alike, even mixed in one file.
    record_delimiter: ['\r\n', '\n', '\r'],
    max_record_size: MAX_RECORD_BYTES,
  });
  // Read errors reach the parser (destroyed with them) and so the loop below; the callback
  // only sees what the loop already handles, or the early close of a consumer that stopped.
  pipeline(createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }), parser, () => undefined);
  let header: string[] | undefined;
  let row = 1;
  let lastRecordLine = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      lastRecordLine = info.lines;
      if (!header) {
        header = record;
        continue;
      }
      row++;
      const cells = record;
      yield { row: Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ''])), where: `${path} row ${row}`, endByte: info.bytes };
    }
  } catch (err) {
    if (err instanceof CsvError) throw csvError(path, err, lastRecordLine);
    throw err;
  }
  if (!header) throw new InvalidInputError(`${path} is empty`);
}

/**
 * The documents of one file, read as they are iterated (once). The counters describe what has
 * been consumed so far; `bytesRead` and `totalBytes` let a caller show progress by bytes, the
 * number of documents not being known until the end.
 */
export interface RecordStream extends AsyncIterable<DocumentInput> {
  readonly path: string;
  /** The file's size when it was opened. */
  readonly totalBytes: number;
  /** Bytes of the file up to the end of the last document yielded (the whole file once done). */
  readonly bytesRead: number;
  /** Documents yielded so far. */
  readonly documents: number;
  /** Rows with neither text nor title, so far. */
  readonly skippedEmpty: number;
}

class FileRecords implements RecordStream {
  bytesRead = 0;
  documents = 0;
  skippedEmpty = 0;
  private started = false;

  constructor(
    readonly path: string,
    private readonly format: Format,
    private readonly fields: FieldNames,
    readonly totalBytes: number,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<DocumentInput> {
    if (this.started) throw new Error(`${this.path}: records can be iterated only once`);
    this.started = true;
    return this.read();
  }

  private async *read(): AsyncGenerator<DocumentInput> {
    const seen = new Set<string>();
    const rows = this.format === 'csv' ? csvRows(this.path) : jsonlRows(this.path);
    for await (const { row, where, endByte } of rows) {
      const doc = toDocument(row, this.fields, where);
      this.bytesRead = endByte;
      if (!doc) {
        this.skippedEmpty++;
        continue;
      }
      if (seen.has(doc.id)) throw new InvalidInputError(`${where}: document id '${doc.id}' appears more than once`);
      seen.add(doc.id);
      this.documents++;
      yield doc;
    }
    this.bytesRead = Math.max(this.bytesRead, this.totalBytes);
  }
}

/**
 * Opens `path` for streaming: checks the extension and that the file exists now; the rows are
 * read (and validated) as the stream is iterated. A repeated id is an error when it is reached.
 */
export async function openRecords(path: string, fields: FieldNames): Promise<RecordStream> {
  const format = formatOf(path);
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new InvalidInputError(`${path} does not exist`) : err;
  });
  if (!info.isFile()) throw new InvalidInputError(`${path} is not a file`);
  return new FileRecords(path, format, fields, info.size);
}

export interface ReadResult {
  readonly documents: DocumentInput[];
  /** Rows with neither text nor title. */
  readonly skippedEmpty: number;
}

/** All documents of a (small) file in memory: for evaluations and benchmarks. `sextant index` streams. */
export async function readRecords(path: string, fields: FieldNames): Promise<ReadResult> {
  const records = await openRecords(path, fields);
  const documents: DocumentInput[] = [];
  for await (const doc of records) documents.push(doc);
  return { documents, skippedEmpty: records.skippedEmpty };
}
