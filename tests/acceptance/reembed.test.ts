/**
 * Acceptance for zero-downtime re-embedding: a live collection moves from use-lite@1 to its
 * int8 version while clients search; writes during the job land in both generations; rollback
 * restores the old results; a kill -9 mid-job resumes and completes.
 *
 * The collection is Cranfield, indexed once per run by the global setup (each test takes its own
 * copy of that data directory); without ../shared/datasets, a synthetic corpus ingested over
 * HTTP (the behaviour under test is the same).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/api/server.ts';
import { datasetDir, readCorpus, readQueries } from '../../scripts/lib/beir.ts';
import { datasetDataDir, type TempDir } from '../helpers/datasets.ts';
import { api, startChildServer, startTestServer, tempDir, type ChildServer } from '../helpers/server.ts';

interface Hit {
  id: string;
  score: number;
}
interface SearchBody {
  results: Hit[];
  model: string;
  generation: number;
}
interface Job {
  id: string;
  state: string;
  done: number;
  total: number;
  generation: number;
  previous_generation: number;
  model: string;
  error: string | null;
}
interface Info {
  model: string;
  active: string;
  target: string;
  generation: number;
  document_count: number;
}

const cranfield = datasetDir('cranfield');
/** The collection: named after the dataset, as the global setup indexes it. */
const COL = 'cranfield';
/** Documents in the live collection of the first tests. */
const LIVE_TEST_DOCS = 700;
/** Documents in the kill -9 test's collection (the killed job re-embeds about a third of them before the kill). */
const KILL_TEST_DOCS = 500;

/** Cranfield when available, else a synthetic corpus (the behaviour under test is the same). */
function corpus(): { id: string; title: string | null; text: string }[] {
  if (cranfield) {
    return readCorpus(cranfield)
      .filter((d) => `${d.title}${d.text}`.trim())
      .map((d) => ({ id: d._id, title: d.title || null, text: d.text || d.title }));
  }
  const topics = ['wing flutter', 'boundary layer heat transfer', 'shock waves in nozzles', 'buckling of thin shells', 'hypersonic flow'];
  return Array.from({ length: 600 }, (_, i) => ({ id: String(i + 1), title: null, text: `study ${i} of ${topics[i % 5]} and ${topics[(i * 3) % 5]}` }));
}

function queries(): string[] {
  return cranfield ? readQueries(cranfield).slice(0, 12).map((q) => q.text) : ['wing flutter', 'heat transfer', 'shock waves', 'thin shells'];
}

async function ingest(url: string, name: string, docs: ReturnType<typeof corpus>): Promise<void> {
  expect((await api(url, 'POST', '/v1/collections', { name })).status).toBe(201);
  for (let i = 0; i < docs.length; i += 200) {
    const res = await api(url, 'POST', `/v1/collections/${name}/documents`, { documents: docs.slice(i, i + 200) });
    expect(res.status).toBe(200);
  }
}

/**
 * A data directory holding the corpus in COL: a copy of the prebuilt Cranfield directory, or an
 * empty one that `fill` ingests the synthetic corpus into over HTTP once a server runs on it.
 */
async function corpusDataDir(prefix: string): Promise<{ data: TempDir; fill(url: string, docs: ReturnType<typeof corpus>): Promise<void> }> {
  const copy = await datasetDataDir('cranfield', prefix);
  if (copy) {
    return {
      data: copy,
      fill: async (url, docs) => {
        // A part of the corpus: the rest is deleted (no embedding needed).
        const keep = new Set(docs.map((d) => d.id));
        const drop = corpus().filter((d) => !keep.has(d.id)).map((d) => d.id);
        for (let i = 0; i < drop.length; i += 200) {
          expect((await api(url, 'POST', `/v1/collections/${COL}/documents/delete`, { ids: drop.slice(i, i + 200) })).status).toBe(200);
        }
        expect((await api<Info>(url, 'GET', `/v1/collections/${COL}`)).body.document_count).toBe(docs.length);
      },
    };
  }
  return { data: await tempDir(prefix), fill: (url, docs) => ingest(url, COL, docs) };
}

async function searchAll(url: string, name: string): Promise<SearchBody[]> {
  const out: SearchBody[] = [];
  for (const query of queries()) {
    const res = await api<SearchBody>(url, 'POST', `/v1/collections/${name}/search`, { query, k: 10 });
    expect(res.status).toBe(200);
    out.push(res.body);
  }
  return out;
}

