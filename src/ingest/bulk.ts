/**
 * Bulk indexing: sends documents in batches with a few batches in flight (so the embedding
 * queue never runs dry), and reports progress. Resuming is free: the service skips documents
 * whose content hash is already stored, so a rerun after an interruption only embeds the rest.
 */
import type { DocumentInput, UpsertResult } from '../search/documents.ts';

/** Where documents go: the search service in this process, or a server over HTTP. */
export interface IndexTarget {
  /** Creates the collection with defaults if it does not exist. */
  ensureCollection(name: string): Promise<void>;
  upsert(collection: string, docs: readonly DocumentInput[]): Promise<UpsertResult>;
}

export interface BulkProgress {
  readonly done: number;
  readonly total: number;
  readonly upserted: number;
  readonly unchanged: number;
  readonly docsPerSecond: number;
  readonly etaSeconds: number;
}

export interface BulkOptions {
  readonly batchSize: number;
  readonly concurrency: number;
  readonly onProgress?: (p: BulkProgress) => void;
}

export async function bulkIndex(target: IndexTarget, collection: string, docs: readonly DocumentInput[], options: BulkOptions): Promise<BulkProgress> {
  await target.ensureCollection(collection);
  const started = performance.now();
  let next = 0;
  let done = 0;
  let upserted = 0;
  let unchanged = 0;
  const progress = (): BulkProgress => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    return { done, total: docs.length, upserted, unchanged, docsPerSecond: rate, etaSeconds: rate > 0 ? (docs.length - done) / rate : Infinity };
  };
  const worker = async () => {
    while (next < docs.length) {
      const batch = docs.slice(next, next + options.batchSize);
      next += batch.length;
      const result = await target.upsert(collection, batch);
      done += batch.length;
      upserted += result.upserted;
      unchanged += result.unchanged;
      options.onProgress?.(progress());
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  return progress();
}
