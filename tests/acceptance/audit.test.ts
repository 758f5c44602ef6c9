/**
 * The fairness audit on CISI (1,460 documents, 76 judged queries), through the search service as
 * users get it:
 *
 * - groups derived from the documents and stored as metadata: a hash bucket of the id (random but
 *   deterministic, so independent of relevance), the first letter of the title, a length bucket;
 * - exposure shares sum to 1 per query and over the groups;
 * - an unbiased collection: every bucket's exposure ÷ collection interval includes 1 in keyword
 *   mode, and no bucket's disparity is beyond what a random grouping of the same sizes shows
 *   (permutation p > 0.05) in keyword and dense mode;
 * - a biased copy (bucket 0's documents boosted for BM25 by appending again their words that
 *   the queries use; vectors copied, so only keyword scores move): bucket 0's disparity is above
 *   1 with an interval excluding 1 and a small permutation p-value, in keyword and hybrid mode;
 * - --compare beside a second generation (the int8 model, built by hand as a re-embedding would);
 * - `sextant audit` on the data directory (the exported command), its text report.
 *
 * Needs ../shared/datasets/cisi; skips with a message without it.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { datasetDir, readCorpus, readQueries } from '../../scripts/lib/beir.ts';
import { auditCommand, renderAudit } from '../../src/cli/audit-command.ts';
import { loadConfig } from '../../src/config.ts';
import { auditCollection, type AuditReport } from '../../src/lifecycle/audit/run.ts';
import { setLogLevel } from '../../src/log.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { embeddingText } from '../../src/search/documents.ts';
import type { SearchMode } from '../../src/search/query.ts';
import { datasetDataDir, type TempDir } from '../helpers/datasets.ts';
import { captureStdout } from '../helpers/stdout.ts';

const DATASET = datasetDir('cisi');
const COLLECTION = 'cisi';
const BIASED = 'cisi-biased';
const BUCKETS = 2;
const STOP = new Set(['that', 'this', 'with', 'from', 'which', 'have', 'been', 'were', 'their', 'they', 'these', 'than', 'there', 'also', 'such', 'into', 'more', 'will', 'other', 'some', 'only', 'what', 'between', 'about', 'each']);

/** FNV-1a of the id: a bucket that knows nothing of the text or the judgements. */
function bucketOf(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return `h${h % BUCKETS}`;
}

/**
 * The bias: the document's words that the queries use (4+ letters, a few stopwords left out), its
 * ten most frequent of them appended three times, as a page stuffed with the words people search.
 */
