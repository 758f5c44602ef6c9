/**
 * The static model's query throughput next to its parent's (bench:embed and bench:train): the
 * Cranfield corpus indexed into a throwaway data directory, a static model trained on it
 * (trainCollection), then the real queries embedded one per call by 32 callers with each engine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddingEngine } from '../../src/embedding/engine.ts';
import { loadConfig } from '../../src/config.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { corpusDocuments, readCorpus, readQueries, type CorpusDocument } from './beir.ts';
import { embedAll } from './training-measure.ts';

const BATCH = 256;

/** The corpus as the service indexes it (empty documents dropped; a title-only document is its text). */
export function cranfieldDocuments(dir: string): CorpusDocument[] {
  return corpusDocuments(readCorpus(dir));
}

export async function indexCollection(runtime: Runtime, name: string, docs: readonly CorpusDocument[]): Promise<void> {
  await runtime.service.createCollection({ name, model: 'use-lite@1' });
  for (let i = 0; i < docs.length; i += BATCH) await runtime.service.upsertDocuments(name, docs.slice(i, i + BATCH));
}

export interface QueryThroughput {
  readonly parentPerS: number;
  readonly staticPerS: number;
}

/**
 * Queries per second, one per call, 32 callers: the parent over the queries 3 times, the static
 * model 100 times, so that each run lasts a second or more (at 20 times the static run took 0.4 s
 * and its figure moved by a third between runs).
 */
export async function queryThroughput(parent: EmbeddingEngine, statik: EmbeddingEngine, queries: readonly string[]): Promise<QueryThroughput> {
  await embedAll(parent, queries.slice(0, 64), 'query');
  await embedAll(statik, queries, 'query');
  const repeat = (n: number) => Array.from({ length: n }, () => queries).flat();
  const parentQueries = repeat(3);
  const parentRun = await embedAll(parent, parentQueries, 'query');
  const staticQueries = repeat(100);
  const staticRun = await embedAll(statik, staticQueries, 'query');
  return { parentPerS: parentQueries.length / parentRun.seconds, staticPerS: staticQueries.length / staticRun.seconds };
}

/** Trains a static model on Cranfield in a throwaway data directory and measures both engines' query throughput. */
export async function staticVsParent(modelsDir: string, dir: string, threads: number): Promise<QueryThroughput & { model: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sextant-static-bench-'));
  try {
    const runtime = await openRuntime(loadConfig({ modelsDir, dataDir, threads }, {}), { startJobs: false });
    try {
      await indexCollection(runtime, 'cranfield', cranfieldDocuments(dir));
      const trained = await runtime.lifecycle.train('cranfield', { kind: 'static' });
      const queries = readQueries(dir).map((q) => q.text);
      const throughput = await queryThroughput(await runtime.service.engines.get('use-lite@1'), await runtime.service.engines.get(trained.model), queries);
      return { ...throughput, model: trained.model };
    } finally {
      await runtime.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