async function waitForJob(url: string, id: string, until: (j: Job) => boolean, timeoutMs = 300_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await api<Job>(url, 'GET', `/v1/jobs/${id}`)).body;
    if (until(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} did not reach the expected state: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const strip = (b: SearchBody) => b.results.map((r) => `${r.id}:${r.score.toFixed(6)}`).join(' ');

describe('re-embedding a live collection to use-lite@1-int8', () => {
  let server: RunningServer | undefined;
  let data: TempDir | undefined;
  // Half of Cranfield: the job still runs for seconds under continuous search, with writes landing mid-job.
  const docs = corpus().slice(0, LIVE_TEST_DOCS);

  /** A server of this test's own over a fresh copy of the corpus (tests change generations and jobs). */
  async function start(): Promise<string> {
    const prepared = await corpusDataDir('sextant-reembed-');
    data = prepared.data;
    server = await startTestServer({ dataDir: data.path });
    await prepared.fill(server.url, docs);
    return server.url;
  }
  afterEach(async () => {
    await server?.close();
    await data?.remove();
    server = undefined;
    data = undefined;
  });

  it('swaps generations with zero failed searches, every response from exactly one generation, then rolls back', async () => {
    const url = await start();
    const before = await searchAll(url, COL);
    const oldGeneration = before[0]!.generation;
    expect(before.every((b) => b.model === 'use-lite@1')).toBe(true);

    const started = await api<Job>(url, 'POST', `/v1/collections/${COL}/reembed`, { model: 'use-lite@1-int8' });
    expect(started.status).toBe(202);
    expect(started.body.state).toMatch(/queued|running/);
    expect(started.body.model).toBe('use-lite@1-int8');

    // A client searching continuously until the job is over.
    const seen: { query: number; body: SearchBody }[] = [];
    let failures = 0;
    let stop = false;
    const qs = queries();
    const client = (async () => {
      for (let i = 0; !stop; i++) {
        const res = await api<SearchBody>(url, 'POST', `/v1/collections/${COL}/search`, { query: qs[i % qs.length], k: 10 });
        if (res.status !== 200) failures++;
        else seen.push({ query: i % qs.length, body: res.body });
      }
    })();
    // Writes during the job: new, changed and deleted documents.
    await waitForJob(url, started.body.id, (j) => j.state === 'running' && j.done > 50);
    const added = { id: 'new-during-job', title: null, text: 'a brand new study of transonic buffeting on swept wings' };
    const changed = { id: docs[5]!.id, title: null, text: 'rewritten: magnetohydrodynamic channel flow with hall currents' };
    const removed = docs[7]!.id;
    expect((await api(url, 'POST', `/v1/collections/${COL}/documents`, { documents: [added, changed] })).status).toBe(200);
    expect((await api(url, 'DELETE', `/v1/collections/${COL}/documents/${encodeURIComponent(removed)}`)).status).toBe(200);

    const job = await waitForJob(url, started.body.id, (j) => !['queued', 'running'].includes(j.state));
    stop = true;
    await client;
    expect(job.state, job.error ?? '').toBe('succeeded');
    expect(job.done).toBe(docs.length); // +1 added, -1 removed

    const info = (await api<Info>(url, 'GET', `/v1/collections/${COL}`)).body;
    expect(info.model).toBe('use-lite@1-int8');
    expect(info.active).toBe('use-lite@1-int8');
    expect(info.generation).toBe(job.generation);
    expect(info.document_count).toBe(docs.length);

    // The writes made during the job are in the new generation.
    const find = async (text: string) => (await api<SearchBody>(url, 'POST', `/v1/collections/${COL}/search`, { query: text, k: 3 })).body;
    expect((await find(added.text)).results[0]!.id).toBe(added.id);
    expect((await find(changed.text)).results[0]!.id).toBe(changed.id);
    const all = await api<SearchBody>(url, 'POST', `/v1/collections/${COL}/search`, { query: docs[7]!.text, k: 1000 });
    expect(all.body.results.map((r) => r.id)).not.toContain(removed);

    // Exactly one generation per response: each equals the old or the new generation's answer for
    // its query, never a blend. The answers for queries unaffected by the writes are fixed points.
    const after = await searchAll(url, COL);
    expect(failures).toBe(0);
    expect(seen.length).toBeGreaterThan(0);
    let fromOld = 0;
    let fromNew = 0;
    for (const { query, body } of seen) {
      if (body.generation === oldGeneration) {
        expect(body.model).toBe('use-lite@1');
        fromOld++;
      } else {
        expect(body.generation).toBe(job.generation);
        expect(body.model).toBe('use-lite@1-int8');
        expect(strip(body)).toBe(strip(after[query]!));
        fromNew++;
      }
    }
    console.log(`continuous search during re-embedding: ${seen.length} searches, 0 failed, ${fromOld} from the old generation, ${fromNew} from the new`);

    // Rollback: back to use-lite@1 with identical results (the writes made since are kept).
    const rolled = await api<Info>(url, 'POST', `/v1/collections/${COL}/rollback`);
    expect(rolled.status).toBe(200);
    expect(rolled.body.model).toBe('use-lite@1');
    expect(rolled.body.generation).toBe(oldGeneration);
    const restored = await searchAll(url, COL);
    const touched = new Set([added.id, changed.id, removed]);
    restored.forEach((r, i) => {
      if (before[i]!.results.some((h) => touched.has(h.id)) || r.results.some((h) => touched.has(h.id))) return;
      expect(strip(r)).toBe(strip(before[i]!));
    });
    expect((await find(added.text)).results[0]!.id).toBe(added.id);
  }, 600_000);

  it('refuses a second job on the same collection and unknown models; cancel leaves the live generation untouched', async () => {
    const url = await start();
    // A finished job to list next to the cancelled one: a small collection of its own, re-embedded.
    expect((await api(url, 'POST', '/v1/collections', { name: 'small' })).status).toBe(201);
    expect((await api(url, 'POST', '/v1/collections/small/documents', { documents: docs.slice(0, 20) })).status).toBe(200);
    const small = await api<Job>(url, 'POST', '/v1/collections/small/reembed', { model: 'use-lite@1-int8' });
    expect(small.status).toBe(202);
    expect((await waitForJob(url, small.body.id, (j) => !['queued', 'running'].includes(j.state))).state).toBe('succeeded');

    const info = (await api<Info>(url, 'GET', `/v1/collections/${COL}`)).body;
    const first = await api<Job>(url, 'POST', `/v1/collections/${COL}/reembed`, { model: 'use-lite@1-int8' });
    expect(first.status).toBe(202);
    const second = await api<{ error: { code: string } }>(url, 'POST', `/v1/collections/${COL}/reembed`, {});
    expect(second.status).toBe(409);
    const cancelled = await api<Job>(url, 'POST', `/v1/jobs/${first.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    const now = (await api<Info>(url, 'GET', `/v1/collections/${COL}`)).body;
    expect(now.generation).toBe(info.generation);
    expect(now.model).toBe(info.model);
    expect((await api(url, 'POST', `/v1/collections/${COL}/reembed`, { model: 'nope@1' })).status).toBe(404);
    expect((await api(url, 'GET', '/v1/jobs/does-not-exist')).status).toBe(404);
    expect((await api(url, 'POST', '/v1/collections/missing/reembed', {})).status).toBe(404);
    // Newest first.
    const jobs = (await api<{ jobs: Job[] }>(url, 'GET', '/v1/jobs')).body.jobs;
    expect(jobs.map((j) => j.state)).toEqual(['cancelled', 'succeeded']);
    expect(jobs.map((j) => j.id)).toEqual([first.body.id, small.body.id]);
  }, 300_000);
});

describe('re-embedding survives kill -9', () => {
  let child: ChildServer | undefined;
  let data: TempDir | undefined;
  afterAll(async () => {
    await child?.kill('SIGKILL');
    await data?.remove();
  });

  it('resumes after a SIGKILL mid-job and completes with no document missing', async () => {
    const prepared = await corpusDataDir('sextant-reembed-kill-');
    data = prepared.data;
    const env = { SEXTANT_DATA_DIR: data.path, SEXTANT_REEMBED_BATCH: '32', SEXTANT_SNAPSHOT_CHANGES: '1000000', SEXTANT_SNAPSHOT_SECONDS: '3600' };
    // The server kills itself right after the 10th batch of new vectors is durable in SQLite,
    // before the new generation's index or the job row have it (src/util/fault-points.ts).
    const KILLED_AFTER_BATCHES = 10;
    child = await startChildServer({ ...env, SEXTANT_FAULT_POINT: `reembed.vectors-committed:${KILLED_AFTER_BATCHES}` });
    // Resuming needs a job long enough to be killed mid-way, not the whole corpus.
    const docs = corpus().slice(0, KILL_TEST_DOCS);
    await prepared.fill(child.url, docs);
    const job = (await api<Job>(child.url, 'POST', `/v1/collections/${COL}/reembed`, { model: 'use-lite@1-int8' })).body;
    expect((await child.exited).signal).toBe('SIGKILL');
    const partial = { done: KILLED_AFTER_BATCHES * 32, total: docs.length };
    expect(partial.done).toBeLessThan(docs.length);

    child = await startChildServer(env);
    const resumed = await waitForJob(child.url, job.id, (j) => !['queued', 'running'].includes(j.state));
    expect(resumed.state, resumed.error ?? '').toBe('succeeded');
    expect(resumed.done).toBe(docs.length);
    const info = (await api<Info>(child.url, 'GET', `/v1/collections/${COL}`)).body;
    expect(info.model).toBe('use-lite@1-int8');
    expect(info.document_count).toBe(docs.length);
    // Every document is findable in the new generation: a sample of them find themselves.
    for (const d of docs.filter((_, i) => i % Math.ceil(docs.length / 25) === 0)) {
      const res = await api<SearchBody>(child.url, 'POST', `/v1/collections/${COL}/search`, { query: `${d.title ? `${d.title}\n` : ''}${d.text}`, k: 5 });
      expect(res.body.generation).toBe(resumed.generation);
      expect(res.body.results.map((r) => r.id)).toContain(d.id);
    }
    console.log(`kill -9 during re-embedding after ${partial.done}/${partial.total} vectors were durable: resumed and completed ${resumed.done}/${resumed.total}`);
    await child.kill('SIGTERM');
    child = undefined;
  }, 600_000);
});
