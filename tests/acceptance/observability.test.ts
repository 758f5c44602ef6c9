/**
 * Observability against real servers: /metrics keeps every metric it had before the move to
 * prom-client and adds the process defaults; logs are JSON lines on stderr, a failed job's line
 * carries the error's stack under `err`, and no API key ever reaches a log line.
 */
import { cp, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, startChildServer, startTestServer, tempDir, type ChildServer } from '../helpers/server.ts';

/** Every sextant metric /metrics served before prom-client: name, type, help and label names. */
const SEXTANT_METRICS: readonly { name: string; type: string; help: string; labels: readonly string[] }[] = [
  { name: 'sextant_http_requests_total', type: 'counter', help: 'HTTP requests by route, method and status', labels: ['route', 'method', 'status'] },
  { name: 'sextant_http_request_duration_seconds', type: 'histogram', help: 'HTTP request latency by route, method and status', labels: ['route', 'method', 'status'] },
  { name: 'sextant_embed_batch_size', type: 'histogram', help: 'Texts per inference batch', labels: ['model'] },
  { name: 'sextant_embed_batch_duration_seconds', type: 'histogram', help: 'Inference time per batch', labels: ['model'] },
  { name: 'sextant_embed_tokens_total', type: 'counter', help: 'Tokens embedded (real and padded)', labels: ['model', 'kind'] },
  { name: 'sextant_embed_queue_depth', type: 'gauge', help: 'Texts waiting in the embedding queue', labels: ['model', 'device'] },
  { name: 'sextant_collection_documents', type: 'gauge', help: 'Documents per collection', labels: ['collection', 'generation', 'backend'] },
  { name: 'sextant_drift_state', type: 'gauge', help: 'Drift state per collection: 0 ok, 1 warning, 2 drifted (worst over kinds)', labels: ['collection'] },
  { name: 'sextant_drift_kind_state', type: 'gauge', help: 'Drift state per collection and kind (queries, documents): 0 ok, 1 warning, 2 drifted', labels: ['collection', 'kind'] },
  { name: 'sextant_drift_metric', type: 'gauge', help: 'Last evaluated drift window per collection, kind and metric', labels: ['collection', 'kind', 'metric'] },
];

const DEFAULT_METRICS: readonly { name: string; type: string }[] = [
  { name: 'process_cpu_seconds_total', type: 'counter' },
  { name: 'nodejs_eventloop_lag_seconds', type: 'gauge' },
  { name: 'nodejs_heap_size_used_bytes', type: 'gauge' },
];

const CORRUPT_MODEL = 'use-lite@9';

interface LogLine {
  time: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** Every line the child wrote to stderr, each of which must be a JSON log line. */
function logLines(server: ChildServer): LogLine[] {
  return server.logs
    .join('')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      let parsed: unknown;
      expect(() => (parsed = JSON.parse(l)), `not a JSON log line: ${l}`).not.toThrow();
      return parsed as LogLine;
    });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sample lines of a metric: its own, or its _bucket/_sum/_count series for a histogram. */
function samples(text: string, name: string, type: string): string[] {
  const series = type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
  return text.split('\n').filter((l) => series.includes(l.split(/[{ ]/, 1)[0]!));
}

function labelNames(sample: string): string[] {
  const inner = /^[^{\s]+\{(.*)\}\s/.exec(sample)?.[1] ?? '';
  return [...inner.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)].map((m) => m[1]!).filter((n) => n !== 'le');
}

/** Copies the test models and adds use-lite@9: a copy of use-lite@1 whose ONNX file fails its checksum. */
async function modelsWithCorruptVersion(root: string): Promise<string> {
  const dir = join(root, 'models');
  await cp(inject('modelsDir'), dir, { recursive: true });
  const version = join(dir, 'use-lite', '9');
  await cp(join(dir, 'use-lite', '1'), version, { recursive: true });
  const manifestPath = join(version, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { version: string; onnx: { path: string; dtype: string }[] };
  manifest.version = '9';
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
  const onnx = manifest.onnx.find((f) => f.dtype === 'fp32') ?? manifest.onnx[0]!;
  const handle = await open(join(version, onnx.path), 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 5000);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, 5000);
  } finally {
    await handle.close();
  }
  return dir;
}

