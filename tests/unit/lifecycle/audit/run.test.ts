// Tests src/lifecycle/audit/run.ts: auditCollection over EvalDeps from the composition root, with tiny BERTs; figures checked against searches made here and exposure computed from scratch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectionNotFoundError, InvalidInputError } from '../../../../src/errors.ts';
import { MAX_GROUPS } from '../../../../src/lifecycle/audit/groups.ts';
import { auditCollection, type AuditReport } from '../../../../src/lifecycle/audit/run.ts';
import type { SearchMode } from '../../../../src/search/query.ts';
import { DOCS, MODEL_A, MODEL_B, observeQueries, openEvalFixture, QUERIES, relevantOf, writeMainDataset, type Doc, type EvalFixture } from '../../../helpers/eval-fixture.ts';

const COL = 'a';
let fx: EvalFixture;
let dataset: string;
let genA: number;
let genB: number;

/** Even documents in group 'even', odd in 'odd'; doc-39 has no metadata, doc-38 a null value. */
const groupOf = (i: number): string | null | undefined => (i === 39 ? undefined : i === 38 ? null : i % 2 === 0 ? 'even' : 'odd');
const DOCS_WITH_GROUPS: Doc[] = DOCS.map((d, i) => {
  const g = groupOf(i);
  return (g === undefined ? d : { ...d, metadata: { parity: g, third: i % 3 } }) as Doc;
});

beforeAll(async () => {
  fx = await openEvalFixture('audit');
  genA = await fx.collection(COL, MODEL_A, DOCS_WITH_GROUPS);
  const job = await fx.reembed(COL, MODEL_B);
  expect(job.state, job.error ?? '').toBe('succeeded');
  genB = job.generation!;
  dataset = writeMainDataset(fx.path('main'));
});
afterAll(async () => {
  await fx?.close();
});

const TEXTS = QUERIES.map((q) => q.text);

/** Mean exposure share of each parity group, computed here from text searches of the service. */
async function expectedExposure(mode: SearchMode, k: number, generation?: number): Promise<Record<string, number>> {
  const sums: Record<string, number> = {};
  let n = 0;
  for (const text of TEXTS) {
    const res = await fx.runtime.service.search(COL, { mode, query: text, k, generation });
    const weights: Record<string, number> = {};
    res.results.forEach((hit, i) => {
      const g = hit.metadata.parity;
      if (typeof g === 'string') weights[g] = (weights[g] ?? 0) + 1 / Math.log2(i + 2);
    });
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    if (total === 0) continue;
    n++;
    for (const [g, w] of Object.entries(weights)) sums[g] = (sums[g] ?? 0) + w / total;
  }
  return Object.fromEntries(Object.entries(sums).map(([g, s]) => [g, s / n]));
}

const byValue = (r: Pick<AuditReport, 'groups'>) => Object.fromEntries(r.groups.map((g) => [String(g.value), g]));

async function invalid(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidInputError);
  expect((err as Error).message).toMatch(message);
}

