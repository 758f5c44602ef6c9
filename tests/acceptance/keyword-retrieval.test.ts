// Acceptance for src/store/keyword.ts: keyword-only (BM25) retrieval quality on the real IR collections, straight on the store; skips without ../shared/datasets.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetDir, readCorpus, readQrels, readQueries } from '../../scripts/lib/beir.ts';
import { DEFAULT_HNSW } from '../../src/values/backend.ts';
import { mrrAt, ndcgAt, recallAt } from '../../src/search/metrics.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import type { NewCollection } from '../../src/store/types.ts';

function spec(name: string, dimensions = 4): NewCollection {
  return { name, modelTarget: 'default', model: 'use-lite@1', dimensions, backend: 'hnsw', hnsw: DEFAULT_HNSW, hybridAlpha: 0.5 };
}

describe.each([
  { name: 'cranfield', floor: 0.34, reference: 0.366 },
  { name: 'cisi', floor: 0.35, reference: 0.384 },
])('keyword-only retrieval quality on $name', ({ name, floor, reference }) => {
  const dir = datasetDir(name);
  if (!dir) console.log(`skipping ${name}: ../shared/datasets/${name} is absent`);
  it.skipIf(!dir)(`nDCG@10 >= ${floor} (reference BM25 ${reference})`, () => {
    const tmp = mkdtempSync(join(tmpdir(), `sextant-${name}-`));
    const store = SqliteStore.open(tmp);
    try {
      store.createCollection(spec(name));
      const corpus = readCorpus(dir!);
      for (let i = 0; i < corpus.length; i += 500) {
        store.upsertDocuments(
          name,
          corpus.slice(i, i + 500).map((d) => ({ id: d._id, title: d.title || null, text: d.text ?? '', contentHash: d._id, vectors: new Map() })),
        );
      }
      const qrels = readQrels(dir!);
      let ndcg = 0;
      let mrr = 0;
      let recall = 0;
      let n = 0;
      const t0 = performance.now();
      for (const q of readQueries(dir!)) {
        const relevance = qrels.get(q._id);
        if (!relevance) continue;
        const ranked = store.keywordSearch(name, q.text, 10).map((h) => h.id);
        ndcg += ndcgAt(10, ranked, relevance);
        mrr += mrrAt(10, ranked, relevance);
        recall += recallAt(10, ranked, relevance);
        n++;
      }
      const ms = (performance.now() - t0) / n;
      console.log(
        `${name}: keyword nDCG@10 ${(ndcg / n).toFixed(4)}, MRR@10 ${(mrr / n).toFixed(4)}, recall@10 ${(recall / n).toFixed(4)} ` +
          `over ${n} queries (${ms.toFixed(2)} ms/query; reference BM25 nDCG@10 ${reference})`,
      );
      expect(ndcg / n).toBeGreaterThanOrEqual(floor);
    } finally {
      store.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