/** Creates a collection with documents and starts a re-embedding to the corrupt model; returns the job once failed. */
async function failReembed(url: string, headers: Record<string, string> = {}): Promise<{ id: string; error: string }> {
  expect((await api(url, 'POST', '/v1/collections', { name: 'obs' }, headers)).status).toBe(201);
  const docs = [
    { id: 'a', text: 'supersonic wing flutter' },
    { id: 'b', text: 'library catalogue classification' },
  ];
  expect((await api(url, 'POST', '/v1/collections/obs/documents', { documents: docs }, headers)).status).toBe(200);
  const started = await api<{ id: string }>(url, 'POST', '/v1/collections/obs/reembed', { model: CORRUPT_MODEL }, headers);
  expect(started.status).toBe(202);
  return waitFor('the job to fail', async () => {
    const job = await api<{ id: string; state: string; error: string }>(url, 'GET', `/v1/jobs/${started.body.id}`, undefined, headers);
    expect(job.status).toBe(200);
    if (job.body.state === 'succeeded' || job.body.state === 'cancelled') throw new Error(`job ${job.body.state}, expected it to fail`);
    return job.body.state === 'failed' ? job.body : undefined;
  });
}

describe('observability', () => {
  const cleanups: (() => Promise<void>)[] = [];
  let modelsDir: string;

  beforeAll(async () => {
    const root = await tempDir('sextant-obs-models-');
    cleanups.push(root.remove);
    modelsDir = await modelsWithCorruptVersion(root.path);
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('/metrics keeps every sextant metric (name, type, help, labels) and adds the process defaults', async () => {
    const data = await tempDir('sextant-obs-metrics-');
    cleanups.push(data.remove);
    const other = await tempDir('sextant-obs-metrics2-');
    cleanups.push(other.remove);
    // Two servers in one process: each has its own registry, so nothing collides.
    const server = await startTestServer({ dataDir: data.path });
    cleanups.push(() => server.close());
    const second = await startTestServer({ dataDir: other.path });
    cleanups.push(() => second.close());

    expect((await api(server.url, 'POST', '/v1/collections', { name: 'm' })).status).toBe(201);
    expect((await api(server.url, 'POST', '/v1/collections/m/documents', { documents: [{ id: 'd', text: 'wing flutter' }] })).status).toBe(200);
    expect((await api(server.url, 'POST', '/v1/collections/m/search', { query: 'flutter' })).status).toBe(200);

    const res = await api<string>(server.url, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    for (const m of SEXTANT_METRICS) {
      expect(text, m.name).toContain(`# HELP ${m.name} ${m.help}\n`);
      expect(text, m.name).toContain(`# TYPE ${m.name} ${m.type}\n`);
      for (const sample of samples(text, m.name, m.type)) expect(labelNames(sample).sort(), sample).toEqual([...m.labels].sort());
    }
    // The series this traffic must have produced.
    for (const m of SEXTANT_METRICS.filter((x) => !x.name.startsWith('sextant_drift_'))) {
      expect(samples(text, m.name, m.type).length, m.name).toBeGreaterThan(0);
    }
    expect(text).toMatch(/^sextant_collection_documents\{[^}]*collection="m"[^}]*\} 1$/m);
    for (const m of DEFAULT_METRICS) {
      expect(text, m.name).toContain(`# TYPE ${m.name} ${m.type}\n`);
      expect(text).toMatch(new RegExp(`^${m.name}(\\{[^}]*\\})? [0-9.e+-]+$`, 'm'));
    }
    // Collections are read at scrape time: a deleted one disappears.
    expect((await api(server.url, 'DELETE', '/v1/collections/m')).status).toBeLessThan(300);
    expect((await api<string>(server.url, 'GET', '/metrics')).body).not.toMatch(/^sextant_collection_documents\{[^}]*collection="m"/m);

    const otherText = (await api<string>(second.url, 'GET', '/metrics')).body;
    expect(otherText).toContain('# TYPE sextant_http_requests_total counter');
    expect(otherText).not.toContain('route="/v1/collections/:name/search"');
  });

  it('a failed job logs the error with its stack under err; log lines are JSON with time, level, msg', async () => {
    const data = await tempDir('sextant-obs-job-');
    cleanups.push(data.remove);
    const server = await startChildServer({ SEXTANT_DATA_DIR: data.path, SEXTANT_MODELS_DIR: modelsDir });
    cleanups.push(() => server.kill('SIGKILL'));

    const job = await failReembed(server.url);
    expect(job.error).toMatch(/checksum/);
    const line = await waitFor('the failure log line', () => logLines(server).find((l) => l.msg === 're-embedding job failed' && l.job === job.id));
    expect(line.level).toBe('error');
    expect(line).not.toHaveProperty('error');
    const err = line.err as { type: string; message: string; stack: string };
    expect(err.type).toMatch(/Error$/);
    expect(err.message).toBe(job.error);
    expect(err.stack).toContain(err.message);
    expect(err.stack).toMatch(/\n\s+at /);

    // Killed right after logging, the lines are there: writes are synchronous.
    await server.kill('SIGKILL');
    const lines = logLines(server);
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) {
      expect(typeof l.time, JSON.stringify(l)).toBe('string');
      expect(new Date(l.time).toISOString()).toBe(l.time);
      expect(['debug', 'info', 'warn', 'error']).toContain(l.level);
      expect(typeof l.msg).toBe('string');
    }
    // The fields follow msg in the order the call gave them (tests/helpers/server.ts relies on it).
    const listening = lines.find((l) => l.msg === 'sextant listening')!;
    const keys = Object.keys(listening);
    expect(keys[keys.indexOf('msg') + 1]).toBe('url');
  });

  it('never logs an API key: good, wrong and weak keys, errors, debug level', async () => {
    const READ_KEY = 's3cr3t-read-key';
    const ADMIN_KEY = 's3cr3t-admin-key';
    const WRONG_KEY = 's3cr3t-wrong-key';
    const data = await tempDir('sextant-obs-keys-');
    cleanups.push(data.remove);
    const server = await startChildServer({
      SEXTANT_DATA_DIR: data.path,
      SEXTANT_MODELS_DIR: modelsDir,
      SEXTANT_API_KEYS: `${READ_KEY}:read,${ADMIN_KEY}:admin`,
      SEXTANT_LOG_LEVEL: 'debug',
    });
    cleanups.push(() => server.kill('SIGKILL'));
    const read = { authorization: `Bearer ${READ_KEY}` };
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };

    expect((await api(server.url, 'GET', '/v1/collections', undefined, read)).status).toBe(200);
    expect((await api(server.url, 'GET', '/metrics', undefined, read)).status).toBe(200);
    expect((await api(server.url, 'GET', '/v1/collections')).status).toBe(401);
    expect((await api(server.url, 'GET', '/v1/collections', undefined, { authorization: `Bearer ${WRONG_KEY}` })).status).toBe(401);
    expect((await api(server.url, 'GET', '/v1/collections', undefined, { authorization: ADMIN_KEY })).status).toBe(401);
    expect((await api(server.url, 'POST', '/v1/collections', { name: 'weak' }, read)).status).toBe(403);
    expect((await api(server.url, 'DELETE', '/v1/collections/weak', undefined, { authorization: `Bearer ${WRONG_KEY}` })).status).toBe(401);
    expect((await api(server.url, 'GET', '/v1/collections/nothing-here', undefined, read)).status).toBe(404);
    expect((await api(server.url, 'POST', '/v1/collections', '{not json', admin)).status).toBe(400);
    // An error path that is logged (at error level, with the error).
    await failReembed(server.url, admin);
    await waitFor('the failure log line', () => logLines(server).find((l) => l.msg === 're-embedding job failed'));
    await server.kill('SIGTERM');

    const all = server.logs.join('');
    expect(logLines(server).some((l) => l.level === 'debug')).toBe(true);
    for (const secret of [READ_KEY, ADMIN_KEY, WRONG_KEY]) expect(all).not.toContain(secret);
  });
});
