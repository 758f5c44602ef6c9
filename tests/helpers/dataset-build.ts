/**
 * Builds data directories holding a shared IR dataset (BEIR layout under ../shared/datasets)
 * indexed into a collection named after the dataset, through the path `sextant index` takes:
 * the BEIR corpus read with readRecords (ids are the BEIR _id, titles kept, Cranfield's empty
 * documents skipped) and sent with bulkIndex to the search service in this process.
 *
 * Used by the global setup (once per run, in the vitest main process) and, as a fallback, by
 * tests/helpers/datasets.ts in a worker. No vitest imports here: the main process loads it too.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { datasetDir } from '../../scripts/lib/beir.ts';
import { loadConfig } from '../../src/config.ts';
import { bulkIndex } from '../../src/ingest/bulk.ts';
import { readRecords } from '../../src/ingest/records.ts';
import { setLogLevel } from '../../src/log.ts';
import { SearchService } from '../../src/search/service.ts';

/** The vitest project whose global setup builds the datasets (vitest.config.ts). */
export const DATASETS_PROJECT = 'datasets';

export const DATASET_NAMES = ['cranfield', 'cisi'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Indexes dataset `name` into collection `name` of the (new) data directory `dataDir`, then closes it. */
export async function indexDataset(name: DatasetName, dataDir: string, modelsDir: string): Promise<{ documents: number }> {
  const dir = datasetDir(name);
  if (!dir) throw new Error(`dataset ${name} not found under ../shared/datasets`);
  setLogLevel('warn');
  const config = loadConfig({ modelsDir, dataDir }, {});
  const service = await SearchService.open(config);
  try {
    await service.createCollection({ name });
    const { documents } = await readRecords(join(dir, 'corpus.jsonl'), { text: 'text' });
    await bulkIndex({ ensureCollection: async () => {}, upsert: (c, d) => service.upsertDocuments(c, d) }, name, documents, { batchSize: 64, concurrency: 3 });
    const stored = service.context.store.countDocuments(name);
    const generation = service.context.store.getCollection(name)!.liveGeneration!;
    const vectors = service.context.store.countVectors(generation);
    if (stored !== documents.length || vectors !== documents.length) {
      throw new Error(`indexing ${name}: ${documents.length} documents read, ${stored} stored, ${vectors} vectors`);
    }
    return { documents: documents.length };
  } finally {
    // Closing snapshots the HNSW index and checkpoints SQLite's WAL, and releases the LOCK:
    // the directory can then be copied file by file.
    await service.close();
  }
}

/** One data directory per dataset of `names` that is present, under `root`: name -> path. */
export async function buildDatasetDataDirs(root: string, modelsDir: string, names: readonly DatasetName[] = DATASET_NAMES): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of names) {
    if (!datasetDir(name)) continue;
    const dataDir = join(root, name);
    await indexDataset(name, dataDir, modelsDir);
    if (existsSync(join(dataDir, 'LOCK'))) throw new Error(`${dataDir} is still locked after closing`);
    out[name] = dataDir;
  }
  return out;
}
