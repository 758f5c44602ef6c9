/**
 * Acceptance: index the real IR collections through the HTTP API and measure nDCG@10 for each
 * search mode against the qrels. Needs ../shared/datasets; skips with a message without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/api/server.ts';
import { ndcgAt } from '../src/search/metrics.ts';
import { datasetDir, readCorpus, readQrels, readQueries } from '../scripts/lib/beir.ts';
import { api, startTestServer, tempDir } from './helpers/server.ts';

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
    let data: Awaited<ReturnType<typeof tempDir>>;
    const figures: Record<string, number> = {};

    beforeAll(async () => {
      data = await tempDir(`sextant-${target.name}-`);
      server = await startTestServer({ dataDir: data.path });
      expect((await api(server.url, 'POST', '/v1/collections', { name: target.name })).status).toBe(201);
      const docs = readCorpus(dir!).filter((d) => `${d.title}${d.text}`.trim());
      const batches = [];
      for (let i = 0; i < docs.length; i += 100) batches.push(docs.slice(i, i + 100));
      // Two requests in flight keep the embedding queue busy.
      for (let i = 0; i < batches.length; i += 2) {
        const sent = await Promise.all(
          batches.slice(i, i + 2).map((b) =>
            api(server.url, 'POST', `/v1/collections/${target.name}/documents`, {
              documents: b.map((d) => ({ id: d._id, title: d.title || null, text: d.text || d.title })),
            }),
          ),
        );
        for (const r of sent) expect(r.status).toBe(200);
      }
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
      for (const q of queries) {
        const res = await api<SearchBody>(server.url, 'POST', `/v1/collections/${target.name}/search`, { mode, query: q.text, k: 10 });
        expect(res.status).toBe(200);
        sum += ndcgAt(10, res.body.results.map((r) => r.id), qrels.get(q._id)!);
      }
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
