/**
 * npm run soak [-- --minutes 10] [-- --documents 5000] [-- --clients 4] [-- --snapshot-changes 500] [-- --keep]
 *
 * Runs a `sextant serve` child on loopback over a fresh data directory, loads a steady set of
 * documents (precomputed 512-d vectors, so the run measures the store and the index rather than
 * the embedding model), then for the given time sends a mix of writes and searches from
 * `--clients` concurrent loops: 30% overwrite a document (new vector and text), 10% delete one and
 * write a missing id back (the count stays at `--documents`), 45% vector searches, 15% keyword
 * searches. Every second it samples the data directory's size, the change log's row count (read
 * from the SQLite file, read-only) and the server's resident memory.
 *
 * All three move in a sawtooth. The change log grows until the next index snapshot prunes it;
 * the server runs with snapshots every `--snapshot-changes` changes (SEXTANT_SNAPSHOT_CHANGES)
 * and no time trigger, because with the default 30-s timer the log's size is the write rate
 * times 30 s, and the write rate on this shared 2-core VM moved by 60% within one run (a first
 * 10-minute run: medians of 252 vs 411 rows). The data directory holds two snapshots while one
 * is written and a WAL until its checkpoint, and the heap grows until a garbage collection; a
 * single sample lands anywhere on a tooth. So each figure is taken over a minute of 1-s samples:
 * `change_rows` as the peak (the log's bound, about --snapshot-changes), `data_dir_bytes` and
 * `rss_bytes` as the median (a peak there depends on whether a sample hit the milliseconds a
 * snapshot is being written: a 1.5-min trial read 39.5 vs 48.0 MB). "first" is the minute after
 * the first one (minute one itself on runs under 3 minutes), "end" the last minute; `peak_first`/`peak_end` give every maximum. Bounded: flat figures.
 * Last line: {"first": {...}, "end": {...}, "requests": n, "failed": n, ...} with data_dir_bytes,
 * change_rows and rss_bytes in first and end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { mulberry32 } from '../src/util/random.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin', 'sextant.js');
const DIMS = 512;
const WORDS = 'wing flutter boundary layer shock wave heat transfer laminar turbulent flow pressure nozzle supersonic panel vibration cylinder plate velocity profile'.split(' ');

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number, got '${process.argv[i + 1]}'`);
  return value;
}

const MINUTES = flag('--minutes', 10);
const DOCUMENTS = Math.round(flag('--documents', 5000));
const CLIENTS = Math.round(flag('--clients', 4));
const KEEP = process.argv.includes('--keep');
const SNAPSHOT_CHANGES = Math.round(flag('--snapshot-changes', 500));
const WINDOW_MS = Math.min(60_000, (MINUTES * 60_000) / 2);

interface Sample {
  readonly data_dir_bytes: number;
  readonly change_rows: number;
  readonly rss_bytes: number;
}

const random = mulberry32(20261202);

function vector(): number[] {
  const v = Array.from({ length: DIMS }, () => random() - 0.5);
  const norm = Math.hypot(...v);
  return v.map((x) => Number((x / norm).toFixed(6)));
}

function text(): string {
  return Array.from({ length: 16 }, () => WORDS[Math.floor(random() * WORDS.length)]!).join(' ');
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await dirBytes(path);
    else total += await stat(path).then((s) => s.size, () => 0);
  }
  return total;
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) * 1024;
}

async function startServer(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SEXTANT_DATA_DIR: dataDir,
    SEXTANT_API_KEYS: '',
    SEXTANT_RATE_LIMIT: '0',
    SEXTANT_HOST: '127.0.0.1',
    // Snapshots by count only (see the header): the log's bound is then the same at any write rate.
    SEXTANT_SNAPSHOT_CHANGES: String(SNAPSHOT_CHANGES),
    SEXTANT_SNAPSHOT_SECONDS: '3600',
  };
  delete env.SEXTANT_URL;
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start in 180 s:\n${logs}`)), 180_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      logs = (logs + chunk.toString()).slice(-20_000);
      const m = /"msg":"sextant listening","url":"([^"]+)"/.exec(logs);
      if (m) {
        clearTimeout(timer);
        done(m[1]!);
      }
    });
    child.once('exit', (code) => fail(new Error(`server exited with ${code}:\n${logs}`)));
  });
  return { url, child };
}

async function call(url: string, method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
}

function progress(message: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'sextant-soak-'));
  const dataDir = join(work, 'data');
  const { url, child } = await startServer(dataDir);
  const stats = { requests: 0, failed: 0, upserts: 0, deletes: 0, searches: 0 };
  const errors = new Map<string, number>();
  try {
    await call(url, 'POST', '/v1/collections', { name: 'soak' });
    const present = new Set<string>();
    const missing: string[] = [];
    for (let i = 0; i < DOCUMENTS; i += 250) {
      const batch = Array.from({ length: Math.min(250, DOCUMENTS - i) }, (_, j) => ({ id: `d${i + j}`, text: text(), vector: vector(), metadata: { bucket: (i + j) % 10 } }));
      await call(url, 'POST', '/v1/collections/soak/documents', { documents: batch });
      for (const d of batch) present.add(d.id);
    }
    progress(`loaded ${DOCUMENTS} documents; soaking for ${MINUTES} min with ${CLIENTS} clients`);

    const db = new Database(join(dataDir, 'sextant.db'), { readonly: true, fileMustExist: true });
    const samples: { at: number; sample: Sample }[] = [];
    const started = Date.now();
    const deadline = started + MINUTES * 60_000;
    const sampler = setInterval(() => {
      void (async () => {
        const sample: Sample = {
          data_dir_bytes: await dirBytes(dataDir),
          change_rows: (db.prepare('SELECT count(*) AS n FROM changes').get() as { n: number }).n,
          rss_bytes: await rssBytes(child.pid!),
        };
        samples.push({ at: Date.now() - started, sample });
      })().catch((err: unknown) => progress(`sample failed: ${(err as Error).message}`));
    }, 1000);
    const reporter = setInterval(() => {
      const last = samples.at(-1)?.sample;
      progress(`${Math.round((Date.now() - started) / 1000)} s: ${stats.requests} requests, ${stats.failed} failed; ${last ? JSON.stringify(last) : ''}`);
    }, 30_000);

    const ids = [...present];
    const pick = (): string => ids[Math.floor(random() * ids.length)]!;
    const loop = async (): Promise<void> => {
      while (Date.now() < deadline) {
        const r = random();
        try {
          stats.requests++;
          if (r < 0.3) {
            const id = pick();
            if (!present.has(id)) continue;
            await call(url, 'POST', '/v1/collections/soak/documents', { documents: [{ id, text: text(), vector: vector(), metadata: { bucket: Math.floor(random() * 10) } }] });
            stats.upserts++;
          } else if (r < 0.4) {
            const id = pick();
            if (!present.has(id)) continue;
            present.delete(id);
            await call(url, 'DELETE', `/v1/collections/soak/documents/${id}`);
            missing.push(id);
            stats.deletes++;
            const back = missing.shift()!;
            await call(url, 'POST', '/v1/collections/soak/documents', { documents: [{ id: back, text: text(), vector: vector(), metadata: { bucket: 1 } }] });
            present.add(back);
            stats.upserts++;
          } else if (r < 0.85) {
            await call(url, 'POST', '/v1/collections/soak/search', { mode: 'dense', vector: vector(), k: 10 });
            stats.searches++;
          } else {
            await call(url, 'POST', '/v1/collections/soak/search', { mode: 'keyword', query: `${WORDS[Math.floor(random() * WORDS.length)]} flow`, k: 10 });
            stats.searches++;
          }
        } catch (err) {
          stats.failed++;
          const key = (err as Error).message;
          errors.set(key, (errors.get(key) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, loop));
    clearInterval(sampler);
    clearInterval(reporter);
    await new Promise((r) => setTimeout(r, 1100));
    db.close();

    const summarise = (from: number, to: number, pick: (values: number[]) => number): Sample => {
      const inWindow = samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.sample);
      if (inWindow.length === 0) throw new Error(`no samples between ${from} and ${to} ms`);
      return {
        data_dir_bytes: pick(inWindow.map((s) => s.data_dir_bytes)),
        change_rows: pick(inWindow.map((s) => s.change_rows)),
        rss_bytes: pick(inWindow.map((s) => s.rss_bytes)),
      };
    };
    const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const max = (values: number[]): number => Math.max(...values);
    const total = MINUTES * 60_000;
    const figures = (from: number, to: number): Sample => ({ ...summarise(from, to, median), change_rows: summarise(from, to, max).change_rows });
    // "After the first minute": the minute that follows it, once the load's last snapshot and the
    // first garbage collections are behind (a first run's minute one read 739 change rows at its
    // peak against 496 at the end, with snapshots every 500 changes).
    const firstFrom = MINUTES * 60_000 >= 3 * WINDOW_MS ? WINDOW_MS : 0;
    const first = figures(firstFrom, firstFrom + WINDOW_MS);
    const end = figures(total - WINDOW_MS, total + 2000);
    const ratio = (k: keyof Sample) => Number((end[k] / Math.max(1, first[k])).toFixed(3));
    const documents = await fetch(`${url}/v1/collections/soak`).then((r) => r.json() as Promise<{ document_count?: number }>);
    const report = {
      first,
      end,
      peak_first: summarise(firstFrom, firstFrom + WINDOW_MS, max),
      peak_end: summarise(total - WINDOW_MS, total + 2000, max),
      requests: stats.requests,
      failed: stats.failed,
      minutes: MINUTES,
      documents: DOCUMENTS,
      documents_at_end: documents.document_count ?? null,
      upserts: stats.upserts,
      deletes: stats.deletes,
      searches: stats.searches,
      window_s: WINDOW_MS / 1000,
      end_over_first: { data_dir_bytes: ratio('data_dir_bytes'), change_rows: ratio('change_rows'), rss_bytes: ratio('rss_bytes') },
      errors: Object.fromEntries(errors),
    };
    progress(
      `end/first: data dir ${report.end_over_first.data_dir_bytes}x, change rows ${report.end_over_first.change_rows}x, rss ${report.end_over_first.rss_bytes}x (target within 10%); ${stats.failed} failed of ${stats.requests}`,
    );
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    if (KEEP) progress(`data directory kept at ${dataDir}`);
    else await rm(work, { recursive: true, force: true });
  }
}

await main();
