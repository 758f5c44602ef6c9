/** Real servers for tests: in-process (fast) or as a child process (for kill -9). */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/api/server.ts';
import { setLogLevel } from '../../src/log.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO_ROOT, 'bin', 'sextant.js');

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Starts the real server in this process on a free loopback port. */
export async function startTestServer(overrides: Partial<Record<keyof Config, string | number>> & { dataDir: string }): Promise<RunningServer> {
  setLogLevel('warn');
  return startServer(loadConfig({ modelsDir: inject('modelsDir'), host: '127.0.0.1', port: 0, ...overrides }, {}));
}

export interface ChildServer {
  readonly url: string;
  readonly process: ChildProcess;
  readonly logs: string[];
  /** Settles when the process exits, on its own or killed (e.g. at a SEXTANT_FAULT_POINT). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `sextant serve` as a child process and waits until it listens. */
export async function startChildServer(env: Record<string, string>): Promise<ChildServer> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
    env: { ...process.env, SEXTANT_MODELS_DIR: inject('modelsDir'), SEXTANT_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('')}`)), 60_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      logs.push(chunk.toString());
      const m = /"msg":"sextant listening","url":"([^"]+)"/.exec(logs.join(''));
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${logs.join('')}`));
    });
  });
  return {
    url,
    process: child,
    logs,
    exited,
    kill: (signal = 'SIGTERM') =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill(signal);
      }),
  };
}

/** Something requests go to: a listening server's URL, or an in-process app (helpers/app.ts). */
export type ApiTarget = string | { request(path: string, init?: RequestInit): Promise<Response> };

export async function api<T = unknown>(target: ApiTarget, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const init: RequestInit = {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  };
  const res = typeof target === 'string' ? await fetch(new URL(path, target), init) : await target.request(path, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Non-JSON bodies (e.g. /metrics) are returned as text.
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}
