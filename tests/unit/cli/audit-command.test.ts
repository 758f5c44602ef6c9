// Tests src/cli/audit-command.ts: `sextant audit` against a server (--url; the route mounted from auditRoutes), its flags, usage errors and the text rendering.
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.ts';
import type { ApiEnv } from '../../../src/api/env.ts';
import { handleError } from '../../../src/api/errors.ts';
import { auditRoutes } from '../../../src/api/routes/audit.ts';
import { mountRoutes } from '../../../src/api/route.ts';
import { auditCommand, renderAudit } from '../../../src/cli/audit-command.ts';
import { InvalidInputError } from '../../../src/errors.ts';
import { SextantApiError } from '../../../src/client/errors.ts';
import type { AuditReport } from '../../../src/lifecycle/audit/run.ts';
import { DOCS, MODEL_A, MODEL_B, openEvalFixture, QUERIES, writeMainDataset, type Doc, type EvalFixture } from '../../helpers/eval-fixture.ts';
import { captureStdout } from '../../helpers/stdout.ts';

const COL = 'cli';
let fx: EvalFixture;
let server: ServerType;
let url: string;
let dataset: string;
let queriesFile: string;

beforeAll(async () => {
  fx = await openEvalFixture('audit-cli');
  await fx.collection(COL, MODEL_A, DOCS.map((d, i) => ({ ...d, metadata: { half: i < 20 ? 'first' : 'second' } }) as Doc));
  expect((await fx.reembed(COL, MODEL_B)).state).toBe('succeeded');
  const { deps } = createApp(fx.runtime);
  const app = new Hono<ApiEnv>();
  mountRoutes(app, auditRoutes(deps), deps.keys);
  app.onError(handleError);
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dataset = writeMainDataset(fx.path('main'));
  queriesFile = fx.path('queries.txt');
  writeFileSync(queriesFile, QUERIES.map((q) => q.text).join('\n') + '\n');
});
afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await fx?.close();
});

const run = (argv: string[]) => captureStdout(() => auditCommand(argv));

describe('sextant audit --url', () => {
  it('a file of queries: texts are sent, --json prints the report', async () => {
    const out = await run([COL, '--queries', queriesFile, '--group-by', 'half', '--mode', 'keyword', '--k', '5', '--bootstrap', '50', '--seed', '2', '--json', '--url', url]);
    const report = JSON.parse(out) as AuditReport;
    expect(report).toMatchObject({ collection: COL, group_by: 'half', mode: 'keyword', k: 5, dataset: null, queries: QUERIES.length, per_query_exposure_sums_to_one: true });
    expect(report.bootstrap.seed).toBe(2);
  });

  it('a BEIR folder with --compare: the text shows both generations', async () => {
    const out = await run([COL, '--queries', dataset, '--group-by', 'half', '--compare', MODEL_A, '--bootstrap', '50', '--url', url]);
    expect(out).toMatch(/^cli grouped by 'half': 2 groups over 40 documents \(0 without the field\), dense top-10, queries and judgements from /);
    expect(out).toMatch(/\nA: generation 2 \(tiny-b@1\)/);
    expect(out).toMatch(/\nB: generation 1 \(tiny-a@1\)/);
    expect(out).toMatch(/expo\/rel \[95% CI\]/);
    expect(out).toMatch(/\nfirst\s+20\s+0\.500 /);
  });

  it('server errors arrive as API errors naming the problem', async () => {
    const err = await run([COL, '--queries', queriesFile, '--group-by', 'colour', '--url', url]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SextantApiError);
    expect((err as SextantApiError).status).toBe(400);
    expect((err as Error).message).toMatch(/metadata field 'colour'/);
  });

  it('usage errors', async () => {
    await expect(run([COL, '--group-by', 'half', '--url', url])).rejects.toThrow(/usage: sextant audit/);
    await expect(run([COL, '--queries', queriesFile, '--url', url])).rejects.toThrow(/usage: sextant audit/);
    await expect(run([COL, '--queries', queriesFile, '--group-by', 'half', '--mode', 'fuzzy', '--url', url])).rejects.toThrow(/--mode must be one of/);
    await expect(run([COL, '--queries', queriesFile, '--group-by', 'half', '--k', '0', '--url', url])).rejects.toThrow(InvalidInputError);
    await expect(run([COL, '--queries', fx.path('missing.txt'), '--group-by', 'half', '--url', url])).rejects.toThrow(/cannot read queries file/);
  });
});

describe('renderAudit', () => {
  it('marks intervals that exclude 1', () => {
    const group = (value: string, lo: number, hi: number) => ({
      value,
      documents: 1,
      collection_share: 0.5,
      exposure_share: 0.5,
      relevance_share: null,
      exposure_over_collection: { value: (lo + hi) / 2, ci: [lo, hi] as const, null_ci: [0.8, 1.2] as const, p_value: 0.04 },
      exposure_over_relevance: null,
    });
    const text = renderAudit({
      collection: 'c', group_by: 'g', mode: 'dense', k: 10, dataset: null, documents: 2, documents_without_field: 0, missing_judged_documents: null,
      bootstrap: { resamples: 10, seed: 1, confidence: 0.95 }, generation: 1, model: 'm@1', queries: 3, skipped_queries: 0,
      groups: [group('up', 1.2, 1.5), group('par', 0.9, 1.1)], per_query_exposure_sums_to_one: true, exposure_sum_max_deviation: 0, took_ms: 1,
    });
    expect(text).toMatch(/\nup .*1\.350 \[1\.200, 1\.500\] \*\s+0\.040/);
    expect(text).toMatch(/\npar .*1\.000 \[0\.900, 1\.100\](?! \*)/);
  });
});
