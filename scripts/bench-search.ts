/**
 * npm run bench:search [-- --quick] [-- --no-uniform] [-- --no-append] [-- --profile DIR] [-- --only-http-ratios] [-- --no-synthetic]
 *
 *   --quick       shorter runs and a 20k synthetic set (development; not the spec's numbers)
 *   --no-uniform  skip the uniform-random synthetic set
 *   --no-append   print only, leave BENCHMARKS.md alone
 *   --only-http-ratios  the Cranfield+CISI part only, without the static-model run (a few minutes
 *                 instead of ~25): ingest, query embedding, HTTP text and vector, the bare Hono
 *                 endpoint and the in-process levels; the synthetic and static keys of the JSON
 *                 line are null
 *   --no-synthetic  the Cranfield+CISI part with its static-model run, without the synthetic
 *                 sets (~10 minutes): the HTTP ratios and static_http_qps from one run; the
 *                 synthetic keys of the JSON line are null
 *   --profile DIR run the server children with --cpu-prof into DIR (one .cpuprofile per child;
 *                 the second one served vector queries only)
 *
 * Search throughput, latency and recall at three levels, one measurement at a time:
 *   (a) raw      hnswlib-node in this process (DEFAULT_HNSW M/efConstruction, setEf(efSearch)), one caller
 *   (b) layer    Sextant's HnswIndex in this process, one caller
 *   (c) HTTP     `sextant serve` as a child process under autocannon, 32 connections
 * on two data sets:
 *   Cranfield+CISI  both corpora indexed as one collection through `sextant index --url` (ids
 *                   cran-<id>, cisi-<id>; empty documents skipped), queried with their 225 + 112
 *                   query texts in a seeded interleaved order (text queries, embedded by the
 *                   server) and with the same queries
 *                   embedded here (vector queries).
 *   synthetic       100k x 512 unit vectors from a seeded PRNG (20k with --quick): clustered
 *                   (1000 gaussian clusters, see SYN_*) for the acceptance line, and uniform on the
 *                   sphere (the adversarial case, raw hnswlib only) for reference. The HTTP data dir
 *                   is built directly with SqliteStore + HnswIndex, then served.
 * Recall@10 is against exact search (brute-force dot products over the unit vectors) at the
 * default efSearch.
 *
 * Ceilings: text queries must be embedded first, so the embedding engine's own query throughput
 * (32 concurrent callers in this process, one query each) bounds HTTP text search; ingest via
 * `sextant index` is compared with the engine embedding the same document texts (title\ntext) in
 * batches of 64 with 3 batches in flight, as the CLI sends them. HTTP vector search is compared
 * with a bare Hono endpoint (scripts/lib/bare-hono.ts: a minimal Hono app on @hono/node-server in a
 * child process, parsing the body and answering a small fixed JSON) under the same load generator,
 * 32 connections and the same vector request bodies: the HTTP stack's own ceiling on this machine.
 * From the one run the bench prints four ratios (JSON ratio_text_qps, ratio_text_p99,
 * ratio_vector_qps, ratio_vector_p99): HTTP text q/s and p99 over the in-process query embedding's
 * at 32 callers (targets: q/s >= 0.75x, p99 <= 1.3x), HTTP vector q/s and p99 over the bare
 * endpoint's (reported, no target). The query embedding is measured right before and right after
 * HTTP text and the two passes pooled (the machine's speed drifts); with each pass, and for the
 * server during HTTP text, the bench prints where the time goes: embedding batches, µs per padded
 * token, and CPU per thread and for the machine (incl. steal), from /metrics and /proc.
 *
 * The server child and this process share the machine: the server is idle while anything
 * in-process is measured, and autocannon (the load generator) runs in a child process of its own
 * (scripts/lib/load-generator.ts), so this process's heap cannot pause it.
 *
 * Prints tables, ratios and PASS/FAIL per acceptance target, appends them to BENCHMARKS.md
 * (not with --no-append), and ends with one JSON line. In that JSON the Cranfield+CISI numbers
 * are the unprefixed keys (raw_qps, layer_qps, http_qps, http_vector_qps, ...) except
 * recall_at_10, which is the acceptance recall: the layer on the clustered synthetic set.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import hnswlib from 'hnswlib-node';
import type { HierarchicalNSW } from 'hnswlib-node';
import { loadConfig } from '../src/config.ts';
import { EmbeddingEngine } from '../src/embedding/engine.ts';
import { HnswIndex } from '../src/index/hnsw/index.ts';
import { DEFAULT_HNSW } from '../src/values/backend.ts';
import { readRecords } from '../src/ingest/records.ts';
import { setLogLevel } from '../src/log.ts';
import { DEFAULT_MODEL_ID, ModelRegistry } from '../src/models/registry.ts';
import { embeddingText } from '../src/search/documents.ts';
import { datasetDir, readCorpus, readQueries } from './lib/beir.ts';
import { CLI, REPO, cannon as cannonAt, childEnv, httpRecall as httpRecallAt, percentile, post, prepareModels, progressLogger, startServer as startServerAt, stopChild } from './lib/bench-server.ts';
import type { HttpRun, Server, Timing } from './lib/bench-server.ts';
import { buildSyntheticDataDir } from './lib/synthetic-datadir.ts';
import { CLUSTERED, exactTopK, recallAtK, row, syntheticSet, type SyntheticSpec } from './lib/synthetic.ts';
import { seededShuffle } from '../src/util/random.ts';

const argv = process.argv.slice(2);
const args = new Set(argv);
const QUICK = args.has('--quick');
const UNIFORM = !args.has('--no-uniform');
const APPEND = !args.has('--no-append');
const PROFILE_ARG = argv[argv.indexOf('--profile') + 1];
const ONLY_HTTP_RATIOS = args.has('--only-http-ratios');
const NO_SYNTHETIC = args.has('--no-synthetic');
const PROFILE_DIR = args.has('--profile') ? resolve(PROFILE_ARG && !PROFILE_ARG.startsWith('--') ? PROFILE_ARG : 'bench-profiles') : undefined;

const CONCURRENCY = 32;
const K = 10;
const EMBED_SECONDS = QUICK ? 5 : 10;
const HTTP_SECONDS = QUICK ? 6 : 15;
const WARM_SECONDS = QUICK ? 2 : 3;
const INGEST_BATCH = 64;
const INGEST_IN_FLIGHT = 3;

const SYN_N = QUICK ? 20_000 : 100_000;
const SYN_DIM = 512;
const SYN_QUERIES = 200;
const SYN_CLUSTERS = SYN_N / CLUSTERED.pointsPerCluster;
const SYN_NOISE = CLUSTERED.noise;
const SYN_SEED = CLUSTERED.seed;
/** Seed of the order in which HTTP and in-process load cycle through the Cranfield+CISI queries. */
const LOAD_ORDER_SEED = 7;
const SYN_BUILD_BATCH = CLUSTERED.buildBatch;
const SYN_COLLECTION = 'synthetic';
const HNSW_SEED = 100; // what HnswIndex passes to initIndex, so (a) and (b) build the same graph

