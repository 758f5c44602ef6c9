/**
 * Explanations on Cranfield, over HTTP against a real server:
 *
 * - keyword: for all 225 queries' top 10 hits, the terms' BM25 contributions sum to the keyword
 *   score within 1e-6;
 * - dense: for 50 queries, taking the explanation's top-ranked sentence out of the top hit lowers
 *   its dense score more than taking out a random other sentence, in at least 90% of cases;
 * - hybrid: the normalised scores and weight give the fused score, and the ranks it moved;
 * - POST …/explain for a ranked and an unranked document, and its bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetDir, readQueries } from '../../scripts/lib/beir.ts';
import type { RunningServer } from '../../src/api/server.ts';
import { embeddingText } from '../../src/search/documents.ts';
import { cosine } from '../../src/util/vectors.ts';
import { mulberry32 } from '../../src/util/random.ts';
import { expectError } from '../helpers/api-errors.ts';
import { datasetDataDir, type TempDir } from '../helpers/datasets.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { api, CLI, startTestServer } from '../helpers/server.ts';

const cranfield = datasetDir('cranfield');
if (!cranfield) console.log('explain acceptance skipped: ../shared/datasets/cranfield is needed');

const NAME = 'cranfield';

interface Passage {
  start: number;
  end: number;
  score: number;
  similarity: number;
}
interface Hit {
  id: string;
  score: number;
  text?: string;
  title?: string | null;
  explain: {
    dense: { rank: number; score: number; passages?: Passage[]; query_terms?: { term: string; effect: number }[] } | null;
    keyword: { rank: number; score: number; terms?: { term: string; df: number; tf: number; contribution: number }[] } | null;
    alpha?: number;
    hybrid?: { alpha: number; dense_normalised: number; keyword_normalised: number; rank: number; dense_rank: number | null; keyword_rank: number | null; moved_vs_dense: number | null; moved_vs_keyword: number | null };
  };
}

describe.skipIf(!cranfield)('search explanations on Cranfield', () => {
  let data: TempDir;
  let server: RunningServer;
  const queries = cranfield ? readQueries(cranfield).map((q) => q.text) : [];
  const search = async (body: Record<string, unknown>) => {
    const res = await api<{ results: Hit[] }>(server.url, 'POST', `/v1/collections/${NAME}/search`, { ...body, explain: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.results;
  };

  beforeAll(async () => {
    data = (await datasetDataDir('cranfield', 'sextant-explain-'))!;
    server = await startTestServer({ dataDir: data.path });
  });

  afterAll(async () => {
    await server?.close();
    await data?.remove();
  });

  it("keyword: every top-10 hit's term contributions sum to its BM25 score within 1e-6 (225 queries)", async () => {
    let hits = 0;
    let worst = 0;
    for (const query of queries) {
      for (const hit of await search({ query, mode: 'keyword', k: 10 })) {
        const k = hit.explain.keyword!;
        const sum = k.terms!.reduce((s, t) => s + t.contribution, 0);
        worst = Math.max(worst, Math.abs(sum - k.score));
        expect(Math.abs(sum - k.score)).toBeLessThan(1e-6);
        expect(k.score).toBe(hit.score);
        // A term the document contains contributes; one it lacks contributes nothing.
        for (const t of k.terms!) {
          expect(t.df).toBeGreaterThanOrEqual(t.tf > 0 ? 1 : 0);
          if (t.tf === 0) expect(t.contribution).toBe(0);
          else expect(t.contribution).toBeGreaterThan(0);
        }
        expect(k.terms!.some((t) => t.tf > 0)).toBe(true);
        hits++;
      }
    }
    console.log(`keyword explanations: ${hits} hits of ${queries.length} queries, largest |sum - score| ${worst.toExponential(2)}`);
    expect(hits).toBeGreaterThan(2000);
  });

  it('dense: taking out the top-ranked sentence lowers the score more than a random one, in >= 90% of 50 queries', async () => {
    const engine = await server.service.engines.get('use-lite@1');
    const random = mulberry32(13);
    let cases = 0;
    let wins = 0;
    for (const query of queries) {
      if (cases === 50) break;
      const [hit] = await search({ query, mode: 'dense', k: 1, include_text: true });
      const passages = hit!.explain.dense!.passages!;
      if (passages.length < 2) continue; // nothing to compare with
      const text = hit!.text!;
      const without = (p: Passage) => `${text.slice(0, p.start)} ${text.slice(p.end)}`.replace(/\s+/g, ' ').trim();
      const other = passages[1 + Math.floor(random() * (passages.length - 1))]!;
      const [q] = (await engine.embed([query], 'query')).vectors;
      const [full, noTop, noOther] = (
        await engine.embed([embeddingText({ title: hit!.title ?? null, text }), embeddingText({ title: hit!.title ?? null, text: without(passages[0]!) }), embeddingText({ title: hit!.title ?? null, text: without(other) })], 'document')
      ).vectors;
      const base = cosine(q!, full!);
      expect(Math.abs(base - hit!.score)).toBeLessThan(1e-3); // the explained score is the searched one
      cases++;
      if (base - cosine(q!, noTop!) > base - cosine(q!, noOther!)) wins++;
    }
    console.log(`dense explanations: top sentence removed lowers the score more than a random sentence in ${wins}/${cases} (${((100 * wins) / cases).toFixed(0)}%)`);
    expect(cases).toBe(50);
    expect(wins / cases).toBeGreaterThanOrEqual(0.9);
  });

  it('dense: passages are spans of the text, best first; query words are ranked by their effect', async () => {
    const [hit] = await search({ query: queries[0], mode: 'dense', k: 1, include_text: true });
    const { passages, query_terms } = hit!.explain.dense!;
    for (const p of passages!) expect(0 <= p.start && p.start < p.end && p.end <= hit!.text!.length).toBe(true);
    expect(passages!.map((p) => p.score)).toEqual([...passages!.map((p) => p.score)].sort((a, b) => b - a));
    expect(query_terms!.length).toBeGreaterThan(3);
    expect(query_terms!.map((t) => t.effect)).toEqual([...query_terms!.map((t) => t.effect)].sort((a, b) => b - a));
    expect(query_terms![0]!.effect).toBeGreaterThan(0);
  });

  it('hybrid: the weight and normalised scores give the fused score, and the ranks each mode alone gave', async () => {
    const hits = await search({ query: queries[1], mode: 'hybrid', k: 10, alpha: 0.4 });
    hits.forEach((hit, i) => {
      const h = hit.explain.hybrid!;
      expect(h.alpha).toBe(0.4);
      expect(h.rank).toBe(i + 1);
      expect(Math.abs(h.alpha * h.dense_normalised + (1 - h.alpha) * h.keyword_normalised - hit.score)).toBeLessThan(1e-9);
      expect(h.dense_rank).toBe(hit.explain.dense?.rank ?? null);
      expect(h.moved_vs_dense).toBe(h.dense_rank === null ? null : h.dense_rank - h.rank);
      if (hit.explain.keyword) expect(Math.abs(hit.explain.keyword.terms!.reduce((s, t) => s + t.contribution, 0) - hit.explain.keyword.score)).toBeLessThan(1e-6);
    });
  });

  it('sextant search --explain prints the fusion, the BM25 terms, the best passages and the query words', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'search', NAME, queries[3]!, '--mode', 'hybrid', '--k', '3', '--explain', '--url', server.url]);
    console.log(stdout.split('\n').slice(0, 7).join('\n'));
    expect(stdout).toMatch(/hybrid: 0\.3 x dense [\d.]+ \+ 0\.70 x keyword [\d.]+/);
    expect(stdout).toMatch(/keyword [\d.]+ = \w+ [\d.]+ \(tf \d+, df \d+\)/);
    expect(stdout).toMatch(/passage -[\d.]+ without it: \[\[.+\]\]/);
    expect(stdout).toMatch(/query words: \w+ [+-][\d.]+/);
  });

  it('POST /explain: a ranked document as the search ranks it, an unranked one without a rank; bad input is a 4xx', async () => {
    const [top] = await search({ query: queries[2], mode: 'hybrid', k: 1 });
    const ranked = await api<{ rank: number | null; score: number | null; explain: Hit['explain'] }>(server.url, 'POST', `/v1/collections/${NAME}/explain`, { query: queries[2], id: top!.id });
    expect(ranked.status).toBe(200);
    expect(ranked.body).toMatchObject({ rank: 1, score: top!.score });
    expect(ranked.body.explain.keyword?.terms?.length).toBeGreaterThan(0);
    expect(ranked.body.explain.dense?.passages?.length).toBeGreaterThan(0);
    // A document about something else entirely is outside the first 100 candidates.
    const far = await api<{ rank: number | null; explain: { dense: { rank: null; score: number; passages: Passage[] }; keyword: { score: number; terms: { contribution: number }[] } } }>(
      server.url,
      'POST',
      `/v1/collections/${NAME}/explain`,
      { query: 'zebra mating season in the savanna', id: top!.id, mode: 'hybrid' },
    );
    expect(far.status).toBe(200);
    expect(far.body.rank).toBeNull();
    expect(far.body.explain.dense.passages.length).toBeGreaterThan(0);
    expect(Math.abs(far.body.explain.keyword.terms.reduce((s, t) => s + t.contribution, 0) - far.body.explain.keyword.score)).toBeLessThan(1e-6);

    // Explanations are probes, not traffic: drift monitoring counts the search, not the explain.
    const seen = async () => {
      await server.lifecycle.drift.flush();
      const d = await api<{ kinds: { queries: { collecting: number; buffered: number; windows: number } } }>(server.url, 'GET', `/v1/collections/${NAME}/drift`);
      const q = d.body.kinds.queries;
      return q.collecting + q.buffered + q.windows * 25;
    };
    const before = await seen();
    await api(server.url, 'POST', `/v1/collections/${NAME}/explain`, { query: queries[5], id: top!.id });
    expect(await seen()).toBe(before);
    await api(server.url, 'POST', `/v1/collections/${NAME}/search`, { query: queries[5], k: 1 });
    expect(await seen()).toBe(before + 1);

    const post = (body: unknown) => api(server.url, 'POST', `/v1/collections/${NAME}/explain`, body);
    expectError(await post({ query: 'flow', id: 'no-such-document' }), 404, 'document_not_found');
    expectError(await post({ query: '   ', id: top!.id }), 400, 'empty_text');
    expectError(await post({ query: 'flow', id: top!.id, mode: 'semantic' }), 400, 'invalid_input');
    expectError(await post({ id: top!.id }), 400, 'invalid_input');
    expectError(await api(server.url, 'POST', '/v1/collections/none/explain', { query: 'flow', id: '1' }), 404, 'collection_not_found');
  });
});
