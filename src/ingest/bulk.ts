/**
 * Bulk indexing: reads documents from an (async) iterable in batches and sends them with a few
 * batches in flight (so the embedding queue never runs dry), and reports progress. Resuming is
 * free: the service skips documents whose content hash is already stored, so a rerun after an
 * interruption only embeds the rest.
 *
 * Memory is bounded by the batches, not the source: at most `concurrency` batches exist at once
 * (the next one is read only when fewer than `concurrency` are waiting on the target), so a
 * streamed file of any size is held `concurrency × batchSize` documents at a time.
 *
 * Repeated ids: the service rejects an upsert request that names an id twice, so within one
 * batch the last document with an id wins (the earlier one is dropped and counted as
 * `superseded`); across batches the later upsert simply replaces the earlier one. Either way the
 * last occurrence in the source is what ends up stored. (`sextant index` never gets here with a
 * repeat: its file reader rejects a repeated id, as it always has.)
 */
import type { DocumentInput, UpsertResult } from '../search/documents.ts';

/** Where documents go: the search service in this process, or a server over HTTP. */
export interface IndexTarget {
  /** Creates the collection with defaults if it does not exist. */
  ensureCollection(name: string): Promise<void>;
  upsert(collection: string, docs: readonly DocumentInput[]): Promise<UpsertResult>;
}

export interface BulkProgress {
  /** Documents dealt with: sent and acknowledged, or superseded by a later one with their id. */
  readonly done: number;
  /** Documents in all, when known: an array's length, or a stream's count once it has ended. */
  readonly total?: number;
  readonly upserted: number;
  readonly unchanged: number;
  readonly docsPerSecond: number;
  /** From bytes when the source reports them, else from `total`; Infinity while unknown. */
  readonly etaSeconds: number;
  /** Bytes of the source file behind the documents done (with `bytes` in the options). */
  readonly bytesDone?: number;
  /** The source file's size (with `bytes` in the options). */
  readonly bytesTotal?: number;
  /** Documents dropped for a later one with the same id in the same batch. */
  readonly superseded?: number;
}

/** A source that knows where it is in its file (a `RecordStream` from records.ts). */
export interface ByteSource {
  /** Bytes consumed so far, up to the end of the last document yielded. */
  readonly bytesRead: number;
  readonly totalBytes: number;
}

export interface BulkOptions {
  readonly batchSize: number;
  /** Batches in flight at most (waiting on the target); the next is read when one returns. */
  readonly concurrency: number;
  readonly onProgress?: (p: BulkProgress) => void;
  /** Progress and ETA by bytes of the file, for a source whose length in documents is unknown. */
  readonly bytes?: ByteSource;
}

type Source = Iterable<DocumentInput> | AsyncIterable<DocumentInput>;

function iteratorOf(docs: Source): Iterator<DocumentInput> | AsyncIterator<DocumentInput> {
  return Symbol.asyncIterator in docs ? docs[Symbol.asyncIterator]() : docs[Symbol.iterator]();
}

interface Batch {
  /** What is sent: one document per id, the last one read. */
  readonly docs: DocumentInput[];
  /** Documents taken from the source for it. */
  readonly count: number;
  readonly superseded: number;
  /** Bytes of the source file its documents span. */
  readonly bytes: number;
}

export async function bulkIndex(target: IndexTarget, collection: string, docs: Source, options: BulkOptions): Promise<BulkProgress> {
  await target.ensureCollection(collection);
  const started = performance.now();
  const concurrency = Math.max(1, options.concurrency);
  const batchSize = Math.max(1, options.batchSize);
  const known = Array.isArray(docs) ? docs.length : undefined;
  const bytes = options.bytes;
  let read = 0;
  let done = 0;
  let upserted = 0;
  let unchanged = 0;
  let superseded = 0;
  let bytesDone = 0;
  let bytesMark = 0;
  let finished = false;

  const progress = (): BulkProgress => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const total = finished ? read : known;
    let etaSeconds = Infinity;
    if (finished) etaSeconds = 0;
    else if (bytes) {
      const byteRate = seconds > 0 ? bytesDone / seconds : 0;
      if (byteRate > 0) etaSeconds = Math.max(0, bytes.totalBytes - bytesDone) / byteRate;
    } else if (total !== undefined && rate > 0) etaSeconds = (total - done) / rate;
    return {
      done,
      ...(total === undefined ? {} : { total }),
      upserted,
      unchanged,
      docsPerSecond: rate,
      etaSeconds,
      ...(bytes ? { bytesDone, bytesTotal: Math.max(bytes.totalBytes, bytesDone) } : {}),
      superseded,
    };
  };

  const iterator = iteratorOf(docs);
  let exhausted = false;
  const fill = async (): Promise<Batch> => {
    const batch: (DocumentInput | undefined)[] = [];
    const slot = new Map<string, number>();
    let count = 0;
    let dropped = 0;
    while (count < batchSize) {
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        break;
      }
      count++;
      read++;
      const previous = slot.get(next.value.id);
      if (previous !== undefined) {
        batch[previous] = undefined; // the last one with this id wins
        dropped++;
      }
      slot.set(next.value.id, batch.length);
      batch.push(next.value);
    }
    const end = bytes?.bytesRead ?? 0;
    const span = end - bytesMark;
    bytesMark = end;
    return { docs: batch.filter((d): d is DocumentInput => d !== undefined), count, superseded: dropped, bytes: span };
  };

  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const send = async (batch: Batch): Promise<void> => {
    try {
      const result = await target.upsert(collection, batch.docs);
      done += batch.count;
      upserted += result.upserted;
      unchanged += result.unchanged;
      superseded += batch.superseded;
      bytesDone += batch.bytes;
      options.onProgress?.(progress());
    } catch (error) {
      failure ??= { error };
    }
  };

  let sourceError: { error: unknown } | undefined;
  try {
    while (!exhausted && !failure) {
      const batch = await fill();
      if (batch.count === 0) break;
      const task = send(batch);
      inFlight.add(task);
      void task.then(() => inFlight.delete(task));
      while (inFlight.size >= concurrency && !failure) await Promise.race(inFlight);
    }
  } catch (error) {
    sourceError = { error };
  }
  // Nothing is left running on the target when this returns or throws (the caller may close it).
  await Promise.all(inFlight);
  if (failure) {
    if (!exhausted && !sourceError) await iterator.return?.(); // stop reading: closes the file
    throw failure.error;
  }
  if (sourceError) throw sourceError.error;
  finished = true;
  if (bytes) bytesDone = Math.max(bytesDone, bytes.bytesRead);
  return progress();
}