const TARGET_TEXT_RATIO = 0.7;
const TARGET_TEXT_P99 = 100;
const TARGET_VECTOR_P99 = 20;
const TARGET_RECALL = 0.95;
const TARGET_INGEST_RATIO = 0.8;
/** HTTP text over the in-process query embedding at CONCURRENCY (issue 14). */
const TARGET_RATIO_TEXT_QPS = 0.75;
/** HTTP text search on a static-model collection over HTTP vector search, q/s (issue 13). */
const TARGET_STATIC_OVER_VECTOR = 0.7;
const TARGET_RATIO_TEXT_P99 = 1.3;

const BARE_HONO = join(REPO, 'scripts', 'lib', 'bare-hono.ts');

// ---- small helpers ------------------------------------------------------------------------------

const progress = progressLogger('bench:search');

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const round = (x: number, digits = 2) => +x.toFixed(digits);

/** One caller, queries back to back; a short warm-up first (JIT, caches). */
async function sequential<Q, R>(queries: readonly Q[], run: (q: Q) => R | Promise<R>): Promise<{ timing: Timing; results: R[] }> {
  for (const q of queries.slice(0, Math.min(20, queries.length))) await run(q);
  const times: number[] = [];
  const results: R[] = [];
  const started = performance.now();
  for (const q of queries) {
    const t0 = performance.now();
    results.push(await run(q));
    times.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return { timing: { qps: queries.length / seconds, p50: percentile(times, 0.5), p99: percentile(times, 0.99) }, results };
}

// ---- vectors ------------------------------------------------------------------------------------

function exactAll(data: Float32Array, dim: number, queries: Float32Array, k: number, label: string): number[][] {
  const nq = queries.length / dim;
  const started = performance.now();
  const out: number[][] = [];
  for (let i = 0; i < nq; i++) {
    out.push(exactTopK(data, dim, row(queries, i, dim), k));
    if (nq >= 100 && (i + 1) % Math.ceil(nq / 4) === 0) progress(`${label}: exact top-${k} ${i + 1}/${nq}`);
  }
  progress(`${label}: exact search for ${nq} queries took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return out;
}

/** The bench's synthetic set of `kind` (each kind its own seed), SYN_N data rows + SYN_QUERIES held-out queries. */
function synSpec(kind: SyntheticSpec['kind'], dim: number): SyntheticSpec {
  return { kind, n: SYN_N, queries: SYN_QUERIES, dim, clusters: SYN_CLUSTERS, noise: SYN_NOISE, seed: kind === 'clustered' ? SYN_SEED : SYN_SEED + 1 };
}

// ---- (a) raw hnswlib and (b) the index layer ---------------------------------------------------

function buildRaw(data: Float32Array, dim: number, label: string): { index: HierarchicalNSW; seconds: number } {
  const n = data.length / dim;
  const index = new hnswlib.HierarchicalNSW('cosine', dim);
  index.initIndex({ maxElements: n, m: DEFAULT_HNSW.M, efConstruction: DEFAULT_HNSW.efConstruction, randomSeed: HNSW_SEED });
  const started = performance.now();
  const step = Math.max(1, Math.ceil(n / 5));
  for (let i = 0; i < n; i++) {
    index.addPoint(Array.from(row(data, i, dim)), i);
    if (n >= 10_000 && (i + 1) % step === 0) progress(`${label}: raw hnswlib built ${i + 1}/${n}`);
  }
  index.setEf(DEFAULT_HNSW.efSearch);
  return { index, seconds: (performance.now() - started) / 1000 };
}

async function measureRaw(index: HierarchicalNSW, queries: Float32Array, dim: number, ids: (label: number) => string): Promise<{ timing: Timing; found: string[][] }> {
  const points = Array.from({ length: queries.length / dim }, (_, i) => Array.from(row(queries, i, dim)));
  index.setEf(DEFAULT_HNSW.efSearch);
  const { timing, results } = await sequential(points, (p) => index.searchKnn(p, K).neighbors);
  return { timing, found: results.map((labels) => labels.map(ids)) };
}

async function measureLayer(index: HnswIndex, queries: Float32Array, dim: number): Promise<{ timing: Timing; found: string[][] }> {
  const vectors = Array.from({ length: queries.length / dim }, (_, i) => row(queries, i, dim));
  const { timing, results } = await sequential(vectors, (vector) => index.search({ vector, k: K }));
  return { timing, found: results.map((hits) => hits.map((h) => h.id)) };
}

// ---- child processes ----------------------------------------------------------------------------

/** `sextant serve` on `dataDir` (with --cpu-prof under --profile). */
function startServer(dataDir: string, modelsDir: string): Promise<Server> {
  return startServerAt(dataDir, modelsDir, { nodeFlags: PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [] });
}

/** The bare Hono endpoint (scripts/lib/bare-hono.ts) in a child process of its own. */
async function startBareHono(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', BARE_HONO], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`bare Hono endpoint did not start in 60 s: ${out}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line && out.includes('\n')) {
        clearTimeout(timer);
        done((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`bare Hono endpoint exited with ${code}: ${out}`));
    });
  });
  return { url, stop: () => stopChild(child) };
}

