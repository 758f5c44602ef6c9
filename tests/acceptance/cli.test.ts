/**
 * The `sextant` command as a user runs it: a real child process per call. Calls that do not
 * depend on each other run side by side (each one starts Node, tsx and a model: mostly one core).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CLI, startChildServer, tempDir } from '../helpers/server.ts';
import { cosine } from '../helpers/vectors.ts';

function sextant(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, SEXTANT_MODELS_DIR: inject('modelsDir'), ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** The same, without blocking: for calls that may run concurrently. */
function sextantAsync(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, SEXTANT_MODELS_DIR: inject('modelsDir'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('sextant CLI', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('embed --json prints model, dimensions, embeddings and truncated flags', () => {
    const res = sextant(['embed', '--json', 'How do I reset my password?', 'I forgot my login credentials and need to change them']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as { model: string; dimensions: number; embeddings: number[][]; truncated: boolean[] };
    expect(Object.keys(out)).toEqual(['model', 'dimensions', 'embeddings', 'truncated']);
    expect(out.model).toBe('use-lite@1');
    expect(out.dimensions).toBe(512);
    expect(out.embeddings).toHaveLength(2);
    expect(out.embeddings[0]).toHaveLength(512);
    expect(out.truncated).toEqual([false, false]);
    expect(cosine(out.embeddings[0]!, out.embeddings[1]!)).toBeGreaterThan(0.5);
  });

  it('builds the default model on first use in an empty models dir', async () => {
    const models = await tempDir('sextant-fresh-models-');
    cleanups.push(models.remove);
    const res = sextant(['embed', '--json', '--model', 'use-lite@1-int8', 'hello'], { SEXTANT_MODELS_DIR: models.path });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).model).toBe('use-lite@1-int8');
    const list = sextant(['models', 'list', '--json'], { SEXTANT_MODELS_DIR: models.path });
    const parsed = JSON.parse(list.stdout) as { models: { id: string; dtype: string; aliases: string[] }[] };
    expect(parsed.models.map((m) => [m.id, m.dtype])).toEqual([
      ['use-lite@1', 'fp32'],
      ['use-lite@1-int8', 'int8'],
    ]);
    expect(parsed.models[0]!.aliases).toEqual(['default']);
  });

  it('with SEXTANT_DEVICE=cuda on a machine without CUDA, embeds on CPU and logs why', async () => {
    const [cpu, res] = await Promise.all([sextantAsync(['embed', '--json', 'fallback']), sextantAsync(['embed', '--json', 'fallback'], { SEXTANT_DEVICE: 'cuda' })]);
    expect(cpu.code, cpu.stderr).toBe(0);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/SEXTANT_DEVICE=cuda requested but CUDA cannot be used; running on CPU/);
    expect(res.stderr).toMatch(/"reason":"CUDA execution provider unavailable/);
    expect(JSON.parse(res.stdout).embeddings).toEqual(JSON.parse(cpu.stdout).embeddings);
  });

  it('rejects empty text and unknown models with a clear message and a non-zero exit', async () => {
    const [empty, unknown] = await Promise.all([sextantAsync(['embed', '   ']), sextantAsync(['embed', '--model', 'nope@9', 'x'])]);
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toMatch(/text 0 is empty or whitespace only/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/model 'nope@9' not found/);
  });

  it('indexes a CSV file and searches it without a server, resuming on a rerun', async () => {
    const dir = await tempDir('sextant-cli-index-');
    cleanups.push(dir.remove);
    const csv = join(dir.path, 'docs.csv');
    await writeFile(
      csv,
      'doc,body,heading,year\n' +
        'a1,"Flutter of thin wings at supersonic speed, with ""quoted"" notes",Wings,1961\n' +
        'a2,"Subject catalogues and\nclassification in libraries",Libraries,1975\n' +
        'a3,Heat transfer through laminar boundary layers,Heat,1958\n',
    );
    const env = { SEXTANT_DATA_DIR: join(dir.path, 'data') };
    const args = ['index', 'papers', csv, '--id-field', 'doc', '--text-field', 'body', '--title-field', 'heading'];
    const first = sextant(args, env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout.trim().split('\n').at(-1)!)).toMatchObject({ documents: 3, upserted: 3, unchanged: 0 });
    const again = sextant(args, env);
    expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!)).toMatchObject({ documents: 3, upserted: 0, unchanged: 3 });
    const search = sextant(['search', 'papers', 'library classification', '--mode', 'hybrid', '--json'], env);
    expect(search.code, search.stderr).toBe(0);
    const body = JSON.parse(search.stdout) as { results: { id: string; metadata: Record<string, unknown> }[] };
    expect(body.results[0]!.id).toBe('a2');
    expect(body.results[0]!.metadata).toEqual({ year: '1975' });

    const reembed = sextant(['reembed', 'papers', '--model', 'use-lite@1-int8'], env);
    expect(reembed.code, reembed.stderr).toBe(0);
    expect(JSON.parse(reembed.stdout.trim().split('\n').at(-1)!)).toMatchObject({ state: 'succeeded', done: 3, total: 3, model: 'use-lite@1-int8' });
    expect(reembed.stderr).toMatch(/re-embedding papers -> use-lite@1-int8 \[#+\] 3\/3 100%/);
    const after = JSON.parse(sextant(['search', 'papers', 'library classification', '--json'], env).stdout) as { model: string; results: { id: string }[] };
    expect(after.model).toBe('use-lite@1-int8');
    expect(after.results[0]!.id).toBe('a2');
  });

  it('with --url, every command goes through the typed client to the server', async () => {
    const dir = await tempDir('sextant-cli-remote-');
    cleanups.push(dir.remove);
    const server = await startChildServer({ SEXTANT_DATA_DIR: join(dir.path, 'data'), SEXTANT_API_KEYS: 'cli-admin:admin,cli-reader:read' });
    cleanups.push(() => server.kill());
    const jsonl = join(dir.path, 'docs.jsonl');
    await writeFile(
      jsonl,
      ['{"_id":"w1","title":"Wings","text":"Flutter of thin wings at supersonic speed"}', '{"_id":"w2","text":"Subject catalogues and classification in libraries"}'].join('\n'),
    );
    const beir = join(dir.path, 'beir');
    await mkdir(beir);
    await writeFile(join(beir, 'queries.jsonl'), '{"_id":"q1","text":"library classification"}\n');
    await writeFile(join(beir, 'qrels.tsv'), 'q1\tw2\t1\n');
    const remote = ['--url', server.url, '--api-key', 'cli-admin'];

    const indexed = sextant(['index', 'remote', jsonl, ...remote]);
    expect(indexed.code, indexed.stderr).toBe(0);
    expect(JSON.parse(indexed.stdout.trim().split('\n').at(-1)!)).toMatchObject({ documents: 2, upserted: 2 });
    const [search, evaluated] = await Promise.all([
      sextantAsync(['search', 'remote', 'library classification', '--json', ...remote]),
      sextantAsync(['eval', 'remote', '--dataset', beir, '--json', ...remote]),
    ]);
    expect(search.code, search.stderr).toBe(0);
    expect((JSON.parse(search.stdout) as { results: { id: string }[] }).results[0]!.id).toBe('w2');
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout)).toMatchObject({ queries: 1, modes: { dense: { 'mrr@10': 1 } } });
    const reembed = sextant(['reembed', 'remote', '--model', 'use-lite@1-int8', '--follow', ...remote]);
    expect(reembed.code, reembed.stderr).toBe(0);
    expect(JSON.parse(reembed.stdout.trim().split('\n').at(-1)!)).toMatchObject({ state: 'succeeded', model: 'use-lite@1-int8', done: 2, total: 2 });

    // The server's errors reach the user as one line with the server's message and a non-zero exit.
    const [missing, weak, down] = await Promise.all([
      sextantAsync(['search', 'nothing-here', 'x', ...remote]),
      sextantAsync(['reembed', 'remote', '--url', server.url, '--api-key', 'cli-reader']),
      sextantAsync(['search', 'remote', 'x', '--url', 'http://127.0.0.1:9']),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/404 collection 'nothing-here' does not exist/);
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/403/);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it('refuses a second process on a locked data dir at once, naming the holder', async () => {
    const dir = await tempDir('sextant-cli-lock-');
    cleanups.push(dir.remove);
    const server = await startChildServer({ SEXTANT_DATA_DIR: dir.path });
    cleanups.push(() => server.kill());
    // Both fail on their own (exit 1, not killed by the helper's timeout): no waiting for the lock.
    const [res, second] = await Promise.all([
      sextantAsync(['search', 'anything', 'query'], { SEXTANT_DATA_DIR: dir.path }),
      sextantAsync(['serve', '--port', '0'], { SEXTANT_DATA_DIR: dir.path }),
    ]);
    expect(res.signal).toBeNull();
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`data directory .* is in use by process ${server.process.pid}`));
    expect(second.signal).toBeNull();
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/is in use by process/);
  });
});
