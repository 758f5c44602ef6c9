/**
 * Acceptance: the real IR collections, indexed (once per run, by the global setup, the way
 * `sextant index` does), searched through the HTTP API: nDCG@10 for each search mode against the
 * qrels. Needs ../shared/datasets; skips with a message without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/api/server.ts';
import { ndcgAt } from '../../src/search/metrics.ts';
import { datasetDir, readCorpus, readQrels, readQueries } from '../../scripts/lib/beir.ts';
import { datasetDataDir, type TempDir } from '../helpers/datasets.ts';
import { api, startTestServer } from '../helpers/server.ts';

/** Searches in flight at once. */
const CLIENTS = 4;

interface SearchBody {
  results: { id: string }[];
}

const targets = [
  { name: 'cranfield', dense: 0.18, keyword: 0.34, hybrid: undefined },
  { name: 'cisi', dense: undefined, keyword: undefined, hybrid: 0.4 },
] as const;

for (const target of targets) {
  const dir = datasetDir(target.name);
  describe.skipIf(!dir)(`retrieval quality over HTTP: ${target.name}`, () => {
    let server: RunningServer;
    let data: TempDir | undefined;
    const figures: Record<string, number> = {};

    beforeAll(async () => {
      // The corpus indexed once per run by the global setup (as `sextant index` does), copied.
      data = (await datasetDataDir(target.name))!;
      server = await startTestServer({ dataDir: data.path });
      const docs = readCorpus(dir!).filter((d) => `${d.title}${d.text}`.trim());
      const info = await api<{ document_count: number }>(server.url, 'GET', `/v1/collections/${target.name}`);
      expect(info.body.document_count).toBe(docs.length);
    });
    afterAll(async () => {
      await server?.close();
      await data?.remove();
      console.log(`nDCG@10 ${target.name}: ${JSON.stringify(figures)}`);
    });

    async function ndcg(mode: 'dense' | 'keyword' | 'hybrid'): Promise<number> {
      const qrels = readQrels(dir!);
      const queries = readQueries(dir!).filter((q) => qrels.has(q._id));
      let sum = 0;
      // A few clients at once, as a server sees them (the query embeddings batch together);
      // each query's nDCG does not depend on the others.
      let next = 0;
      const client = async () => {
        for (let i = next++; i < queries.length; i = next++) {
          const q = queries[i]!;
          const res = await api<SearchBody>(server.url, 'POST', `/v1/collections/${target.name}/search`, { mode, query: q.text, k: 10 });
          expect(res.status).toBe(200);
          sum += ndcgAt(10, res.body.results.map((r) => r.id), qrels.get(q._id)!);
        }
      };
      await Promise.all(Array.from({ length: CLIENTS }, client));
      figures[mode] = Math.round((sum / queries.length) * 10_000) / 10_000;
      figures.queries = queries.length;
      return sum / queries.length;
    }

    it('meets the nDCG@10 targets in every mode, hybrid at least keyword', async () => {
      const dense = await ndcg('dense');
      const keyword = await ndcg('keyword');
      const hybrid = await ndcg('hybrid');
      if (target.dense !== undefined) expect(dense).toBeGreaterThanOrEqual(target.dense);
      if (target.keyword !== undefined) expect(keyword).toBeGreaterThanOrEqual(target.keyword);
      if (target.hybrid !== undefined) expect(hybrid).toBeGreaterThanOrEqual(target.hybrid);
      expect(hybrid).toBeGreaterThanOrEqual(keyword);
      expect(figures.queries).toBe(target.name === 'cranfield' ? 225 : 76);
    }, 600_000);
  });
}

if (!datasetDir('cranfield') || !datasetDir('cisi')) {
  console.log('retrieval quality tests skipped: ../shared/datasets/{cranfield,cisi} not found');
}