/** `sextant index <collection> <file> --url <server>`: its own docs_per_s and the wall-clock rate. */
async function cliIndex(url: string, modelsDir: string, collection: string, file: string, docs: number): Promise<{ docsPerS: number; wallDocsPerS: number; upserted: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'index', collection, file, '--url', url], {
    env: childEnv({ SEXTANT_MODELS_DIR: modelsDir, SEXTANT_LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  const seconds = (performance.now() - started) / 1000;
  const last = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0) throw new Error(`sextant index exited with ${code}:\n${out}\n${err}`);
  const result = JSON.parse(last) as { docs_per_s: number; upserted: number };
  return { docsPerS: result.docs_per_s, wallDocsPerS: docs / seconds, upserted: result.upserted };
}

/** autocannon at CONCURRENCY connections (scripts/lib/bench-server.ts). */
function cannon(url: string, bodies: readonly string[], seconds: number): Promise<HttpRun> {
  return cannonAt(url, bodies, seconds, CONCURRENCY);
}

/** `server`: a sextant server whose /metrics and threads to read around the measured run (its embedding profile). */
async function httpLoad(label: string, url: string, bodies: readonly string[], server?: Server): Promise<HttpRun & { profile?: EmbedProfile }> {
  progress(`${label}: warm-up ${WARM_SECONDS} s, then ${HTTP_SECONDS} s at ${CONCURRENCY} connections`);
  await cannon(url, bodies, WARM_SECONDS);
  const before = server ? await serverCounters(server.url, server.pid) : undefined;
  const from = process.hrtime.bigint() / 1000n;
  const run = await cannon(url, bodies, HTTP_SECONDS);
  // CLOCK_MONOTONIC µs, the clock of a .cpuprofile's timestamps: a window to cut the server's profile to.
  if (PROFILE_DIR) progress(`${label}: measured run in monotonic µs ${from}–${process.hrtime.bigint() / 1000n}`);
  const profile = server && before ? { ...profileOver(before, await serverCounters(server.url, server.pid)), loadGenCpuS: run.loadGenCpuS } : undefined;
  progress(`${label}: ${fmt(run.qps)} q/s, p50 ${run.p50} ms, p99 ${run.p99} ms, non-2xx ${run.non2xx}, errors ${run.errors}`);
  if (profile) progress(`${label}, server: ${profileLine(profile)}`);
  return { ...run, profile };
}

/** Recall of the server's answers: one vector query at a time (not timed). */
function httpRecall(url: string, queries: Float32Array, dim: number, truth: readonly (readonly string[])[]): Promise<number> {
  return httpRecallAt(url, queries, dim, truth, K);
}

// ---- where the time goes: embedding batches and CPU, in-process and in the server ----------------

/** Embedding work and CPU over one measured interval (in-process: this process; HTTP: the server). */
interface EmbedProfile {
  wallS: number;
  batches: number;
  items: number;
  realTokens: number;
  paddedTokens: number;
  /** Summed inference time of the batches (ms). */
  batchMs: number;
  /** CPU seconds of the process doing the embedding (this one, or the server child). */
  procCpuS: number;
  /** Machine-wide busy and steal CPU seconds (/proc/stat; NaN elsewhere). */
  machineBusyS: number;
  machineStealS: number;
  /** CPU seconds per thread of that process (Linux), busiest first; the event loop is 'main'. */
  threads: { name: string; cpuS: number }[];
  /** CPU seconds of the load generator child (HTTP runs; sampled from /proc, so a little short). */
  loadGenCpuS?: number;
}

/** CPU seconds per thread of `pid` from /proc/<pid>/task/<tid>/stat (empty where there is no /proc). */
function threadCpu(pid: number): Map<number, { name: string; cpuS: number }> {
  const out = new Map<number, { name: string; cpuS: number }>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        const fields = stat.slice(close + 2).split(' '); // fields[0] is field 3 (state)
        const name = Number(tid) === pid ? 'main' : stat.slice(stat.indexOf('(') + 1, close);
        out.set(Number(tid), { name, cpuS: (Number(fields[11]) + Number(fields[12])) / 100 });
      } catch {
        // the thread exited meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return out;
}

function threadsOver(before: Map<number, { name: string; cpuS: number }>, after: Map<number, { name: string; cpuS: number }>): { name: string; cpuS: number }[] {
  return [...after]
    .map(([tid, t]) => ({ name: `${t.name}#${tid}`, cpuS: t.cpuS - (before.get(tid)?.cpuS ?? 0) }))
    .filter((t) => t.cpuS > 0)
    .sort((a, b) => b.cpuS - a.cpuS);
}

/** Machine-wide CPU seconds from /proc/stat's first line: busy (not idle/iowait) and steal. */
function machineCpu(): { busy: number; steal: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    return { busy: (user + nice + system + irq + softirq) / 100, steal: steal / 100 };
  } catch {
    return { busy: NaN, steal: NaN };
  }
}

type Counters = Omit<EmbedProfile, 'wallS' | 'machineBusyS' | 'machineStealS' | 'threads'>;
type Snapshot = Counters & { t: number; m: { busy: number; steal: number }; threads: Map<number, { name: string; cpuS: number }> };

function profileOver(before: Snapshot, after: Snapshot): EmbedProfile {
  return {
    wallS: (after.t - before.t) / 1000,
    batches: after.batches - before.batches,
    items: after.items - before.items,
    realTokens: after.realTokens - before.realTokens,
    paddedTokens: after.paddedTokens - before.paddedTokens,
    batchMs: after.batchMs - before.batchMs,
    procCpuS: after.procCpuS - before.procCpuS,
    machineBusyS: after.m.busy - before.m.busy,
    machineStealS: after.m.steal - before.m.steal,
    threads: threadsOver(before.threads, after.threads),
  };
}

/** The server's embedding and process CPU counters from /metrics (all models summed). */
async function serverCounters(url: string, pid: number): Promise<Snapshot> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (name: string, label?: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      .filter((l) => !label || l.includes(label))
      .reduce((acc, l) => acc + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return {
    t: performance.now(),
    m: machineCpu(),
    threads: threadCpu(pid),
    batches: sum('sextant_embed_batch_size_count'),
    items: sum('sextant_embed_batch_size_sum'),
    realTokens: sum('sextant_embed_tokens_total', 'kind="real"'),
    paddedTokens: sum('sextant_embed_tokens_total', 'kind="padded"'),
    batchMs: sum('sextant_embed_batch_duration_seconds_sum') * 1000,
    procCpuS: sum('process_cpu_seconds_total'),
  };
}

function profileLine(p: EmbedProfile): string {
  return (
    `${fmt(p.batches / p.wallS)} batches/s of ${fmt(p.items / p.batches)} texts, ` +
    `${fmt(p.paddedTokens / p.items)} padded tokens/text (${fmt((100 * p.realTokens) / p.paddedTokens, 0)}% real), ` +
    `${fmt((1000 * p.batchMs) / p.paddedTokens, 1)} µs/padded token, inference busy ${fmt((100 * p.batchMs) / 1000 / p.wallS, 0)}% of wall; ` +
    `process CPU ${fmt(p.procCpuS / p.wallS, 2)} cores (threads: ${p.threads
      .slice(0, 5)
      .map((t) => `${t.name} ${fmt(t.cpuS / p.wallS, 2)}`)
      .join(', ')})${p.loadGenCpuS !== undefined ? `, load generator ${fmt(p.loadGenCpuS / p.wallS, 2)} cores` : ''}, ` +
    `machine busy ${fmt(p.machineBusyS / p.wallS, 2)} cores (other processes ${fmt(outsideCores(p), 2)}), steal ${fmt(p.machineStealS / p.wallS, 2)}`
  );
}

/** Machine CPU not accounted for by the measured process and the load generator: other work on the machine. */
function outsideCores(p: EmbedProfile): number {
  return (p.machineBusyS - p.procCpuS - (p.loadGenCpuS ?? 0)) / p.wallS;
}

/** Above this many cores of other processes, a measurement shared the machine with outside work. */
const OUTSIDE_LOAD_WARN = 0.2;

function outsideWarning(label: string, p: EmbedProfile | undefined): string[] {
  return p && outsideCores(p) > OUTSIDE_LOAD_WARN
    ? [`WARNING: other processes used ${fmt(outsideCores(p), 2)} cores of the machine during ${label} (see "where the time goes"): the ratios are not clean`]
    : [];
}

// ---- in-process embedding ceilings --------------------------------------------------------------

/** The engine embedding `texts` in batches of INGEST_BATCH, INGEST_IN_FLIGHT batches at a time. */
async function embedDocuments(engine: EmbeddingEngine, texts: readonly string[]): Promise<{ docsPerS: number; vectors: Float32Array[] }> {
  const vectors = new Array<Float32Array>(texts.length);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: INGEST_IN_FLIGHT }, async () => {
      while (next < texts.length) {
        const from = next;
        next += INGEST_BATCH;
        const out = await engine.embed(texts.slice(from, from + INGEST_BATCH), 'document');
        out.vectors.forEach((v, j) => (vectors[from + j] = v));
      }
    }),
  );
  return { docsPerS: texts.length / ((performance.now() - started) / 1000), vectors };
}

