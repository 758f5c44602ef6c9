/**
 * Writes a data directory for `sextant serve` straight from a flat array of unit vectors, without
 * a server or an embedding model: the collection's rows through SqliteStore and its generation's
 * HnswIndex, batch by batch as the service writes them (store upsert, index upsert, markApplied),
 * then one final snapshot, so the server opens it with nothing to replay. Document j has id
 * String(j) and text `synthetic document j`. Used by scripts/bench-search.ts and
 * scripts/bench-scale.ts.
 */
import { loadConfig } from '../../src/config.ts';
import { generationDir } from '../../src/index/factory.ts';
import { HnswIndex } from '../../src/index/hnsw/index.ts';
import { DEFAULT_MODEL_ID } from '../../src/models/registry.ts';
import { contentHash } from '../../src/search/documents.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import type { DocumentWrite } from '../../src/store/types.ts';
import { DEFAULT_HNSW } from '../../src/values/backend.ts';
import type { Metadata } from '../../src/values/filter.ts';
import { row } from './synthetic.ts';

export interface SyntheticDataDirOptions {
  readonly collection: string;
  readonly dim: number;
  /** Documents per store write and index upsert. */
  readonly batch: number;
  /** Metadata of document j, in the store row and the index item alike (default none). */
  readonly metadata?: (j: number) => Metadata;
  /** onProgress is called about this many times over the build (after whole batches). */
  readonly progressSteps: number;
  readonly onProgress?: (built: number, n: number) => void;
  /** Runs on the open index after the last batch, before the final snapshot. */
  readonly beforeClose?: (index: HnswIndex, timings: { indexSeconds: number; loopSeconds: number }) => Promise<void>;
}

export interface SyntheticDataDirBuild {
  /** Time inside HnswIndex.upsert only. */
  readonly indexSeconds: number;
  /** The whole batch loop: rows built, store writes, index upserts. */
  readonly loopSeconds: number;
  /** index.close() (the final snapshot) and store.close(). */
  readonly closeSeconds: number;
}

export async function buildSyntheticDataDir(dataDir: string, data: Float32Array, opts: SyntheticDataDirOptions): Promise<SyntheticDataDirBuild> {
  const { dim, batch } = opts;
  const n = data.length / dim;
  const store = SqliteStore.open(dataDir);
  const { collection, generation } = store.createCollection({
    name: opts.collection,
    modelTarget: DEFAULT_MODEL_ID,
    model: DEFAULT_MODEL_ID,
    dimensions: dim,
    backend: 'hnsw',
    hnsw: DEFAULT_HNSW,
    hybridAlpha: loadConfig({}).hybridAlpha,
  });
  // No background snapshots while building (each would rewrite the whole graph); one flush at the end.
  const index = await HnswIndex.open(generationDir(dataDir, collection.name, generation.id), {
    dimensions: dim,
    settings: collection.hnsw,
    snapshotEveryChanges: Number.MAX_SAFE_INTEGER,
    snapshotEverySeconds: 0,
  });
  let indexSeconds = 0;
  let loopSeconds = 0;
  let closing = 0;
  try {
    const started = performance.now();
    const step = Math.max(batch, Math.ceil(n / opts.progressSteps / batch) * batch);
    for (let i = 0; i < n; i += batch) {
      const writes: DocumentWrite[] = [];
      for (let j = i; j < Math.min(n, i + batch); j++) {
        const id = String(j);
        const text = `synthetic document ${j}`;
        const metadata = opts.metadata?.(j) ?? {};
        writes.push({ id, title: null, text, metadata, contentHash: contentHash({ id, text, metadata }), vectors: new Map([[generation.id, row(data, j, dim)]]) });
      }
      const { seq } = store.upsertDocuments(collection.name, writes);
      const t0 = performance.now();
      await index.upsert(writes.map((w) => ({ id: w.id, vector: w.vectors.get(generation.id)!, metadata: w.metadata! })));
      indexSeconds += (performance.now() - t0) / 1000;
      index.markApplied(seq);
      if ((i + batch) % step === 0) opts.onProgress?.(Math.min(n, i + batch), n);
    }
    loopSeconds = (performance.now() - started) / 1000;
    await opts.beforeClose?.(index, { indexSeconds, loopSeconds });
  } finally {
    closing = performance.now();
    await index.close(); // final snapshot: the server opens it with nothing to replay
    store.close();
  }
  return { indexSeconds, loopSeconds, closeSeconds: (performance.now() - closing) / 1000 };
}