function boost(text: string, queryWords: ReadonlySet<string>): string {
  const counts = new Map<string, number>();
  for (const w of text.toLowerCase().match(/[a-z]{4,}/g) ?? []) if (!STOP.has(w) && queryWords.has(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 10).map(([w]) => w);
  return top.length === 0 ? text : `${text}\n${Array(3).fill(top.join(' ')).join(' ')}`;
}

const lengthBucket = (text: string) => (text.length < 600 ? 'short' : text.length < 1200 ? 'medium' : 'long');

const includesOne = (ci: readonly [number, number]) => ci[0] <= 1 && 1 <= ci[1];
const group = (r: Pick<AuditReport, 'groups'>, value: string) => r.groups.find((g) => g.value === value)!;
const summary = (r: AuditReport) =>
  r.groups.map((g) => `${String(g.value)}: coll ${g.collection_share.toFixed(3)} expo ${g.exposure_share.toFixed(3)} rel ${g.relevance_share?.toFixed(3)} ` +
    `E/C ${g.exposure_over_collection.value.toFixed(3)} [${g.exposure_over_collection.ci.map((x) => x.toFixed(3)).join(', ')}] ` +
    `null [${g.exposure_over_collection.null_ci.map((x) => x.toFixed(3)).join(', ')}] p ${g.exposure_over_collection.p_value.toFixed(3)} ` +
    `E/R ${g.exposure_over_relevance ? `${g.exposure_over_relevance.value.toFixed(3)} [${g.exposure_over_relevance.ci.map((x) => x.toFixed(3)).join(', ')}]` : '-'}`).join('; ');

if (!DATASET) console.log('skipping the fairness audit acceptance tests: ../shared/datasets/cisi is absent');

describe.skipIf(!DATASET)('fairness audit on CISI', () => {
  let dir: TempDir;
  let runtime: Runtime;
  let int8Generation: number;
  const audit = (collection: string, mode: SearchMode, groupBy = 'bucket', extra: { compare?: string | number } = {}) =>
    auditCollection(runtime.lifecycle.eval, collection, { dataset: DATASET! }, { groupBy, mode, k: 10, bootstrap: 1000, seed: 1, ...extra });

  beforeAll(async () => {
    setLogLevel('warn');
    dir = (await datasetDataDir('cisi', 'sextant-audit-'))!;
    runtime = await openRuntime(loadConfig({ modelsDir: inject('modelsDir'), dataDir: dir.path }, {}), { startJobs: false });
    const { service } = runtime;
    const store = service.context.store;
    const live = store.getCollection(COLLECTION)!.liveGeneration!;
    const corpus = readCorpus(DATASET!);
    const titles = new Map(corpus.map((d) => [d._id, d.title]));
    const queryWords = new Set(readQueries(DATASET!).flatMap((q) => q.text.toLowerCase().match(/[a-z]{4,}/g) ?? []));
    const rows = store.documentsAfter(COLLECTION, null, 10_000);
    expect(rows.length).toBe(1460);
    const vectors = store.getVectors(live, rows.map((r) => r.id));
    // Metadata derived from the documents; the live vectors are sent along, so nothing is embedded again.
    const docs = rows.map((r) => ({
      id: r.id,
      title: r.title,
      text: r.text,
      vector: Array.from(vectors.get(r.id)!),
      metadata: { bucket: bucketOf(r.id), initial: (titles.get(r.id) ?? r.title ?? '?').trim().charAt(0).toUpperCase(), length: lengthBucket(r.text) },
    }));
    await service.createCollection({ name: BIASED });
    for (let i = 0; i < docs.length; i += 500) {
      const batch = docs.slice(i, i + 500);
      await service.upsertDocuments(COLLECTION, batch);
      await service.upsertDocuments(BIASED, batch.map((d) => (d.metadata.bucket === 'h0' ? { ...d, text: boost(d.text, queryWords) } : d)));
    }
    expect(store.countDocuments(BIASED)).toBe(1460);

    // A second generation of CISI with the int8 model, as a re-embedding job builds one (not made live).
    const generation = store.createGeneration(COLLECTION, { model: 'use-lite@1-int8', dimensions: 512, backend: 'hnsw' });
    int8Generation = generation.id;
    const engine = await service.engines.get('use-lite@1-int8');
    const index = await service.context.indexes.get(store.getCollection(COLLECTION)!, generation);
    for (let after: string | null = null; ; ) {
      const page = store.documentsAfter(COLLECTION, after, 256);
      if (page.length === 0) break;
      const { vectors: v } = await engine.embed(page.map(embeddingText), 'document');
      const { seq } = store.putGenerationVectors(COLLECTION, generation.id, page.map((d, i) => ({ id: d.id, vector: v[i]!, contentHash: d.contentHash })));
      await index.upsert(page.map((d, i) => ({ id: d.id, vector: v[i]!, metadata: d.metadata })));
      index.markApplied?.(seq);
      after = page.at(-1)!.id;
    }
  });

  afterAll(async () => {
    await runtime?.close().catch(() => undefined);
    await dir?.remove();
  });

  it('exposure shares sum to 1 per query and over the groups, for every grouping and mode', async () => {
    for (const [groupBy, mode] of [['initial', 'dense'], ['length', 'keyword'], ['bucket', 'hybrid']] as const) {
      const r = await audit(COLLECTION, mode, groupBy);
      console.log(`cisi ${mode} by ${groupBy}: ${r.queries} queries, ${r.groups.length} groups, max deviation ${r.exposure_sum_max_deviation}`);
      expect(r.queries + r.skipped_queries).toBe(76);
      expect(r.per_query_exposure_sums_to_one).toBe(true);
      expect(r.exposure_sum_max_deviation).toBeLessThan(1e-9);
      expect(r.groups.reduce((s, g) => s + g.exposure_share, 0)).toBeCloseTo(1, 9);
      expect(r.groups.reduce((s, g) => s + g.collection_share, 0)).toBeCloseTo(1, 9);
      expect(r.groups.reduce((s, g) => s + g.relevance_share!, 0)).toBeCloseTo(1, 9);
      expect(r.documents + r.documents_without_field).toBe(1460);
    }
  });

  it('unbiased: every hash bucket is exposed in proportion to its share', async () => {
    for (const mode of ['keyword', 'dense'] as const) {
      const r = await audit(COLLECTION, mode);
      console.log(`cisi (unbiased) ${mode}: ${summary(r)}`);
      for (const g of r.groups) {
        const label = `${mode} ${String(g.value)}`;
        // Keyword: the bootstrap interval includes parity. Both: within what a random grouping shows.
        if (mode === 'keyword') expect(includesOne(g.exposure_over_collection.ci), label).toBe(true);
        expect(g.exposure_over_collection.p_value, label).toBeGreaterThan(0.05);
        expect(g.exposure_over_collection.value, label).toBeGreaterThanOrEqual(g.exposure_over_collection.null_ci[0]);
        expect(g.exposure_over_collection.value, label).toBeLessThanOrEqual(g.exposure_over_collection.null_ci[1]);
      }
    }
  });

  it("biased: the boosted bucket's disparity is above 1 with an interval excluding 1 (keyword, hybrid); the unbiased collection's includes 1", async () => {
    for (const mode of ['keyword', 'hybrid'] as const) {
      const biased = await audit(BIASED, mode);
      const fair = await audit(COLLECTION, mode);
      console.log(`cisi-biased ${mode}: ${summary(biased)}`);
      console.log(`cisi (unbiased) ${mode}: ${summary(fair)}`);
      const boosted = group(biased, 'h0').exposure_over_collection;
      expect(boosted.value).toBeGreaterThan(1);
      expect(boosted.ci[0]).toBeGreaterThan(1);
      if (mode === 'keyword') expect(boosted.p_value).toBeLessThan(0.01);
      expect(group(biased, 'h1').exposure_over_collection.ci[1]).toBeLessThan(1);
      if (mode === 'keyword') expect(includesOne(group(fair, 'h0').exposure_over_collection.ci)).toBe(true);
      expect(boosted.value).toBeGreaterThan(group(fair, 'h0').exposure_over_collection.value);
      // Relevance did not change, so exposure over relevance rises with it.
      expect(group(biased, 'h0').relevance_share).toBe(group(fair, 'h0').relevance_share);
      expect(group(biased, 'h0').exposure_over_relevance!.value).toBeGreaterThan(group(fair, 'h0').exposure_over_relevance!.value);
    }
  });

  it('--compare: a second generation (int8) side by side over the same groups', async () => {
    const r = await audit(COLLECTION, 'dense', 'bucket', { compare: 'use-lite@1-int8' });
    console.log(`cisi dense A (live): ${summary(r)}`);
    console.log(`cisi dense B (gen ${r.compare!.generation}, ${r.compare!.model}): ${summary({ ...r, ...r.compare! })}`);
    expect(r.compare).toMatchObject({ generation: int8Generation, model: 'use-lite@1-int8', per_query_exposure_sums_to_one: true });
    expect(r.compare!.groups.map((g) => g.value)).toEqual(r.groups.map((g) => g.value));
    for (const g of r.compare!.groups) {
      // int8 ranks almost as fp32 does: a small difference.
      expect(Math.abs(g.exposure_share - group(r, String(g.value)).exposure_share)).toBeLessThan(0.05);
      expect(g.exposure_over_collection.p_value).toBeGreaterThan(0.05);
    }
  });

  it('sextant audit on the data directory prints the report', async () => {
    await runtime.close();
    const out = await captureStdout(() =>
      auditCommand([BIASED, '--queries', DATASET!, '--group-by', 'bucket', '--mode', 'keyword', '--data-dir', dir.path, '--models-dir', inject('modelsDir')]),
    );
    console.log(out);
    expect(out).toMatch(/^cisi-biased grouped by 'bucket': 2 groups over 1460 documents \(0 without the field\), keyword top-10, queries and judgements from /);
    expect(out).toMatch(/\nh0 .*\*/);
    // The same text as rendering the lifecycle's report (the audit is deterministic for a seed).
    const again = await openRuntime(loadConfig({ modelsDir: inject('modelsDir'), dataDir: dir.path }, {}), { startJobs: false });
    try {
      expect(out).toBe(renderAudit(await auditCollection(again.lifecycle.eval, BIASED, { dataset: DATASET! }, { groupBy: 'bucket', mode: 'keyword' })));
    } finally {
      await again.close();
    }
  });
});