/** CONCURRENCY callers, one query each at a time, cycling through `queries` for `seconds`. */
async function embedQueries(engine: EmbeddingEngine, queries: readonly string[], seconds: number): Promise<QueryEmbedRun> {
  let next = 0;
  const times: number[] = [];
  const c = { batches: 0, items: 0, realTokens: 0, paddedTokens: 0, batchMs: 0 };
  engine.onBatch = (b) => {
    c.batches++;
    c.items += b.items;
    c.realTokens += b.realTokens;
    c.paddedTokens += b.paddedTokens;
    c.batchMs += b.ms;
  };
  const cpu0 = process.cpuUsage();
  const m0 = machineCpu();
  const t0s = threadCpu(process.pid);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const q = queries[next++ % queries.length]!;
        const t0 = performance.now();
        await engine.embed([q], 'query');
        times.push(performance.now() - t0);
      }
    }),
  );
  const ended = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const m1 = machineCpu();
  const threads = threadsOver(t0s, threadCpu(process.pid));
  engine.onBatch = undefined;
  const elapsed = (ended - started) / 1000;
  times.sort((a, b) => a - b);
  const profile: EmbedProfile = { wallS: elapsed, ...c, procCpuS: (cpu.user + cpu.system) / 1e6, machineBusyS: m1.busy - m0.busy, machineStealS: m1.steal - m0.steal, threads };
  return { qps: times.length / elapsed, p50: percentile(times, 0.5), p99: percentile(times, 0.99), count: times.length, profile, times, passes: [times.length / elapsed] };
}

interface QueryEmbedRun extends Timing {
  count: number;
  profile: EmbedProfile;
  /** Every call's latency (ms), sorted. */
  times: number[];
  /** q/s of each pass pooled here. */
  passes: number[];
}

/** Passes pooled as one: q/s = calls / seconds over all, percentiles over all calls, profiles summed. */
function pooled(runs: readonly QueryEmbedRun[]): QueryEmbedRun {
  const times = runs.flatMap((r) => r.times).sort((a, b) => a - b);
  const sum = (f: (p: EmbedProfile) => number) => runs.reduce((acc, r) => acc + f(r.profile), 0);
  const threads = new Map<string, number>();
  for (const r of runs) for (const t of r.profile.threads) threads.set(t.name, (threads.get(t.name) ?? 0) + t.cpuS);
  const profile: EmbedProfile = {
    wallS: sum((p) => p.wallS),
    batches: sum((p) => p.batches),
    items: sum((p) => p.items),
    realTokens: sum((p) => p.realTokens),
    paddedTokens: sum((p) => p.paddedTokens),
    batchMs: sum((p) => p.batchMs),
    procCpuS: sum((p) => p.procCpuS),
    machineBusyS: sum((p) => p.machineBusyS),
    machineStealS: sum((p) => p.machineStealS),
    threads: [...threads].map(([name, cpuS]) => ({ name, cpuS })).sort((a, b) => b.cpuS - a.cpuS),
  };
  return {
    qps: times.length / profile.wallS,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    count: times.length,
    profile,
    times,
    passes: runs.flatMap((r) => r.passes),
  };
}

// ---- the two data sets --------------------------------------------------------------------------

interface Level {
  timing: Timing;
  recall: number;
}

interface CorpusResult {
  docs: number;
  queries: number;
  embedDocsPerS: number;
  embedPasses: number[];
  ingestDocsPerS: number;
  ingestWallDocsPerS: number;
  /** Pooled over two passes, right before and right after the HTTP text run. */
  queryEmbed: QueryEmbedRun;
  httpText: HttpRun & { profile?: EmbedProfile };
  httpVector: HttpRun;
  /** The bare Hono endpoint, same load generator and vector bodies: the HTTP stack's ceiling. */
  bareHono: HttpRun;
  /** Dense text search once the collection has activated a static model trained on it (issue 13); not with --only-http-ratios. */
  httpStatic?: HttpRun;
  httpRecall: number;
  raw: Level;
  layer: Level;
}

/**
 * Trains a static model on the bench collection over HTTP (POST /train, activate: a re-embedding
 * with it), then loads dense text search on it: the edge model's query embedding is a table lookup,
 * so text search should run near vector search's rate (issue 13: >= 0.7x).
 */
