/**
 * Restarts and crashes: a graceful restart keeps collections, documents and identical results;
 * kill -9 loses no acknowledged write; an interrupted bulk index resumes and completes.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { datasetDir } from '../../scripts/lib/beir.ts';
import { api, CLI, startChildServer, startTestServer, tempDir, type ChildServer } from '../helpers/server.ts';

interface Hit {
  id: string;
  score: number;
}
type SearchBody = { results: Hit[] };

const TOPICS = ['supersonic wing flutter', 'library catalogue classification', 'heat transfer in boundary layers', 'citation analysis of journals'];

function syntheticDocs(n: number, offset = 0) {
  return Array.from({ length: n }, (_, i) => {
    const j = i + offset;
    return { id: `doc-${j}`, text: `${TOPICS[j % TOPICS.length]} study number ${j} with notes on ${TOPICS[(j * 7) % TOPICS.length]}`, metadata: { n: j, topic: j % TOPICS.length } };
  });
}

async function searches(url: string, collection: string): Promise<SearchBody[]> {
  const out: SearchBody[] = [];
  for (const mode of ['dense', 'keyword', 'hybrid']) {
    for (const query of ['wing flutter at high speed', 'classification schemes for libraries']) {
      const res = await api<SearchBody>(url, 'POST', `/v1/collections/${collection}/search`, { mode, query, k: 8 });
      expect(res.status).toBe(200);
      out.push({ results: res.body.results.map((r) => ({ id: r.id, score: r.score })) });
    }
  }
  return out;
}

describe('durability', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('keeps every collection, document and identical search results across a graceful restart', async () => {
    const data = await tempDir('sextant-restart-');
    cleanups.push(data.remove);
    let server = await startTestServer({ dataDir: data.path });
    for (const name of ['alpha', 'beta']) {
      expect((await api(server.url, 'POST', '/v1/collections', { name, hnsw: { M: 12, efConstruction: 100, efSearch: 50 } })).status).toBe(201);
      expect((await api(server.url, 'POST', `/v1/collections/${name}/documents`, { documents: syntheticDocs(60) })).status).toBe(200);
    }
    await api(server.url, 'POST', '/v1/collections/beta/documents/delete', { ids: ['doc-1', 'doc-2'] });
    const before = { list: (await api(server.url, 'GET', '/v1/collections')).body, alpha: await searches(server.url, 'alpha'), beta: await searches(server.url, 'beta') };
    await server.close();

    server = await startTestServer({ dataDir: data.path });
    cleanups.push(() => server.close());
    expect((await api(server.url, 'GET', '/v1/collections')).body).toEqual(before.list);
    expect(await searches(server.url, 'alpha')).toEqual(before.alpha);
    expect(await searches(server.url, 'beta')).toEqual(before.beta);
    const info = await api<{ document_count: number; hnsw: { M: number } }>(server.url, 'GET', '/v1/collections/beta');
    expect(info.body.document_count).toBe(58);
    expect(info.body.hnsw.M).toBe(12);
  });

  it('loses no acknowledged write when the server is killed with SIGKILL before any snapshot', async () => {
    const data = await tempDir('sextant-kill-');
    cleanups.push(data.remove);
    // Snapshot thresholds far away: everything after the kill must come from replaying SQLite.
    const env = { SEXTANT_DATA_DIR: data.path, SEXTANT_SNAPSHOT_CHANGES: '1000000', SEXTANT_SNAPSHOT_SECONDS: '3600' };
    let server: ChildServer = await startChildServer(env);
    cleanups.push(() => server.kill('SIGKILL'));
    await api(server.url, 'POST', '/v1/collections', { name: 'crash' });
    for (let i = 0; i < 4; i++) {
      expect((await api(server.url, 'POST', '/v1/collections/crash/documents', { documents: syntheticDocs(25, i * 25) })).status).toBe(200);
    }
    await api(server.url, 'POST', '/v1/collections/crash/documents/delete', { ids: ['doc-3'] });
    const before = await searches(server.url, 'crash');
    await server.kill('SIGKILL');

    server = await startChildServer(env);
    const info = await api<{ document_count: number }>(server.url, 'GET', '/v1/collections/crash');
    expect(info.body.document_count).toBe(99);
    expect(await searches(server.url, 'crash')).toEqual(before);
    // Every document is in the vector index, not only in SQLite: each finds itself by its own text.
    const all = await api<SearchBody>(server.url, 'POST', '/v1/collections/crash/search', { mode: 'dense', query: syntheticDocs(1, 57)[0]!.text, k: 1 });
    expect(all.body.results[0]!.id).toBe('doc-57');
    await server.kill('SIGTERM');
  });

  const cisi = datasetDir('cisi');
  it.skipIf(!cisi)('resumes `sextant index` of CISI after the server is killed mid-run, ending with exactly 1460 documents', async () => {
    const data = await tempDir('sextant-resume-');
    cleanups.push(data.remove);
    const env = { SEXTANT_DATA_DIR: data.path };
    // The server kills itself right after the 10th upsert of 32 documents is durable in SQLite,
    // before its index has it (src/util/fault-points.ts): exactly 320 documents survive.
    const KILLED_AFTER_BATCHES = 10;
    let server = await startChildServer({ ...env, SEXTANT_FAULT_POINT: `documents.upsert-committed:${KILLED_AFTER_BATCHES}` });
    cleanups.push(() => server.kill('SIGKILL'));
    const corpus = join(cisi!, 'corpus.jsonl');
    const runIndex = (url: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'index', 'cisi', corpus, '--url', url, '--batch-size', '32'], {
          env: { ...process.env, SEXTANT_MODELS_DIR: inject('modelsDir') },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });

    const first = runIndex(server.url);
    expect((await server.exited).signal).toBe('SIGKILL');
    const interrupted = await first;
    expect(interrupted.code).not.toBe(0);

    server = await startChildServer(env);
    const survived = (await api<{ document_count: number }>(server.url, 'GET', '/v1/collections/cisi')).body.document_count;
    expect(survived).toBe(KILLED_AFTER_BATCHES * 32);
    // The last batch reached the HNSW index only by replay from SQLite: dense search finds its documents.
    const lastBatch = readFileSync(corpus, 'utf8').split('\n').slice(survived - 32, survived).map((l) => JSON.parse(l) as { _id: string; title?: string; text: string });
    for (const d of lastBatch.filter((_, i) => i % 8 === 7)) {
      const res = await api<{ results: { id: string }[] }>(server.url, 'POST', '/v1/collections/cisi/search', { mode: 'dense', query: `${d.title ? `${d.title}\n` : ''}${d.text}`, k: 5 });
      expect(res.body.results.map((r) => r.id)).toContain(d._id);
    }
    const second = await runIndex(server.url);
    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(second.stdout.trim().split('\n').at(-1)!) as { documents: number; upserted: number; unchanged: number };
    expect(summary.documents).toBe(1460);
    expect(summary.unchanged).toBeGreaterThanOrEqual(survived);
    expect(summary.upserted).toBe(1460 - summary.unchanged);
    const info = await api<{ document_count: number }>(server.url, 'GET', '/v1/collections/cisi');
    expect(info.body.document_count).toBe(1460);
    console.log(`resume: ${survived} documents survived the kill; the rerun skipped ${summary.unchanged} and indexed ${summary.upserted}`);
    await server.kill('SIGTERM');
  }, 600_000);
});
