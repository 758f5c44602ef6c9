/**
 * npx tsx scripts/bench-hnsw-blocking.ts [--n 100000] [--dim 512] [--queries 200]
 *     [--data random,lowrank] [--m 16] [--efc 200] [--cache-dir DIR] [--skip-load] [--skip-filter]
 *
 * hnswlib-node's searchKnn runs synchronously on the JS thread. This measures how long it holds
 * the thread and what that does to a server under concurrent load, so we can decide between
 * searching on the main thread and moving the index into worker_threads. Per data set:
 *
 *   build     time to insert n unit vectors through HnswIndex.upsert (batches of 1000)
 *   sweep     per-query HnswIndex.search time (single-threaded p50/p99) and recall@10 vs brute
 *             force at growing ef, then bisection to the smallest ef with recall@10 >= 0.95
 *   filter    exact scan vs filtered graph search by number of matching documents (sets the
 *             exact-scan threshold in src/index/hnsw/search-plan.ts)
 *   snapshot  flush (writeIndex + fsync) and reopen time, file sizes
 *   load      (first data set only) an HTTP server doing one index.search per request, driven by
 *             autocannon at concurrency 1/8/32 from another process, while a second autocannon
 *             probes a trivial /health route at 50 req/s: the probe's latency is the stall other
 *             requests see. A /noop route with the same HTTP work but no search is the baseline.
 *
 * Data sets (seeded, reproducible):
 *   random   i.i.d. Gaussian directions: no structure, the hardest case for any ANN index
 *   lowrank  unit vectors from a 32-dimensional latent space mapped into `dim` dims plus 20%
 *            isotropic noise: low intrinsic dimension, like real text embeddings
 * Two query sets each: `fresh` (new draws from the same distribution) and `near` (a stored vector
 * plus noise, cosine ~0.9: a query with a clear best match).
 *
 * Prints markdown tables and ends with one JSON line.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { HnswIndex } from '../src/index/hnsw/index.ts';
import { DEFAULT_HNSW, type HnswSettings } from '../src/values/backend.ts';
import { setLogLevel } from '../src/log.ts';
import { mulberry32 } from '../src/util/random.ts';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    dim: { type: 'string', default: '512' },
    queries: { type: 'string', default: '200' },
    data: { type: 'string', default: 'random,lowrank' },
    m: { type: 'string', default: String(DEFAULT_HNSW.M) },
    efc: { type: 'string', default: String(DEFAULT_HNSW.efConstruction) },
    'cache-dir': { type: 'string' },
    'skip-load': { type: 'boolean', default: false },
    'skip-filter': { type: 'boolean', default: false },
  },
});
const N = Number(args.n);
const DIM = Number(args.dim);
const Q = Number(args.queries);
const K = 10;
const TARGET = 0.95;
const SETTINGS: HnswSettings = { M: Number(args.m), efConstruction: Number(args.efc), efSearch: DEFAULT_HNSW.efSearch };
const LATENT = 32;

setLogLevel('warn');

function unit(out: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i]! * out[i]!;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < out.length; i++) out[i]! *= inv;
  return out;
}

interface DataSet {
  name: string;
  data: Float32Array;
  bucket: Int32Array;
  fresh: Float32Array[];
  near: Float32Array[];
}

function makeData(name: string): DataSet {
  const rand = mulberry32(name === 'random' ? 42 : 4242);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  let draw: () => Float32Array;
  if (name === 'random') {
    draw = () => {
      const v = new Float32Array(DIM);
      for (let i = 0; i < DIM; i++) v[i] = gauss();
      return unit(v);
    };
  } else if (name === 'lowrank') {
    const A = new Float32Array(DIM * LATENT);
    for (let i = 0; i < A.length; i++) A[i] = gauss() / Math.sqrt(LATENT);
    const noise = 0.2 / Math.sqrt(DIM);
    draw = () => {
      const z = Array.from({ length: LATENT }, gauss);
      const v = new Float32Array(DIM);
      for (let i = 0; i < DIM; i++) {
        let s = 0;
        for (let j = 0; j < LATENT; j++) s += A[i * LATENT + j]! * z[j]!;
        v[i] = s / Math.sqrt(LATENT) + noise * gauss();
      }
      return unit(v);
    };
  } else {
    throw new Error(`unknown data set ${name}`);
  }
  const data = new Float32Array(N * DIM);
  const bucket = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    data.set(draw(), i * DIM);
    bucket[i] = Math.floor(rand() * N);
  }
  const fresh = Array.from({ length: Q }, draw);
  const near = Array.from({ length: Q }, () => {
    const o = Math.floor(rand() * N) * DIM;
    const v = new Float32Array(DIM);
    for (let i = 0; i < DIM; i++) v[i] = data[o + i]! + (0.5 / Math.sqrt(DIM)) * gauss();
    return unit(v);
  });
  return { name, data, bucket, fresh, near };
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}
const f = (x: number, d = 2) => x.toFixed(d);

function bruteTopK(ds: DataSet, q: Float32Array, k: number, allow?: (i: number) => boolean): number[] {
  const best: { s: number; i: number }[] = [];
  const { data } = ds;
  for (let i = 0; i < N; i++) {
    if (allow && !allow(i)) continue;
    let s = 0;
    const o = i * DIM;
    for (let j = 0; j < DIM; j++) s += q[j]! * data[o + j]!;
    if (best.length < k) {
      best.push({ s, i });
      best.sort((a, b) => b.s - a.s);
    } else if (s > best[k - 1]!.s) {
      best[k - 1] = { s, i };
      best.sort((a, b) => b.s - a.s);
    }
  }
  return best.map((b) => b.i);
}

function recall(truth: number[][], got: string[][]): number {
  let hit = 0;
  let total = 0;
  truth.forEach((t, qi) => {
    const g = new Set(got[qi]);
    for (const i of t) if (g.has(`d${i}`)) hit++;
    total += t.length;
  });
  return hit / total;
}

async function buildOrLoad(ds: DataSet): Promise<{ index: HnswIndex; dir: string; buildSeconds: number; cached: boolean; temp: boolean }> {
  const cacheRoot = args['cache-dir'];
  const dir = cacheRoot ? join(resolve(cacheRoot), `${ds.name}-${N}x${DIM}-M${SETTINGS.M}-efc${SETTINGS.efConstruction}`) : mkdtempSync(join(tmpdir(), 'sextant-bench-hnsw-'));
  const opts = { dimensions: DIM, settings: SETTINGS, snapshotEveryChanges: Number.MAX_SAFE_INTEGER, snapshotEverySeconds: 0 };
  const meta = join(dir, '..', `${dir.split('/').pop()}.build.json`);
  if (cacheRoot && existsSync(meta)) {
    const index = await HnswIndex.open(dir, opts);
    if ((await index.count()) === N) {
      const { buildSeconds } = JSON.parse(readFileSync(meta, 'utf8')) as { buildSeconds: number };
      return { index, dir, buildSeconds, cached: true, temp: false };
    }
    await index.drop();
  }
  if (cacheRoot) mkdirSync(dir, { recursive: true });
  const index = await HnswIndex.open(dir, opts);
  const t0 = performance.now();
  for (let i = 0; i < N; i += 1000) {
    const items = [];
    for (let j = i; j < Math.min(N, i + 1000); j++) items.push({ id: `d${j}`, vector: ds.data.subarray(j * DIM, (j + 1) * DIM), metadata: { bucket: ds.bucket[j]! } });
    await index.upsert(items);
  }
  const buildSeconds = (performance.now() - t0) / 1000;
  index.markApplied(N);
  await index.flush();
  if (cacheRoot) writeFileSync(meta, JSON.stringify({ buildSeconds }));
  return { index, dir, buildSeconds, cached: false, temp: !cacheRoot };
}

async function sweep(index: HnswIndex, ds: DataSet, truthFresh: number[][], truthNear: number[][]): Promise<Record<string, unknown>> {
  const rows: { ef: number; fresh: number; near: number; p50: number; p99: number; max: number }[] = [];
  const measure = async (ef: number) => {
    const times: number[] = [];
    const run = async (qs: Float32Array[]) => {
      const out: string[][] = [];
      for (const q of qs) {
        const s = performance.now();
        const hits = await index.search({ vector: q, k: K, ef });
        times.push(performance.now() - s);
        out.push(hits.map((h) => h.id));
      }
      return out;
    };
    const row = { ef, fresh: recall(truthFresh, await run(ds.fresh)), near: recall(truthNear, await run(ds.near)), p50: 0, p99: 0, max: 0 };
    row.p50 = pct(times, 0.5);
    row.p99 = pct(times, 0.99);
    row.max = Math.max(...times);
    return row;
  };
  await measure(16); // warm-up: JIT and caches, not reported
  console.log(`\n### ${ds.name}: recall@10 and single-threaded search latency by ef\n`);
  console.log('| ef | recall@10 fresh | recall@10 near | p50 ms | p99 ms | max ms |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  const print = (r: (typeof rows)[number]) =>
    console.log(`| ${r.ef}${r.ef === DEFAULT_HNSW.efSearch ? ' (default)' : ''} | ${f(r.fresh, 3)} | ${f(r.near, 3)} | ${f(r.p50, 3)} | ${f(r.p99, 3)} | ${f(r.max, 3)} |`);
  for (const ef of [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]) {
    if (ef > N) break;
    const r = await measure(ef);
    rows.push(r);
    print(r);
    if (r.fresh >= 0.99 && r.near >= 0.99) break;
  }
  // Smallest ef reaching the target on fresh queries, to within ~6%.
  let lo = 0;
  let hi: number | null = null;
  for (const r of rows) {
    if (r.fresh >= TARGET) {
      hi = r.ef;
      break;
    }
    lo = r.ef;
  }
  if (hi !== null && lo > 0) {
    while (hi - lo > Math.max(4, lo * 0.06)) {
      const mid = Math.round((lo + hi) / 2);
      const r = await measure(mid);
      rows.push(r);
      print(r);
      if (r.fresh >= TARGET) hi = mid;
      else lo = mid;
    }
  }
  const atDefault = rows.find((r) => r.ef === DEFAULT_HNSW.efSearch);
  console.log(`${ds.name}: recall@10 at default ef ${DEFAULT_HNSW.efSearch}: fresh ${f(atDefault?.fresh ?? NaN, 3)}, near ${f(atDefault?.near ?? NaN, 3)}; smallest ef with fresh recall@10 >= ${TARGET}: ${hi ?? `none up to ${rows.at(-1)?.ef}`}`);
  return { rows: rows.sort((a, b) => a.ef - b.ef), smallestEfForTarget: hi };
}

async function filterTable(index: HnswIndex, ds: DataSet): Promise<unknown> {
  console.log(`\n### ${ds.name}: filtered search, exact scan vs graph + filter callback (ef ${DEFAULT_HNSW.efSearch} x2)\n`);
  console.log('| matches | exact ms p50 | graph ms p50 | graph recall@10 vs exact | matchesFilter over all docs ms |');
  console.log('|---:|---:|---:|---:|---:|');
  const rows: Record<string, unknown>[] = [];
  const qs = ds.fresh.slice(0, 30);
  const saved = [index.exactScanMin, index.exactScanCost, index.postFilterEfFactor] as const;
  // The graph column is the filtered walk itself, not the post-filtered one wide filters take.
  index.postFilterEfFactor = 0;
  for (const m of [50, 200, 500, 1000, 2000, 5000, 10000, 50000]) {
    if (m > N) break;
    const filter = { bucket: { $lt: m } };
    const exactTimes: number[] = [];
    const graphTimes: number[] = [];
    let hit = 0;
    let tot = 0;
    for (const q of qs.slice(0, m > 5000 ? 5 : qs.length)) {
      index.exactScanMin = Number.MAX_SAFE_INTEGER;
      let s = performance.now();
      const truth = await index.search({ vector: q, k: K, filter });
      exactTimes.push(performance.now() - s);
      index.exactScanMin = 0;
      index.exactScanCost = 0;
      s = performance.now();
      const got = new Set((await index.search({ vector: q, k: K, filter })).map((h) => h.id));
      graphTimes.push(performance.now() - s);
      hit += truth.filter((h) => got.has(h.id)).length;
      tot += truth.length;
    }
    // What both paths pay first: matchesFilter over every document's metadata.
    const s = performance.now();
    await index.search({ vector: qs[0]!, k: K, filter: { bucket: { $lt: -1 } } });
    const evalMs = performance.now() - s;
    const row = { matches: m, exactP50: pct(exactTimes, 0.5), graphP50: pct(graphTimes, 0.5), graphRecall: hit / tot, filterEvalMs: evalMs };
    rows.push(row);
    console.log(`| ${m} | ${f(row.exactP50)} | ${f(row.graphP50)} | ${f(row.graphRecall, 3)} | ${f(evalMs)} |`);
  }
  [index.exactScanMin, index.exactScanCost, index.postFilterEfFactor] = saved;
  const q = qs[0]!;
  const want = bruteTopK(ds, q, K, (i) => ds.bucket[i]! < 500).map((i) => `d${i}`);
  const got = (await index.search({ vector: q, k: K, filter: { bucket: { $lt: 500 } } })).map((h) => h.id);
  const agrees = JSON.stringify(want) === JSON.stringify(got);
  console.log(`exact path agrees with brute force: ${agrees}`);
  return { rows, exactAgreesWithBrute: agrees };
}

async function main(): Promise<void> {
  const datasets = args.data.split(',').map((s) => s.trim());
  const results: Record<string, unknown> = { n: N, dim: DIM, queries: Q, settings: SETTINGS, cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version };
  console.log(`# hnsw blocking bench: ${N} x ${DIM}, ${Q} queries per set, M=${SETTINGS.M} efConstruction=${SETTINGS.efConstruction}, ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}`);
  let loadDone = false;
  for (const name of datasets) {
    const t = performance.now();
    const ds = makeData(name);
    console.log(`\n## ${name} (generated in ${f((performance.now() - t) / 1000, 1)} s)`);
    const { index, dir, buildSeconds, cached, temp } = await buildOrLoad(ds);
    console.log(`build: ${f(buildSeconds, 1)} s (${f(N / buildSeconds, 0)} inserts/s)${cached ? ' [from cache]' : ''}, capacity ${index.capacity}`);
    const tb = performance.now();
    const truthFresh = ds.fresh.map((q) => bruteTopK(ds, q, K));
    const truthNear = ds.near.map((q) => bruteTopK(ds, q, K));
    const bruteMs = (performance.now() - tb) / (2 * Q);
    console.log(`brute force in JS: ${f(bruteMs, 1)} ms per query`);
    const out: Record<string, unknown> = { buildSeconds, bruteForceJsMsPerQuery: bruteMs };
    out.sweep = await sweep(index, ds, truthFresh, truthNear);
    if (!args['skip-filter']) out.filter = await filterTable(index, ds);

    index.markApplied(index.appliedSeq + 1);
    let s = performance.now();
    await index.flush();
    const flushS = (performance.now() - s) / 1000;
    await index.close();
    s = performance.now();
    const reopened = await HnswIndex.open(dir, { dimensions: DIM, settings: SETTINGS, snapshotEverySeconds: 0 });
    const openS = (performance.now() - s) / 1000;
    const n = reopened.snapshotNumber;
    const indexBytes = statSync(join(dir, `index-${n}.bin`)).size;
    const stateBytes = statSync(join(dir, `state-${n}.json`)).size;
    out.snapshot = { flushSeconds: flushS, openSeconds: openS, indexBytes, stateBytes };
    console.log(`\nsnapshot: flush ${f(flushS)} s, reopen ${f(openS)} s, index-n.bin ${f(indexBytes / 2 ** 20, 0)} MiB, state-n.json ${f(stateBytes / 2 ** 20, 1)} MiB`);

    if (!args['skip-load'] && !loadDone) {
      out.load = await loadTest(reopened, ds.fresh);
      loadDone = true;
    }
    if (temp) await reopened.drop();
    else await reopened.close();
    results[name] = out;
  }
  console.log(JSON.stringify(results));
}

interface Cannon {
  requests: { average: number };
  latency: { p50: number; p99: number; max: number };
}

function autocannon(url: string, extra: string[]): Promise<Cannon> {
  const bin = resolve('node_modules/.bin/autocannon');
  return new Promise((res, rej) => {
    const child = spawn(bin, ['--json', ...extra, url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', rej);
    child.on('close', () => {
      try {
        res(JSON.parse(out) as Cannon);
      } catch (err) {
        rej(err as Error);
      }
    });
  });
}

async function loadTest(index: HnswIndex, queries: Float32Array[]): Promise<unknown> {
  let next = 0;
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/health') {
      res.end('ok');
      return;
    }
    const q = queries[next++ % queries.length]!;
    if (url === '/noop') {
      // Same HTTP and JSON work as /search, no graph search.
      res.end(JSON.stringify(Array.from({ length: K }, (_, i) => ({ id: `d${i}`, score: q[i] }))));
      return;
    }
    const ef = Number(new URL(url, 'http://x').searchParams.get('ef') ?? DEFAULT_HNSW.efSearch);
    index.search({ vector: q, k: K, ef }).then(
      (hits) => res.end(JSON.stringify(hits)),
      (err: Error) => {
        res.statusCode = 500;
        res.end(err.message);
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const seconds = '8';

  console.log('\n### load: HTTP server, one index.search per request (autocannon in separate processes)\n');
  console.log('| route | concurrency | req/s | latency p50 ms | p99 ms | /health probe p50 ms | probe p99 ms | probe max ms | event-loop delay p99 ms |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const rows: Record<string, unknown>[] = [];
  const plan: [string, number][] = [
    ['(idle)', 0],
    ['/noop', 32],
    [`/search?ef=${DEFAULT_HNSW.efSearch}`, 1],
    [`/search?ef=${DEFAULT_HNSW.efSearch}`, 8],
    [`/search?ef=${DEFAULT_HNSW.efSearch}`, 32],
    ['/search?ef=512', 32],
  ];
  for (const [route, c] of plan) {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const probe = autocannon(`${base}/health`, ['-c', '1', '-R', '50', '-d', seconds]);
    const load = c > 0 ? autocannon(`${base}${route}`, ['-c', String(c), '-d', seconds]) : null;
    const [p, l] = await Promise.all([probe, load]);
    h.disable();
    const row = {
      route,
      concurrency: c,
      rps: l?.requests.average ?? 0,
      p50: l?.latency.p50 ?? 0,
      p99: l?.latency.p99 ?? 0,
      probeP50: p.latency.p50,
      probeP99: p.latency.p99,
      probeMax: p.latency.max,
      loopDelayP99: h.percentile(99) / 1e6,
    };
    rows.push(row);
    console.log(`| ${route} | ${c} | ${f(row.rps, 0)} | ${row.p50} | ${row.p99} | ${row.probeP50} | ${row.probeP99} | ${row.probeMax} | ${f(row.loopDelayP99)} |`);
  }
  await new Promise<void>((r) => server.close(() => r()));
  return rows;
}

await main();