async function staticTextSearch(serverUrl: string, queries: readonly string[]): Promise<HttpRun> {
  const started = await post<{ id: string }>(`${serverUrl}/v1/collections/bench/train`, { kind: 'static', activate: true });
  const settle = async (id: string) => {
    for (;;) {
      const job = (await (await fetch(`${serverUrl}/v1/jobs/${id}`)).json()) as { state: string; error: string | null; activation_job?: string | null; gate?: { passed: boolean; reason: string } };
      if (job.state !== 'queued' && job.state !== 'running') return job;
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const job = await settle(started.id);
  if (job.state !== 'succeeded') throw new Error(`static training ${job.state}: ${job.error}`);
  if (!job.activation_job) throw new Error(`the static model was not activated: ${job.gate?.reason}`);
  const activation = await settle(job.activation_job);
  if (activation.state !== 'succeeded') throw new Error(`static activation ${activation.state}: ${activation.error}`);
  return httpLoad('HTTP text, static model', `${serverUrl}/v1/collections/bench/search`, queries.map((query) => JSON.stringify({ mode: 'dense', query, k: K })));
}

async function cranfieldCisi(modelsDir: string, work: string, engine: EmbeddingEngine): Promise<CorpusResult> {
  const sources = [
    { name: 'cranfield', prefix: 'cran' },
    { name: 'cisi', prefix: 'cisi' },
  ];
  const lines: string[] = [];
  const queryTexts: string[] = [];
  for (const { name, prefix } of sources) {
    const dir = datasetDir(name)!;
    for (const d of readCorpus(dir)) {
      if (!(d.title ?? '').trim() && !(d.text ?? '').trim()) continue;
      lines.push(JSON.stringify({ _id: `${prefix}-${d._id}`, title: d.title ?? '', text: d.text ?? '' }));
    }
    queryTexts.push(...readQueries(dir).map((q) => q.text).filter((t) => t.trim()));
  }
  const file = join(work, 'cranfield-cisi.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  // Exactly the documents and texts `sextant index` sends and the service embeds.
  const { documents } = await readRecords(file, { text: 'text' });
  const texts = documents.map(embeddingText);
  const ids = documents.map((d) => d.id);
  progress(`Cranfield+CISI: ${documents.length} documents, ${queryTexts.length} queries`);

  const dataDir = join(work, 'data-cran-cisi');
  progress('starting sextant serve (Cranfield+CISI)');
  const server = await startServer(dataDir, modelsDir);
  try {
    // Raw embedding throughput of the documents, the server idle.
    await embedDocuments(engine, texts.slice(0, 256)); // warm the arena at this batch shape
    // Embedding is measured before and after the ingest and the better pass kept, so a burst of
    // outside load during one pass does not flatter the ingest ratio.
    progress(`embedding ${texts.length} documents in-process (batches of ${INGEST_BATCH}, ${INGEST_IN_FLIGHT} in flight)`);
    const embedded = await embedDocuments(engine, texts);
    progress(`embedding: ${fmt(embedded.docsPerS)} docs/s`);

    progress(`sextant index bench ${file} --url ${server.url}`);
    const ingest = await cliIndex(server.url, modelsDir, 'bench', file, documents.length);
    progress(`ingest: ${fmt(ingest.docsPerS)} docs/s (CLI), ${fmt(ingest.wallDocsPerS)} docs/s wall incl. CLI start-up`);
    if (ingest.upserted !== documents.length) throw new Error(`sextant index upserted ${ingest.upserted} of ${documents.length} documents`);
    const again = await embedDocuments(engine, texts);
    progress(`embedding, second pass: ${fmt(again.docsPerS)} docs/s`);
    const embedDocsPerS = Math.max(embedded.docsPerS, again.docsPerS);
    const embedPasses = [embedded.docsPerS, again.docsPerS];

    // Load order: both query sets interleaved (seeded shuffle). In file order all of CISI's long
    // queries (a fifth of them at the 128-token cap) would arrive back to back, so for a third of
    // the run the 32 clients would all wait on maximum-length queries at once; the mix is what a
    // collection serving both sets' users sees. The in-process ceiling and HTTP use the same order.
    const loadOrder = seededShuffle(queryTexts, LOAD_ORDER_SEED);
    // The in-process query embedding is measured right before and right after HTTP text and the
    // two passes pooled, so a change of the (shared, noisy) machine's speed during the run weighs
    // on both sides of the text ratios alike.
    await embedQueries(engine, loadOrder, 1); // warm-up at this concurrency
    const embedPass = async (which: string) => {
      progress(`query embedding in-process (${which} HTTP text): ${CONCURRENCY} callers for ${EMBED_SECONDS} s`);
      const pass = await embedQueries(engine, loadOrder, EMBED_SECONDS);
      progress(`query embedding: ${fmt(pass.qps)} q/s, p50 ${fmt(pass.p50)} ms, p99 ${fmt(pass.p99)} ms`);
      progress(`query embedding, in-process: ${profileLine(pass.profile)}`);
      return pass;
    };
    const embedBefore = await embedPass('before');
    const dim = engine.dimensions;
    const queryVectors = new Float32Array(queryTexts.length * dim);
    (await engine.embed(queryTexts, 'query')).vectors.forEach((v, i) => queryVectors.set(v, i * dim));

    const searchUrl = `${server.url}/v1/collections/bench/search`;
    const check = await post<{ results: unknown[] }>(searchUrl, { mode: 'dense', query: queryTexts[0], k: K });
    if (check.results.length !== K) throw new Error(`a text search returned ${check.results.length} results, expected ${K}`);
    const httpText = await httpLoad('HTTP text', searchUrl, loadOrder.map((query) => JSON.stringify({ mode: 'dense', query, k: K })), server);
    const queryEmbed = pooled([embedBefore, await embedPass('after')]);
    const vectorBodies = Array.from({ length: queryTexts.length }, (_, i) => JSON.stringify({ mode: 'dense', vector: Array.from(row(queryVectors, i, dim)), k: K }));
    const httpVector = await httpLoad('HTTP vector', searchUrl, vectorBodies);
    // The HTTP stack's own ceiling, right after (the sextant server idle meanwhile).
    progress('starting the bare Hono endpoint');
    const bare = await startBareHono();
    let bareHono: HttpRun;
    try {
      bareHono = await httpLoad('bare Hono endpoint', bare.url, vectorBodies);
    } finally {
      await bare.stop();
    }

    const data = new Float32Array(embedded.vectors.length * dim);
    embedded.vectors.forEach((v, i) => data.set(v, i * dim));
    const truth = exactAll(data, dim, queryVectors, K, 'Cranfield+CISI').map((labels) => labels.map((l) => ids[l]!));
    const httpRecallValue = await httpRecall(searchUrl, queryVectors, dim, truth);
    const httpStatic = ONLY_HTTP_RATIOS ? undefined : await staticTextSearch(server.url, loadOrder);
    await server.stop();

    const { index: rawIndex } = buildRaw(data, dim, 'Cranfield+CISI');
    const raw = await measureRaw(rawIndex, queryVectors, dim, (l) => ids[l]!);
    const layerIndex = await HnswIndex.open(join(work, 'layer-cran-cisi'), { dimensions: dim, settings: DEFAULT_HNSW, snapshotEveryChanges: Number.MAX_SAFE_INTEGER, snapshotEverySeconds: 0 });
    for (let i = 0; i < ids.length; i += SYN_BUILD_BATCH) {
      await layerIndex.upsert(ids.slice(i, i + SYN_BUILD_BATCH).map((id, j) => ({ id, vector: row(data, i + j, dim) })));
    }
    const layer = await measureLayer(layerIndex, queryVectors, dim);
    await layerIndex.drop();
    return {
      docs: documents.length,
      queries: queryTexts.length,
      embedDocsPerS,
      embedPasses,
      ingestDocsPerS: ingest.docsPerS,
      ingestWallDocsPerS: ingest.wallDocsPerS,
      queryEmbed,
      httpText,
      httpVector,
      bareHono,
      httpStatic,
      httpRecall: httpRecallValue,
      raw: { timing: raw.timing, recall: recallAtK(raw.found, truth) },
      layer: { timing: layer.timing, recall: recallAtK(layer.found, truth) },
    };
  } finally {
    await server.stop();
  }
}

interface SyntheticResult {
  n: number;
  rawBuildPerS: number;
  layerBuildPerS: number;
  raw: Level;
  layer: Level;
  http: HttpRun;
  httpRecall: number;
  uniform?: Level & { buildPerS: number };
}

async function synthetic(modelsDir: string, work: string): Promise<SyntheticResult> {
  const dim = SYN_DIM;
  const label = `synthetic ${SYN_N / 1000}k x ${dim} clustered`;
  progress(`${label}: generating (${SYN_CLUSTERS} clusters, noise ${SYN_NOISE}, ${SYN_QUERIES} held-out queries)`);
  const { data, queries } = syntheticSet(synSpec('clustered', dim));
  const truth = exactAll(data, dim, queries, K, label).map((labels) => labels.map(String));

  let rawResult: { timing: Timing; found: string[][] };
  let rawBuildPerS: number;
  {
    const { index, seconds } = buildRaw(data, dim, label);
    rawBuildPerS = SYN_N / seconds;
    progress(`${label}: raw build ${seconds.toFixed(1)} s (${fmt(rawBuildPerS)} vectors/s)`);
    rawResult = await measureRaw(index, queries, dim, String);
  }

  // (b) and the HTTP data dir in one build: store rows and the generation's HnswIndex, as the service writes them.
  const dataDir = join(work, 'data-synthetic');
  let layerResult!: { timing: Timing; found: string[][] };
  let layerBuildPerS!: number;
  await buildSyntheticDataDir(dataDir, data, {
    collection: SYN_COLLECTION,
    dim,
    batch: SYN_BUILD_BATCH,
    progressSteps: 5,
    onProgress: (built) => progress(`${label}: layer + store built ${built}/${SYN_N}`),
    beforeClose: async (index, { indexSeconds }) => {
      layerBuildPerS = SYN_N / indexSeconds;
      progress(`${label}: layer build ${indexSeconds.toFixed(1)} s in HnswIndex.upsert (${fmt(layerBuildPerS)} vectors/s)`);
      layerResult = await measureLayer(index, queries, dim);
    },
  });

  let uniform: SyntheticResult['uniform'];
  if (UNIFORM) {
    const ulabel = `synthetic ${SYN_N / 1000}k x ${dim} uniform`;
    progress(`${ulabel}: generating`);
    const u = syntheticSet(synSpec('uniform', dim));
    const utruth = exactAll(u.data, dim, u.queries, K, ulabel).map((labels) => labels.map(String));
    const { index: uindex, seconds } = buildRaw(u.data, dim, ulabel);
    progress(`${ulabel}: raw build ${seconds.toFixed(1)} s`);
    const r = await measureRaw(uindex, u.queries, dim, String);
    uniform = { timing: r.timing, recall: recallAtK(r.found, utruth), buildPerS: SYN_N / seconds };
  }

  progress(`starting sextant serve (${label})`);
  const server = await startServer(dataDir, modelsDir);
  try {
    const searchUrl = `${server.url}/v1/collections/${SYN_COLLECTION}/search`;
    const bodies = Array.from({ length: SYN_QUERIES }, (_, i) => JSON.stringify({ mode: 'dense', vector: Array.from(row(queries, i, dim)), k: K }));
    const http = await httpLoad(`HTTP vector, ${label}`, searchUrl, bodies);
    const httpRecallValue = await httpRecall(searchUrl, queries, dim, truth);
    return {
      n: SYN_N,
      rawBuildPerS,
      layerBuildPerS,
      raw: { timing: rawResult.timing, recall: recallAtK(rawResult.found, truth) },
      layer: { timing: layerResult.timing, recall: recallAtK(layerResult.found, truth) },
      http,
      httpRecall: httpRecallValue,
      uniform,
    };
  } finally {
    await server.stop();
  }
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const missing = ['cranfield', 'cisi'].filter((name) => !datasetDir(name));
  if (missing.length > 0) {
    console.error(`bench:search needs ../shared/datasets/{cranfield,cisi} (missing: ${missing.join(', ')}); nothing measured.`);
    process.exitCode = 1;
    return;
  }
  setLogLevel('warn');
  const work = mkdtempSync(join(tmpdir(), 'sextant-bench-search-'));
  try {
    const modelsDir = await prepareModels(work);
    const registry = new ModelRegistry(modelsDir);
    // The same engine settings the server child gets (defaults, or SEXTANT_* from this environment).
    const config = loadConfig({ modelsDir });
    const engine = await EmbeddingEngine.load(
      await registry.resolve(DEFAULT_MODEL_ID),
      { device: config.device, threads: config.threads, batchTokens: config.batchTokens, batchWaitMs: config.batchWaitMs, queueMax: config.queueMax },
      registry,
    );
    let cc: CorpusResult;
    try {
      cc = await cranfieldCisi(modelsDir, work, engine);
    } finally {
      await engine.close();
    }
    const syn = ONLY_HTTP_RATIOS || NO_SYNTHETIC ? undefined : await synthetic(modelsDir, work);
    report(cc, syn, config.threads);
    if (PROFILE_DIR) progress(`server CPU profiles in ${PROFILE_DIR}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function report(cc: CorpusResult, syn: SyntheticResult | undefined, threads: number): void {
  const date = new Date().toISOString().slice(0, 10);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const textRatio = cc.httpText.qps / cc.queryEmbed.qps;
  const ingestRatio = cc.ingestDocsPerS / cc.embedDocsPerS;
  // Issue 14's four ratios, all at CONCURRENCY clients/callers from this one run.
  const ratioTextQps = cc.httpText.qps / cc.queryEmbed.qps;
  const ratioTextP99 = cc.httpText.p99 / cc.queryEmbed.p99;
  const ratioVectorQps = cc.httpVector.qps / cc.bareHono.qps;
  const ratioVectorP99 = cc.httpVector.p99 / cc.bareHono.p99;
  const staticOverVector = cc.httpStatic ? cc.httpStatic.qps / cc.httpVector.qps : NaN;
  const synName = `synthetic ${(syn?.n ?? SYN_N) / 1000}k x ${SYN_DIM} clustered`;
  const t = (x: Timing) => `${fmt(x.qps)} | ${fmt(x.p50, 2)} | ${fmt(x.p99, 2)}`;
  const h = (x: HttpRun) => `${fmt(x.qps)} | ${fmt(x.p50, 0)} | ${fmt(x.p99, 0)}`;
  const pass = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const httpClean = (x: HttpRun) => x.non2xx === 0 && x.errors === 0;
  const ratioTextQpsOk = ratioTextQps >= TARGET_RATIO_TEXT_QPS && httpClean(cc.httpText);
  const ratioTextP99Ok = ratioTextP99 <= TARGET_RATIO_TEXT_P99 && httpClean(cc.httpText);
  const targets = [
    `${pass(textRatio >= TARGET_TEXT_RATIO && httpClean(cc.httpText))}  HTTP dense text search at ${CONCURRENCY} clients >= ${TARGET_TEXT_RATIO} x query_embed_qps: ${fmt(cc.httpText.qps)} / ${fmt(cc.queryEmbed.qps)} = ${fmt(textRatio, 3)} (non-2xx ${cc.httpText.non2xx}, errors ${cc.httpText.errors})`,
    `${pass(cc.httpText.p99 <= TARGET_TEXT_P99 && httpClean(cc.httpText))}  HTTP dense text search p99 <= ${TARGET_TEXT_P99} ms: ${cc.httpText.p99} ms`,
    `${pass(cc.httpVector.p99 <= TARGET_VECTOR_P99 && httpClean(cc.httpVector))}  HTTP vector search p99 <= ${TARGET_VECTOR_P99} ms (Cranfield+CISI, ${CONCURRENCY} clients): ${cc.httpVector.p99} ms (non-2xx ${cc.httpVector.non2xx}, errors ${cc.httpVector.errors})`,
    `${pass(ratioTextQpsOk)}  ratio_text_qps >= ${TARGET_RATIO_TEXT_QPS} (HTTP text q/s / in-process query embedding q/s, ${CONCURRENCY} clients / callers): ${fmt(cc.httpText.qps)} / ${fmt(cc.queryEmbed.qps)} = ${fmt(ratioTextQps, 3)}`,
    `${pass(ratioTextP99Ok)}  ratio_text_p99 <= ${TARGET_RATIO_TEXT_P99} (HTTP text p99 / in-process query embedding p99, ${CONCURRENCY} clients / callers): ${cc.httpText.p99} ms / ${fmt(cc.queryEmbed.p99, 2)} ms = ${fmt(ratioTextP99, 3)}`,
    ...(syn ? [`${pass(syn.layer.recall >= TARGET_RECALL)}  recall@10 >= ${TARGET_RECALL} at default settings (ef ${DEFAULT_HNSW.efSearch}) on ${synName}: ${fmt(syn.layer.recall, 4)}${syn.n < 100_000 ? ' (--quick: not the 100k set)' : ''}`] : []),
    ...(cc.httpStatic ? [`${pass(staticOverVector >= TARGET_STATIC_OVER_VECTOR && httpClean(cc.httpStatic))}  static_http_over_vector >= ${TARGET_STATIC_OVER_VECTOR} (HTTP dense text search on the static model / HTTP vector search, q/s): ${fmt(cc.httpStatic.qps)} / ${fmt(cc.httpVector.qps)} = ${fmt(staticOverVector, 3)}`] : []),
    `${pass(ingestRatio >= TARGET_INGEST_RATIO)}  ingest via sextant index >= ${TARGET_INGEST_RATIO} x embedding throughput: ${fmt(cc.ingestDocsPerS)} / ${fmt(cc.embedDocsPerS)} = ${fmt(ingestRatio, 3)}`,
  ];
  const modeNote = [QUICK ? ' — QUICK (--quick: shorter runs, 20k synthetic)' : '', ONLY_HTTP_RATIOS ? ' — --only-http-ratios (Cranfield+CISI only, no static model, no synthetic set)' : NO_SYNTHETIC ? ' — --no-synthetic (Cranfield+CISI and the static model, no synthetic set)' : ''].join('');
  const lines = [
    `### bench:search — ${date} — ${cpu}, ${cpus().length} cores, ${threads} ORT threads, Node ${process.version}${modeNote}`,
    '',
    `HNSW defaults M ${DEFAULT_HNSW.M}, efConstruction ${DEFAULT_HNSW.efConstruction}, efSearch ${DEFAULT_HNSW.efSearch}; k ${K}. In-process rows: one caller, sequential. HTTP rows: autocannon, ${CONCURRENCY} connections, ${HTTP_SECONDS} s after ${WARM_SECONDS} s warm-up, autocannon in its own process on the same machine; q/s counts 2xx only. Query embedding: ${CONCURRENCY} in-process callers, ${EMBED_SECONDS} s right before and ${EMBED_SECONDS} s right after HTTP text, pooled. Bare Hono: a minimal Hono app on @hono/node-server in its own process, parsing the vector bodies and answering a fixed JSON, same load.`,
    `Cranfield+CISI: ${cc.docs} documents, ${cc.queries} queries, USE-Lite fp32 (512-d).${syn ? ` Synthetic: ${SYN_QUERIES} held-out queries; clustered = ${SYN_CLUSTERS} gaussian clusters, noise norm ${SYN_NOISE} x centroid, normalised.` : ''}`,
    '',
    '| data | path | q/s | p50 ms | p99 ms | recall@10 | non-2xx |',
    '|---|---|---|---|---|---|---|',
    `| Cranfield+CISI | (a) raw hnswlib | ${t(cc.raw.timing)} | ${fmt(cc.raw.recall, 4)} | |`,
    `| Cranfield+CISI | (b) HnswIndex layer | ${t(cc.layer.timing)} | ${fmt(cc.layer.recall, 4)} | |`,
    `| Cranfield+CISI | (c) HTTP vector | ${h(cc.httpVector)} | ${fmt(cc.httpRecall, 4)} | ${cc.httpVector.non2xx} |`,
    `| Cranfield+CISI | bare Hono endpoint, same bodies (ceiling of HTTP vector) | ${h(cc.bareHono)} | – | ${cc.bareHono.non2xx} |`,
    ...(cc.httpStatic ? [`| Cranfield+CISI | (c) HTTP text, static model (÷ vector ${fmt(staticOverVector, 3)}) | ${h(cc.httpStatic)} | – | ${cc.httpStatic.non2xx} |`] : []),
    `| Cranfield+CISI | (c) HTTP text (dense) | ${h(cc.httpText)} | | ${cc.httpText.non2xx} |`,
    `| Cranfield+CISI | query embedding, in-process (ceiling of HTTP text; passes before / after it ${cc.queryEmbed.passes.map((x) => fmt(x)).join(' / ')} q/s, pooled) | ${t(cc.queryEmbed)} | | |`,
    ...(syn
      ? [
          `| ${synName} | (a) raw hnswlib | ${t(syn.raw.timing)} | ${fmt(syn.raw.recall, 4)} | |`,
          `| ${synName} | (b) HnswIndex layer | ${t(syn.layer.timing)} | ${fmt(syn.layer.recall, 4)} | |`,
          `| ${synName} | (c) HTTP vector | ${h(syn.http)} | ${fmt(syn.httpRecall, 4)} | ${syn.http.non2xx} |`,
          ...(syn.uniform ? [`| synthetic ${syn.n / 1000}k x ${SYN_DIM} uniform | (a) raw hnswlib | ${t(syn.uniform.timing)} | ${fmt(syn.uniform.recall, 4)} | |`] : []),
        ]
      : []),
    '',
    `| ratio (Cranfield+CISI, ${CONCURRENCY} clients / callers, this run) | numerator | denominator | ratio | target |`,
    '|---|---|---|---|---|',
    `| ratio_text_qps: HTTP text q/s / in-process query embedding q/s | ${fmt(cc.httpText.qps)} | ${fmt(cc.queryEmbed.qps)} | ${fmt(ratioTextQps, 3)} | >= ${TARGET_RATIO_TEXT_QPS}: ${pass(ratioTextQpsOk)} |`,
    `| ratio_text_p99: HTTP text p99 / in-process query embedding p99 (ms) | ${cc.httpText.p99} | ${fmt(cc.queryEmbed.p99, 2)} | ${fmt(ratioTextP99, 3)} | <= ${TARGET_RATIO_TEXT_P99}: ${pass(ratioTextP99Ok)} |`,
    `| ratio_vector_qps: HTTP vector q/s / bare Hono q/s | ${fmt(cc.httpVector.qps)} | ${fmt(cc.bareHono.qps)} | ${fmt(ratioVectorQps, 3)} | – |`,
    `| ratio_vector_p99: HTTP vector p99 / bare Hono p99 (ms) | ${cc.httpVector.p99} | ${cc.bareHono.p99} | ${fmt(ratioVectorP99, 3)} | – |`,
    '',
    `Embedding work behind the text ratios: in-process — ${profileLine(cc.queryEmbed.profile)}` +
      (cc.httpText.profile ? `; HTTP text (server /metrics, machine incl. the load generator) — ${profileLine(cc.httpText.profile)}.` : '.'),
    '',
    '| ingest (Cranfield+CISI) | docs/s |',
    '|---|---|',
    `| sextant index --url (batches of ${INGEST_BATCH}, ${INGEST_IN_FLIGHT} in flight; CLI's own rate) | ${fmt(cc.ingestDocsPerS)} |`,
    `| same, wall clock incl. CLI start-up | ${fmt(cc.ingestWallDocsPerS)} |`,
    `| raw embedding, in-process engine, same texts and batching (ceiling; best of passes ${cc.embedPasses.map((x) => fmt(x)).join(', ')}) | ${fmt(cc.embedDocsPerS)} |`,
    '',
    `Ratios: HTTP text / query embedding ${fmt(textRatio, 3)}; ingest / embedding ${fmt(ingestRatio, 3)}; ` +
      `layer / raw q/s ${fmt(cc.layer.timing.qps / cc.raw.timing.qps, 3)} (Cranfield+CISI)${syn ? `, ${fmt(syn.layer.timing.qps / syn.raw.timing.qps, 3)} (synthetic)` : ''}; ` +
      `HTTP vector (${CONCURRENCY} conns) / layer (1 caller) q/s ${fmt(cc.httpVector.qps / cc.layer.timing.qps, 3)} (Cranfield+CISI)${syn ? `, ${fmt(syn.http.qps / syn.layer.timing.qps, 3)} (synthetic)` : ''}; ` +
      `HTTP text / HTTP vector q/s ${fmt(cc.httpText.qps / cc.httpVector.qps, 3)}.` +
      (syn ? ` Build: raw ${fmt(syn.rawBuildPerS, 0)} vectors/s, layer ${fmt(syn.layerBuildPerS, 0)} vectors/s (synthetic).` : ''),
    '',
    'Targets:',
    '',
    ...targets.map((l) => `- ${l}`),
    ...[...outsideWarning('the in-process query embedding', cc.queryEmbed.profile), ...outsideWarning('HTTP text', cc.httpText.profile)].map((l) => `- ${l}`),
    '',
  ];
  console.log(lines.join('\n'));
  if (APPEND) {
    const benchFile = join(REPO, 'BENCHMARKS.md');
    if (!existsSync(benchFile)) writeFileSync(benchFile, '# Benchmarks\n\nAppended by the `npm run bench:*` scripts; newest last.\n\n');
    appendFileSync(benchFile, `${lines.join('\n')}\n`);
  }
  const maybe = <T>(x: T | undefined, f: (v: T) => number | null): number | null => (x === undefined ? null : f(x));
  console.log(
    JSON.stringify({
      quick: QUICK,
      raw_qps: round(cc.raw.timing.qps, 1),
      layer_qps: round(cc.layer.timing.qps, 1),
      http_qps: round(cc.httpText.qps, 1),
      query_embed_qps: round(cc.queryEmbed.qps, 1),
      http_text_over_embed: round(textRatio, 3),
      http_p50_ms: cc.httpText.p50,
      http_p99_ms: cc.httpText.p99,
      http_non2xx: cc.httpText.non2xx,
      http_vector_qps: round(cc.httpVector.qps, 1),
      http_vector_p50_ms: cc.httpVector.p50,
      http_vector_p99_ms: cc.httpVector.p99,
      http_vector_non2xx: cc.httpVector.non2xx,
      static_http_qps: maybe(cc.httpStatic, (x) => round(x.qps, 1)),
      static_http_p99_ms: maybe(cc.httpStatic, (x) => x.p99),
      static_http_over_vector: cc.httpStatic ? round(staticOverVector, 3) : null,
      query_embed_p99_ms: round(cc.queryEmbed.p99),
      query_embed_passes_qps: cc.queryEmbed.passes.map((x) => round(x, 1)),
      /** Cores used by other processes on the machine while the text ratios' two sides were measured. */
      outside_load_cores: { query_embed: round(outsideCores(cc.queryEmbed.profile)), http_text: cc.httpText.profile ? round(outsideCores(cc.httpText.profile)) : null },
      recall_at_10: maybe(syn, (x) => round(x.layer.recall, 4)),
      cran_cisi_recall_at_10: round(cc.layer.recall, 4),
      cran_cisi_http_recall_at_10: round(cc.httpRecall, 4),
      ingest_docs_per_s: round(cc.ingestDocsPerS, 1),
      embed_docs_per_s: round(cc.embedDocsPerS, 1),
      ingest_over_embed: round(ingestRatio, 3),
      synthetic_n: maybe(syn, (x) => x.n),
      synthetic_recall_at_10: maybe(syn, (x) => round(x.layer.recall, 4)),
      synthetic_raw_recall_at_10: maybe(syn, (x) => round(x.raw.recall, 4)),
      synthetic_http_recall_at_10: maybe(syn, (x) => round(x.httpRecall, 4)),
      synthetic_uniform_recall_at_10: syn?.uniform ? round(syn.uniform.recall, 4) : null,
      synthetic_raw_qps: maybe(syn, (x) => round(x.raw.timing.qps, 1)),
      synthetic_layer_qps: maybe(syn, (x) => round(x.layer.timing.qps, 1)),
      synthetic_http_vector_qps: maybe(syn, (x) => round(x.http.qps, 1)),
      synthetic_http_vector_p99_ms: maybe(syn, (x) => x.http.p99),
      pass: {
        http_text_ratio: textRatio >= TARGET_TEXT_RATIO && httpClean(cc.httpText),
        http_text_p99: cc.httpText.p99 <= TARGET_TEXT_P99 && httpClean(cc.httpText),
        http_vector_p99: cc.httpVector.p99 <= TARGET_VECTOR_P99 && httpClean(cc.httpVector),
        recall: syn ? syn.layer.recall >= TARGET_RECALL : null,
        ingest_ratio: ingestRatio >= TARGET_INGEST_RATIO,
        ratio_text_qps: ratioTextQpsOk,
        ratio_text_p99: ratioTextP99Ok,
      },
      only_http_ratios: ONLY_HTTP_RATIOS,
      no_synthetic: NO_SYNTHETIC,
      bare_hono_qps: round(cc.bareHono.qps, 1),
      bare_hono_p99_ms: cc.bareHono.p99,
      ratio_text_qps: round(ratioTextQps, 3),
      ratio_text_p99: round(ratioTextP99, 3),
      ratio_vector_qps: round(ratioVectorQps, 3),
      ratio_vector_p99: round(ratioVectorP99, 3),
    }),
  );
}

await main();