describe('auditCollection', () => {
  it.each(['dense', 'keyword', 'hybrid'] as const)('%s: exposure shares are what the text searches give, and sum to 1', async (mode) => {
    const report = await auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: 'parity', mode, k: 5, bootstrap: 200 });
    expect(report).toMatchObject({ collection: COL, group_by: 'parity', mode, k: 5, dataset: null, generation: genB, model: MODEL_B, missing_judged_documents: null });
    expect(report.documents).toBe(38);
    expect(report.documents_without_field).toBe(2);
    expect(report.per_query_exposure_sums_to_one).toBe(true);
    expect(report.exposure_sum_max_deviation).toBeLessThan(1e-12);
    const expected = await expectedExposure(mode, 5);
    const groups = byValue(report);
    expect(Object.keys(groups).sort()).toEqual(['even', 'odd']);
    for (const [g, share] of Object.entries(expected)) expect(groups[g]!.exposure_share).toBeCloseTo(share, 12);
    expect(groups.even!.exposure_share + groups.odd!.exposure_share).toBeCloseTo(1, 12);
    expect(groups.even!.documents).toBe(19);
    expect(groups.even!.collection_share).toBe(0.5);
    for (const g of report.groups) {
      expect(g.exposure_over_collection.value).toBeCloseTo(g.exposure_share / g.collection_share, 12);
      expect(g.exposure_over_collection.ci[0]).toBeLessThanOrEqual(g.exposure_over_collection.value + 1e-12);
      expect(g.exposure_over_collection.ci[1]).toBeGreaterThanOrEqual(g.exposure_over_collection.value - 1e-12);
      expect(g.relevance_share).toBeNull();
      expect(g.exposure_over_relevance).toBeNull();
    }
  });

  it('with a BEIR folder: judged queries, relevance shares from the judgements, and exposure over relevance', async () => {
    const report = await auditCollection(fx.deps, COL, { dataset }, { groupBy: 'parity', mode: 'keyword', k: 10, bootstrap: 200 });
    expect(report.dataset).toBe(dataset);
    expect(report.queries + report.skipped_queries).toBe(QUERIES.length);
    expect(report.missing_judged_documents).toBe(1); // 'ghost'
    // Relevance shares from scratch: grades per parity group over judged documents with a group.
    const sums: Record<string, number> = {};
    let n = 0;
    for (const q of QUERIES) {
      const w: Record<string, number> = {};
      for (const [id, grade] of relevantOf(q)) {
        const i = DOCS.findIndex((d) => d.id === id);
        const g = i < 0 ? undefined : groupOf(i);
        if (typeof g === 'string') w[g] = (w[g] ?? 0) + grade;
      }
      const total = Object.values(w).reduce((a, b) => a + b, 0);
      if (total === 0) continue;
      n++;
      for (const [g, x] of Object.entries(w)) sums[g] = (sums[g] ?? 0) + x / total;
    }
    const groups = byValue(report);
    for (const g of ['even', 'odd']) {
      expect(groups[g]!.relevance_share).toBeCloseTo(sums[g]! / n, 12);
      expect(groups[g]!.exposure_over_relevance!.value).toBeCloseTo(groups[g]!.exposure_share / groups[g]!.relevance_share!, 12);
    }
  });

  it('compare: the second generation side by side, over the same groups, searched with its own model', async () => {
    const report = await auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: 'parity', mode: 'dense', k: 5, compare: MODEL_A, bootstrap: 100 });
    expect(report.generation).toBe(genB);
    expect(report.compare).toMatchObject({ generation: genA, model: MODEL_A });
    expect(report.compare!.groups.map((g) => g.value)).toEqual(report.groups.map((g) => g.value));
    expect(report.compare!.groups.map((g) => g.documents)).toEqual(report.groups.map((g) => g.documents));
    const expected = await expectedExposure('dense', 5, genA);
    const groups = byValue(report.compare!);
    for (const [g, share] of Object.entries(expected)) expect(groups[g]!.exposure_share).toBeCloseTo(share, 12);
    // By generation id too; the audited generation itself is refused.
    const byId = await auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: 'parity', k: 5, generation: genA, compare: genB, bootstrap: 100 });
    expect(byId.generation).toBe(genA);
    expect(byValue(byId).even!.exposure_share).toBeCloseTo(groups.even!.exposure_share, 12);
    await invalid(auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: 'parity', compare: genB }), /the one being audited/);
  });

  it('numbers form groups of their own; the bootstrap is deterministic for a seed', async () => {
    const a = await auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: 'third', mode: 'keyword', seed: 5, bootstrap: 300 });
    const b = await auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: 'third', mode: 'keyword', seed: 5, bootstrap: 300 });
    expect(a.groups.map((g) => g.value).sort()).toEqual([0, 1, 2]);
    expect(a.groups).toEqual(b.groups);
    expect(a.bootstrap).toEqual({ resamples: 300, seed: 5, confidence: 0.95 });
  });

  it('audit queries stay out of drift detection', async () => {
    const { events, stop } = observeQueries(fx.runtime.service);
    try {
      await auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: 'parity', mode: 'dense', bootstrap: 10 });
      await auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: 'parity', mode: 'hybrid', bootstrap: 10 });
    } finally {
      stop();
    }
    expect(events.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.queryVector !== undefined)).toEqual([]);
  });

  it('refuses what cannot be audited, saying what is wrong', async () => {
    await invalid(auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: 'colour' }), /no document of collection 'a' has metadata field 'colour'.*fields its documents have: parity, third/);
    await invalid(auditCollection(fx.deps, COL, { queries: [] }, { groupBy: 'parity' }), /query set is empty/);
    await invalid(auditCollection(fx.deps, COL, { queries: ['river', '  '] }, { groupBy: 'parity' }), /query 1 is empty/);
    await invalid(auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: '' }), /group_by/);
    await invalid(auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: '__proto__' }), /not a metadata field/);
    await invalid(auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: 'parity', k: 0 }), /k must be an integer/);
    await invalid(auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: 'parity', bootstrap: 0 }), /bootstrap must be an integer/);
    await invalid(auditCollection(fx.deps, COL, { queries: TEXTS }, { groupBy: 'parity', mode: 'fuzzy' as SearchMode }), /unknown mode 'fuzzy'/);
    await invalid(auditCollection(fx.deps, COL, { dataset: fx.path('nowhere') }, { groupBy: 'parity' }), /does not exist/);
    await invalid(auditCollection(fx.deps, COL, { queries: ['zzzz qqqq'] }, { groupBy: 'parity', mode: 'keyword' }), /none of the 1 queries found a document with the field/);
    await expect(auditCollection(fx.deps, 'missing', { queries: TEXTS }, { groupBy: 'parity' })).rejects.toBeInstanceOf(CollectionNotFoundError);
    expect(MAX_GROUPS).toBe(1000);
  });
});
