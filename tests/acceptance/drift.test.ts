/**
 * Acceptance of drift detection on real data, through the HTTP API and the search service's
 * events (USE-Lite, default settings):
 *
 * - a Cranfield collection whose reference queries are the first 100 Cranfield queries
 *   (POST /drift/reference); windows built from the remaining 125 Cranfield queries stay `ok`
 *   in at least 95% of cases (200 random windows, and every sliding window, each run as a
 *   stream through the state machine);
 * - a stream of CISI queries, sent as real searches, is `drifted` within 3 windows;
 * - ingesting CISI documents into the Cranfield collection raises document drift.
 *
 * Prints the numbers (false-alarm rate, windows to detect, document drift metrics) and one
 * `DRIFT ACCEPTANCE {json}` line. Needs ../shared/datasets; skips with a message without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetDir, readCorpus, readQueries, type BeirDoc } from '../../scripts/lib/beir.ts';
import { driftConfigFrom } from '../../src/lifecycle/drift/config.ts';
import { DriftStateMachine, type TokenTotals, type WindowItems } from '../../src/lifecycle/drift/evaluate.ts';
import { sampleIndices } from '../../src/lifecycle/drift/stats.ts';
import { mulberry32 } from '../../src/util/random.ts';
import type { QueryObserved } from '../../src/search/events.ts';
import { startDriftApp, type DriftApp } from '../helpers/drift-app.ts';
import { api, tempDir } from '../helpers/server.ts';

const cranfield = datasetDir('cranfield');
const cisi = datasetDir('cisi');
if (!cranfield || !cisi) console.log('drift acceptance skipped: ../shared/datasets/cranfield and cisi are needed');

const NAME = 'cranfield';

interface DriftBody {
  state: string;
  metrics: { name: string; kind: string; value: number | null; threshold: number | null; exceeded: boolean; window: { index: number; size: number } }[];
  kinds: Record<'queries' | 'documents', { state: string; windows: number; reference: { count: number; source: string } | null }>;
  history: { kind: string; state: string; alert: boolean; reasons: string[]; metrics: Record<string, number | null>; ms: number | null }[];
  policy: { mode: string; decision: string; reason: string; active: string; target: string };
}

describe.skipIf(!cranfield || !cisi)('drift detection: Cranfield reference, CISI drift', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let app: DriftApp;
  const figures: Record<string, unknown> = {};

  const getDrift = async (): Promise<DriftBody> => {
    await app.drift.flush();
    const res = await api<DriftBody>(app.url, 'GET', `/v1/collections/${NAME}/drift?history=200`);
    expect(res.status).toBe(200);
    return res.body;
  };

  const ingest = async (docs: BeirDoc[], prefix: string, after?: (batch: number) => Promise<boolean>): Promise<void> => {
    for (let i = 0, b = 1; i < docs.length; i += 100, b++) {
      const res = await api(app.url, 'POST', `/v1/collections/${NAME}/documents`, {
        documents: docs.slice(i, i + 100).map((d) => ({ id: `${prefix}${d._id}`, title: d.title || null, text: d.text || d.title })),
      });
      expect(res.status).toBe(200);
      if (after && (await after(b))) return;
    }
  };

  const search = async (text: string): Promise<void> => {
    const res = await api(app.url, 'POST', `/v1/collections/${NAME}/search`, { mode: 'dense', query: text, k: 10 });
    expect(res.status).toBe(200);
  };

  /** Cranfield's first 100 queries as the supplied query reference (the query state starts over). */
  const supplyCranfieldReference = async (): Promise<void> => {
    const ref = await api<{ references: { count: number; source: string }[] }>(app.url, 'POST', `/v1/collections/${NAME}/drift/reference`, {
      queries: readQueries(cranfield!).slice(0, 100).map((q) => q.text),
    });
    expect(ref.status).toBe(200);
    expect(ref.body.references[0]).toMatchObject({ count: 100, source: 'supplied' });
  };

  /** Searches CISI queries a window at a time until the queries drift (at most `windows` windows). */
  const streamCisiQueries = async (windows: number): Promise<{ states: string[]; detectedAt?: number }> => {
    const queries = readQueries(cisi!);
    const W = driftConfigFrom(app.service.context.store.getCollection(NAME)!.settings).queries.window;
    const states: string[] = [];
    for (let w = 0; w < windows; w++) {
      for (const q of queries.slice(w * W, (w + 1) * W)) await search(q.text);
      const body = await getDrift();
      states.push(body.kinds.queries.state);
      if (body.kinds.queries.state === 'drifted') return { states, detectedAt: w + 1 };
    }
    return { states };
  };

  beforeAll(async () => {
    data = await tempDir('sextant-drift-');
    app = await startDriftApp(data.path);
    expect((await api(app.url, 'POST', '/v1/collections', { name: NAME })).status).toBe(201);
    const started = performance.now();
    await ingest(readCorpus(cranfield!).filter((d) => `${d.title}${d.text}`.trim()), '');
    figures.cranfield_ingest_s = Math.round((performance.now() - started) / 100) / 10;
  });

  afterAll(async () => {
    await app?.close();
    await data?.remove();
    console.log(`DRIFT ACCEPTANCE ${JSON.stringify(figures)}`);
  });

  it('keeps documents ok while the Cranfield corpus itself is loaded', async () => {
    const body = await getDrift();
    const docWindows = body.history.filter((h) => h.kind === 'documents');
    figures.cranfield_load_document_windows = docWindows.length;
    figures.cranfield_load_document_alerts = docWindows.filter((h) => h.alert).length;
    figures.cranfield_load_max_centroid = Math.max(...docWindows.map((h) => h.metrics.centroid_distance ?? 0));
    console.log(
      `Cranfield load: ${docWindows.length} document windows, ${figures.cranfield_load_document_alerts} alerts, ` +
        `max centroid distance ${figures.cranfield_load_max_centroid}; reference ${JSON.stringify(body.kinds.documents.reference)}`,
    );
    expect(body.kinds.documents.reference?.source).toBe('sampled');
    expect(body.kinds.documents.state).toBe('ok');
    expect(body.state).toBe('ok');
  });

  it('Cranfield queries after the first 100 stay ok in at least 95% of windows', async () => {
    const queries = readQueries(cranfield!);
    await supplyCranfieldReference();

    // The remaining 125 go through real searches (5 real windows); the events give us their embeddings.
    const seen: QueryObserved[] = [];
    const off = app.service.events.onQuery((e) => seen.push(e));
    for (const q of queries.slice(100)) await search(q.text);
    off();
    expect(seen).toHaveLength(125);
    const live = await getDrift();
    const liveWindows = live.history.filter((h) => h.kind === 'queries');
    figures.cranfield_live_query_windows = liveWindows.length;
    figures.cranfield_live_query_alerts = liveWindows.filter((h) => h.alert).length;
    expect(live.kinds.queries.windows).toBe(5);
    expect(live.kinds.queries.state).toBe('ok');

    const config = driftConfigFrom(app.service.context.store.getCollection(NAME)!.settings);
    const W = config.queries.window;
    const itemsOf = (idx: number[]): WindowItems => {
      const events = idx.map((i) => seen[i]!);
      const tokens: TokenTotals = {
        texts: events.length,
        tokens: events.reduce((n, e) => n + (e.tokens ?? 0), 0),
        unknown: events.reduce((n, e) => n + (e.unknownTokens ?? 0), 0),
        truncated: events.filter((e) => e.truncated).length,
      };
      return { vectors: events.map((e) => e.queryVector!), top1: events.flatMap((e) => (e.topScore === undefined ? [] : [e.topScore])), tokens };
    };
    const stream = (windows: number[][]) => {
      const machine = new DriftStateMachine();
      let alerts = 0;
      let ok = 0;
      const centroids: number[] = [];
      windows.forEach((idx, t) => {
        const ev = app.drift.evaluate(NAME, 'queries', itemsOf(idx), t + 1)!;
        if (ev.alert) alerts++;
        if (machine.step(ev.alert, config.persist, config.recover) === 'ok') ok++;
        centroids.push(ev.metrics.find((m) => m.name === 'centroid_distance')!.value!);
      });
      return { windows: windows.length, alertRate: alerts / windows.length, okRate: ok / windows.length, maxCentroid: Math.max(...centroids) };
    };

    const rng = mulberry32(2026);
    const random = stream(Array.from({ length: 200 }, () => sampleIndices(125, W, rng)));
    const sliding = stream(Array.from({ length: 125 - W + 1 }, (_, s) => Array.from({ length: W }, (_, j) => s + j)));
    figures.query_window = W;
    figures.random_windows = random;
    figures.sliding_windows = sliding;
    figures.false_alarm_rate_random = Math.round(random.alertRate * 1000) / 1000;
    figures.ok_rate_random = Math.round(random.okRate * 1000) / 1000;
    figures.ok_rate_sliding = Math.round(sliding.okRate * 1000) / 1000;
    console.log(
      `Cranfield queries 101-225 vs reference 1-100, windows of ${W}: ` +
        `random ${random.windows} windows: alert rate ${random.alertRate.toFixed(3)}, ok ${random.okRate.toFixed(3)}, max centroid ${random.maxCentroid.toFixed(4)}; ` +
        `sliding ${sliding.windows} windows: alert rate ${sliding.alertRate.toFixed(3)}, ok ${sliding.okRate.toFixed(3)}, max centroid ${sliding.maxCentroid.toFixed(4)}; ` +
        `live: ${liveWindows.length} windows, ${figures.cranfield_live_query_alerts} alerts`,
    );
    expect(random.okRate).toBeGreaterThanOrEqual(0.95);
    expect(sliding.okRate).toBeGreaterThanOrEqual(0.95);
  });

  it('a stream of CISI queries (real searches) is drifted within 3 windows', async () => {
    await supplyCranfieldReference();
    const { states, detectedAt } = await streamCisiQueries(4);
    const body = await getDrift();
    const last = Object.fromEntries(body.metrics.filter((m) => m.kind === 'queries').map((m) => [m.name, m.value]));
    figures.cisi_query_states = states;
    figures.cisi_windows_to_detect = detectedAt ?? null;
    figures.cisi_query_metrics = last;
    console.log(`CISI query stream: states per window ${states.join(' → ')}; drifted after ${detectedAt} windows; last window ${JSON.stringify(last)}`);
    expect(detectedAt).toBeDefined();
    expect(detectedAt!).toBeLessThanOrEqual(3);
    expect(body.state).toBe('drifted');
    // Target (default alias) = active version: re-embedding would change nothing.
    expect(body.policy).toMatchObject({ mode: 'notify', decision: 'new_model_needed' });
    expect(body.policy.target).toBe(body.policy.active);

    const metrics = await api<string>(app.url, 'GET', '/metrics');
    expect(metrics.body).toContain(`sextant_drift_state{collection="${NAME}"} 2`);
    expect(metrics.body).toMatch(new RegExp(`sextant_drift_metric\\{collection="${NAME}",kind="queries",metric="centroid_distance"\\} 0\\.\\d+`));
    expect(metrics.body).toContain(`sextant_drift_kind_state{collection="${NAME}",kind="queries"} 2`);
  });

  it('ingesting CISI documents raises document drift', async () => {
    const docs = readCorpus(cisi!).slice(0, 500);
    const states: string[] = [];
    let detectedAt: number | undefined;
    await ingest(docs, 'cisi-', async (batch) => {
      const body = await getDrift();
      states.push(body.kinds.documents.state);
      if (detectedAt === undefined && body.kinds.documents.state === 'drifted') detectedAt = batch;
      return detectedAt !== undefined && batch >= detectedAt + 1;
    });
    const body = await getDrift();
    const docMetrics = body.metrics.filter((m) => m.kind === 'documents');
    const last = Object.fromEntries(docMetrics.map((m) => [m.name, m.value]));
    const windowMs = body.history.map((h) => h.ms).filter((x): x is number => x !== null);
    const msOf = (kind: string) => {
      const ms = body.history.filter((h) => h.kind === kind && h.ms !== null).map((h) => h.ms!).sort((x, y) => x - y);
      return { windows: ms.length, median: ms[Math.floor(ms.length / 2)], max: ms.at(-1) };
    };
    figures.window_eval_ms = { queries: msOf('queries'), documents: msOf('documents') };
    figures.cisi_document_states = states;
    figures.cisi_document_batches_to_detect = detectedAt ?? null;
    figures.cisi_document_metrics = last;
    figures.window_eval_ms_max = Math.max(...windowMs);
    console.log(
      `CISI documents into Cranfield (batches and windows of 100; the first CISI batch completes a window begun by the last Cranfield batch): ` +
        `document state after each batch ${states.join(' → ')}; drifted after ${detectedAt} batches; ` +
        `last window ${JSON.stringify(last)}; thresholds ${JSON.stringify(Object.fromEntries(docMetrics.map((m) => [m.name, m.threshold])))}; ` +
        `window evaluation ms ${JSON.stringify(figures.window_eval_ms)}`,
    );
    expect(body.kinds.documents.state).not.toBe('ok');
    expect(detectedAt).toBeDefined();
    expect(docMetrics.find((m) => m.name === 'centroid_distance')!.exceeded).toBe(true);
  });

  it('keeps references and state across a restart', async () => {
    await supplyCranfieldReference();
    expect((await streamCisiQueries(4)).detectedAt).toBeDefined();
    const before = await getDrift();
    await app.close();
    app = await startDriftApp(data.path);
    const body = await getDrift();
    expect(body.state).toBe('drifted');
    expect(body.kinds.queries.state).toBe('drifted');
    expect(body.kinds.queries.reference).toMatchObject({ count: 100, source: 'supplied' });
    expect(body.kinds.documents.reference?.source).toBe('sampled');
    // Everything but the partial window in memory (a restart evaluates full windows only and drops the rest).
    const settled = (kinds: DriftBody['kinds']) => Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, { ...v, buffered: undefined, collecting: undefined }]));
    expect(settled(body.kinds)).toEqual(settled(before.kinds));
    expect(body.history).toEqual(before.history);
    expect(body.history.length).toBeGreaterThan(10);
  });
});
