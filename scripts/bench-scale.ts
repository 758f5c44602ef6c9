/**
 * npm run bench:scale [-- --sizes 10000,100000,1000000] [-- --seconds 15] [-- --queries 200] [-- --no-append] [-- --keep]
 *
 *   --sizes N,N,...  collection sizes to measure, smallest first (default 10k, 100k, 1M; k/M suffixes allowed)
 *   --seconds N      measured HTTP time per run (default 15), after a 3-s warm-up
 *   --queries N      held-out query vectors per size (default 200)
 *   --no-append      print only, leave BENCHMARKS.md alone
 *   --keep           keep the work directory (data directories included) and say where it is
 *
 * How Sextant's figures grow with the collection: at each size, one size at a time (the raw vectors
 * of the 1M set alone are 2 GB in this process, and the server holds its own copy in the graph):
 *
 *   data      n synthetic 512-d unit vectors with cluster structure (bench-search's clustered set:
 *             about POINTS_PER_CLUSTER points per gaussian cluster, point = normalise(centroid +
 *             NOISE * g / sqrt(dim)), seeded), plus `--queries` more rows of the same distribution
 *             held out as queries. Document j carries metadata {p50: j % 2 == 0, p5: j % 20 == 0,
 *             p01: j % 1000 == 0}: exactly 50%, 5% and 0.1% of the documents, independent of the
 *             clusters. Ground truth: exact top-10 by dot product, brute force over the flat array,
 *             unfiltered and among each filter's matching rows (one blocked pass serves all four).
 *   build     the data directory written directly, as bench-search's synthetic set is
 *             (scripts/lib/synthetic-datadir.ts: SqliteStore rows and the generation's HnswIndex in
 *             batches of 1000, metadata in both, then one final snapshot); seconds for the batch loop
 *             (store + index) and for the close (the snapshot) apart, and vectors/s overall.
 *   serve     `sextant serve` as a child on the data directory: start-to-listening seconds (it loads
 *             every live index before opening the port), then under autocannon (its own process,
 *             32 connections, bodies cycling through the held-out queries) dense vector search
 *             unfiltered and with each filter ({"p50": true}, {"p5": true}, {"p01": true}): q/s, p50
 *             and p99, non-2xx and errors (must be 0). Recall@10 at the collection's default ef,
 *             one request at a time (not timed), against the exact truth of the same filter. On the
 *             first size only, also text queries (embedded by the server: Cranfield's query texts
 *             when ../shared/datasets/cranfield exists, else seeded word strings): q/s and latency,
 *             no recall (the document vectors are synthetic).
 *   memory    the server's VmRSS after the vector runs (before the text run, which grows the
 *             embedding arena on the first size only), minus that of a server on an empty data
 *             directory put through the same warm-up and one unfiltered run against an empty
 *             collection (the model, the runtime and the HTTP stack's working set): per vector, and
 *             over the raw float32 size, 4 x 512 = 2048 bytes. After load the JS heap's size is
 *             noisy (two runs of the empty server read 330 and 366 MB), which at 10k is several KB
 *             per vector either way; so the same difference is also taken at ready (the moment the
 *             port opens, no request served yet), where three empty servers read 287-290 MB.
 *   disk      the data directory's size (the sum of its files), once the server has stopped.
 *
 * Prints a table per size, a growth table (each figure over the same figure at the previous size,
 * next to the size ratio) and PASS/FAIL per target: recall@10 >= 0.95 at every size, unfiltered and
 * with every filter; filtered p50 within 3x the unfiltered p50 at every selectivity (the acceptance
 * line: 0.1% at 1M). Appends a dated section to BENCHMARKS.md (not with --no-append); the last line
 * printed is one JSON object: {"sizes": [...], "growth": [...]}.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setLogLevel } from '../src/log.ts';
import { mulberry32 } from '../src/util/random.ts';
import { DEFAULT_HNSW } from '../src/values/backend.ts';
import { datasetDir, readQueries } from './lib/beir.ts';
import { REPO, cannon, httpRecall, post, prepareModels, progressLogger, startServer, type HttpRun, type Server } from './lib/bench-server.ts';
import { buildSyntheticDataDir } from './lib/synthetic-datadir.ts';
import { CLUSTERED, exactTopKMany, row, syntheticSet } from './lib/synthetic.ts';

// ---- flags --------------------------------------------------------------------------------------

const argv = process.argv.slice(2);

function flagValue(name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

/** A positive integer, with an optional k (thousand) or M (million) suffix. */
function count(text: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  const value = m ? Number(m[1]) * (m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? 1e3 : 1e6) : NaN;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name}: '${text}' is not a positive whole number`);
  return value;
}

const SIZES = [...new Set((flagValue('--sizes') ?? '10000,100000,1000000').split(',').map((s) => count(s, '--sizes')))].sort((a, b) => a - b);
const SECONDS = count(flagValue('--seconds') ?? '15', '--seconds');
const QUERIES = count(flagValue('--queries') ?? '200', '--queries');
const APPEND = !argv.includes('--no-append');
const KEEP = argv.includes('--keep');

// ---- constants ----------------------------------------------------------------------------------

const DIM = 512;
const K = 10;
/** Load generator connections: the same client count as bench-search's HTTP rows. */
const CONCURRENCY = 32;
/** Warm-up before each measured run (JIT, the server's buffers, the worker's caches). */
const WARM_SECONDS = 3;
const { pointsPerCluster: POINTS_PER_CLUSTER, noise: NOISE, seed: SEED, buildBatch: BUILD_BATCH } = CLUSTERED;
const COLLECTION = 'scale';
/** Raw size of one vector: float32 x DIM. */
const FLOAT32_BYTES = 4 * DIM;
/**
 * How long the server may take to open the port: loading a snapshot of n vectors and building the
 * in-memory filter structures grows with n (base for the process and the model, plus ~15 min at 1M).
 */
const READY_TIMEOUT_BASE_S = 180;
const READY_TIMEOUT_PER_MILLION_S = 900;
/** Synthetic text queries when Cranfield is not there: this many, of 4 to 12 words from WORDS. */
const SYNTHETIC_TEXT_QUERIES = 200;
const TEXT_SEED = 11;
const WORDS =
  'boundary layer flow pressure heat transfer shock wave laminar turbulent nozzle supersonic wing panel flutter vibration cylinder plate velocity profile drag lift mach number jet stream surface temperature'.split(
    ' ',
  );

const TARGET_RECALL = 0.95;
/** Filtered search p50 at most this multiple of the unfiltered p50 at the same size. */
const TARGET_FILTER_P50_RATIO = 3;
/** The acceptance line: the most selective filter at this size. */
const ACCEPTANCE_N = 1_000_000;

interface FilterSpec {
  /** Share of the documents matching, as printed and as the JSON key. */
  readonly label: '50%' | '5%' | '0.1%';
  readonly field: 'p50' | 'p5' | 'p01';
  readonly matches: (j: number) => boolean;
}

const FILTERS: readonly FilterSpec[] = [
  { label: '50%', field: 'p50', matches: (j) => j % 2 === 0 },
  { label: '5%', field: 'p5', matches: (j) => j % 20 === 0 },
  { label: '0.1%', field: 'p01', matches: (j) => j % 1000 === 0 },
];

const metadataOf = (j: number) => Object.fromEntries(FILTERS.map((f) => [f.field, f.matches(j)]));

const progress = progressLogger('bench:scale');
const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const round = (x: number, digits = 2) => (Number.isFinite(x) ? +x.toFixed(digits) : null);
const mb = (bytes: number) => `${fmt(bytes / 1e6, 1)} MB`;
const sizeLabel = (n: number) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));

// ---- measurements -------------------------------------------------------------------------------

interface Run {
  qps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

interface FilteredRun extends Run {
  recall: number;
}

interface SizeResult {
  n: number;
  clusters: number;
  truthSeconds: number;
  buildLoopS: number;
  buildIndexS: number;
  buildCloseS: number;
  buildS: number;
  serverReadyS: number;
  rss: number;
  rssPeak: number;
  /** VmRSS as the server opened its port, before any request. */
  rssReady: number;
  dataDirBytes: number;
  unfiltered: FilteredRun;
  filtered: Record<FilterSpec['label'], FilteredRun & { p50OverUnfiltered: number }>;
  text: (Run & { source: string; queries: number; rssAfter: number }) | null;
}

/** Warm-up, then the measured run, at CONCURRENCY connections. */
async function load(label: string, url: string, bodies: readonly string[]): Promise<HttpRun> {
  progress(`${label}: warm-up ${WARM_SECONDS} s, then ${SECONDS} s at ${CONCURRENCY} connections`);
  await cannon(url, bodies, WARM_SECONDS, CONCURRENCY);
  const run = await cannon(url, bodies, SECONDS, CONCURRENCY);
  const clean = run.non2xx === 0 && run.errors === 0;
  progress(`${label}: ${fmt(run.qps)} q/s, p50 ${run.p50} ms, p99 ${run.p99} ms, non-2xx ${run.non2xx}, errors ${run.errors}${clean ? '' : ' — FAIL'}`);
  return run;
}

/** VmRSS and VmHWM (peak) of `pid`, bytes. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Sum of the sizes of the files under `dir`. */
function treeBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
    const path = join(dir, e.name);
    return sum + (e.isDirectory() ? treeBytes(path) : e.isFile() ? statSync(path).size : 0);
  }, 0);
}

function vectorBodies(queries: Float32Array, extra: Record<string, unknown> = {}): string[] {
  return Array.from({ length: queries.length / DIM }, (_, i) => JSON.stringify({ mode: 'dense', vector: Array.from(row(queries, i, DIM)), k: K, ...extra }));
}

/** Cranfield's query texts, or seeded word strings where the data set is not there. */
function textQueries(): { source: string; texts: string[] } {
  const dir = datasetDir('cranfield');
  if (dir) return { source: 'Cranfield queries', texts: readQueries(dir).map((q) => q.text).filter((t) => t.trim()) };
  const rng = mulberry32(TEXT_SEED);
  const texts = Array.from({ length: SYNTHETIC_TEXT_QUERIES }, () => Array.from({ length: 4 + Math.floor(rng() * 9) }, () => WORDS[Math.floor(rng() * WORDS.length)]!).join(' '));
  return { source: 'synthetic word strings', texts };
}

function readyTimeoutMs(n: number): number {
  return (READY_TIMEOUT_BASE_S + (READY_TIMEOUT_PER_MILLION_S * n) / 1e6) * 1000;
}

interface Baseline {
  rss: number;
  rssReady: number;
  readyS: number;
}

/**
 * The empty-server baseline: a server on an empty data directory with one empty collection, put
 * through the same warm-up and one measured run of unfiltered vector bodies (answered with no
 * hits), so its heap and buffers have seen the same traffic as the measured servers'.
 */
async function baseline(modelsDir: string, work: string): Promise<Baseline> {
  const dataDir = join(work, 'data-empty');
  progress(`baseline: starting sextant serve on an empty data directory`);
  const server = await startServer(dataDir, modelsDir);
  const rssReady = memory(server.pid).rss;
  try {
    await post(`${server.url}/v1/collections`, { name: COLLECTION });
    const { queries } = syntheticSet({ kind: 'clustered', n: 0, queries: QUERIES, dim: DIM, clusters: 1, noise: NOISE, seed: SEED });
    await load('baseline (empty collection)', `${server.url}/v1/collections/${COLLECTION}/search`, vectorBodies(queries));
    const { rss } = memory(server.pid);
    progress(`baseline: ready in ${fmt(server.readySeconds, 1)} s, RSS ${mb(rssReady)} at ready, ${mb(rss)} after the load`);
    return { rss, rssReady, readyS: server.readySeconds };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Data, exact truth and the data directory for one size. The raw vectors live only in here: what
 * returns is a copy of the queries, so the 2-GB array at 1M can be collected before the server starts.
 */
async function prepare(n: number, dataDir: string, label: string) {
  const clusters = Math.max(1, Math.round(n / POINTS_PER_CLUSTER));
  progress(`${label}: generating ${n} x ${DIM} (${clusters} clusters, noise ${NOISE}) + ${QUERIES} held-out queries`);
  const set = syntheticSet({ kind: 'clustered', n, queries: QUERIES, dim: DIM, clusters, noise: NOISE, seed: SEED });
  const queries = set.queries.slice();

  progress(`${label}: exact top-${K} for ${QUERIES} queries, unfiltered and ${FILTERS.length} filters (${fmt((n * QUERIES * DIM) / 1e9, 1)} G multiply-adds)`);
  const t0 = performance.now();
  let reported = 0;
  const rows = exactTopKMany(set.data, DIM, queries, K, FILTERS.map((f) => f.matches), (done) => {
    const tenth = Math.floor(done * 10);
    if (tenth > reported && tenth < 10) {
      reported = tenth;
      progress(`${label}: exact search ${fmt(100 * done, 0)}% (${fmt((performance.now() - t0) / 1000, 0)} s)`);
    }
  });
  const truthSeconds = (performance.now() - t0) / 1000;
  progress(`${label}: exact search took ${fmt(truthSeconds, 1)} s`);
  const truth = rows.map((perQuery) => perQuery.map((labels) => labels.map(String)));

  progress(`${label}: building the data directory (batches of ${BUILD_BATCH})`);
  const built = performance.now();
  const build = await buildSyntheticDataDir(dataDir, set.data, {
    collection: COLLECTION,
    dim: DIM,
    batch: BUILD_BATCH,
    metadata: metadataOf,
    progressSteps: 10,
    onProgress: (done) => progress(`${label}: built ${done}/${n} (${fmt((performance.now() - built) / 1000, 0)} s)`),
  });
  progress(`${label}: build loop ${fmt(build.loopSeconds)} s (HnswIndex.upsert ${fmt(build.indexSeconds)} s), close + snapshot ${fmt(build.closeSeconds)} s`);
  return { clusters, queries, truth, truthSeconds, build };
}

async function measureSize(n: number, first: boolean, modelsDir: string, work: string, base: Baseline): Promise<SizeResult> {
  const label = sizeLabel(n);
  const dataDir = join(work, `data-${label}`);
  const { clusters, queries, truth, truthSeconds, build } = await prepare(n, dataDir, label);

  progress(`${label}: starting sextant serve (timeout ${fmt(readyTimeoutMs(n) / 60_000, 0)} min)`);
  const server: Server = await startServer(dataDir, modelsDir, { timeoutMs: readyTimeoutMs(n) });
  const rssReady = memory(server.pid).rss;
  progress(`${label}: server ready in ${fmt(server.readySeconds, 1)} s, RSS ${mb(rssReady)} (${fmt((rssReady - base.rssReady) / n, 0)} B/vector over the empty server at ready)`);
  let result: Omit<SizeResult, 'dataDirBytes'>;
  try {
    const url = `${server.url}/v1/collections/${COLLECTION}/search`;
    const check = await post<{ results: unknown[] }>(url, { mode: 'dense', vector: Array.from(row(queries, 0, DIM)), k: K });
    if (check.results.length !== K) throw new Error(`a vector search returned ${check.results.length} results, expected ${K}`);

    const http = await load(`${label} unfiltered`, url, vectorBodies(queries));
    const unfiltered: FilteredRun = { ...http, recall: await httpRecall(url, queries, DIM, truth[0]!, K) };
    progress(`${label} unfiltered: recall@${K} ${fmt(unfiltered.recall, 4)}`);
    const filtered = {} as SizeResult['filtered'];
    for (const [i, f] of FILTERS.entries()) {
      const filter = { [f.field]: true };
      const run = await load(`${label} filter ${f.label} ${JSON.stringify(filter)}`, url, vectorBodies(queries, { filter }));
      const recall = await httpRecall(url, queries, DIM, truth[i + 1]!, K, { filter });
      filtered[f.label] = { ...run, recall, p50OverUnfiltered: run.p50 / unfiltered.p50 };
      progress(`${label} filter ${f.label}: recall@${K} ${fmt(recall, 4)}, p50 ${fmt(run.p50 / unfiltered.p50, 2)} x unfiltered`);
    }
    const mem = memory(server.pid);
    progress(`${label}: server RSS ${mb(mem.rss)} (peak ${mb(mem.peak)}), ${fmt((mem.rss - base.rss) / n, 0)} B/vector over the empty server`);

    let text: SizeResult['text'] = null;
    if (first) {
      const { source, texts } = textQueries();
      const run = await load(`${label} text (${source}, ${texts.length})`, url, texts.map((query) => JSON.stringify({ mode: 'dense', query, k: K })));
      text = { ...run, source, queries: texts.length, rssAfter: memory(server.pid).rss };
    }
    result = {
      n,
      clusters,
      truthSeconds,
      buildLoopS: build.loopSeconds,
      buildIndexS: build.indexSeconds,
      buildCloseS: build.closeSeconds,
      buildS: build.loopSeconds + build.closeSeconds,
      serverReadyS: server.readySeconds,
      rss: mem.rss,
      rssPeak: mem.peak,
      rssReady,
      unfiltered,
      filtered,
      text,
    };
  } finally {
    await server.stop();
  }
  const dataDirBytes = treeBytes(dataDir);
  progress(`${label}: data directory ${mb(dataDirBytes)}`);
  if (!KEEP) rmSync(dataDir, { recursive: true, force: true });
  return { ...result, dataDirBytes };
}

// ---- report -------------------------------------------------------------------------------------

const clean = (r: Run) => r.non2xx === 0 && r.errors === 0;
const pass = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
const perVector = (s: SizeResult, base: Baseline) => (s.rss - base.rss) / s.n;
const perVectorReady = (s: SizeResult, base: Baseline) => (s.rssReady - base.rssReady) / s.n;

/** The figures the growth table follows, each read from one size's result. */
function growthFigures(base: Baseline): { key: string; label: string; value: (s: SizeResult) => number }[] {
  return [
    { key: 'build_s', label: 'build s', value: (s) => s.buildS },
    { key: 'build_vectors_per_s', label: 'build vectors/s', value: (s) => s.n / s.buildS },
    { key: 'server_ready_s', label: 'server ready s', value: (s) => s.serverReadyS },
    { key: 'rss_bytes', label: 'server RSS', value: (s) => s.rss },
    { key: 'rss_over_baseline_bytes', label: 'server RSS over the empty server', value: (s) => s.rss - base.rss },
    { key: 'rss_per_vector_bytes', label: 'RSS per vector', value: (s) => perVector(s, base) },
    { key: 'rss_ready_bytes', label: 'server RSS at ready', value: (s) => s.rssReady },
    { key: 'rss_ready_per_vector_bytes', label: 'RSS per vector at ready', value: (s) => perVectorReady(s, base) },
    { key: 'data_dir_bytes', label: 'data directory', value: (s) => s.dataDirBytes },
    { key: 'qps', label: 'unfiltered q/s', value: (s) => s.unfiltered.qps },
    { key: 'p50_ms', label: 'unfiltered p50', value: (s) => s.unfiltered.p50 },
    { key: 'p99_ms', label: 'unfiltered p99', value: (s) => s.unfiltered.p99 },
    { key: 'recall_at_10', label: 'unfiltered recall@10', value: (s) => s.unfiltered.recall },
    ...FILTERS.flatMap((f) => [
      { key: `filtered_${f.label}_qps`, label: `filter ${f.label} q/s`, value: (s: SizeResult) => s.filtered[f.label].qps },
      { key: `filtered_${f.label}_p50_ms`, label: `filter ${f.label} p50`, value: (s: SizeResult) => s.filtered[f.label].p50 },
      { key: `filtered_${f.label}_p99_ms`, label: `filter ${f.label} p99`, value: (s: SizeResult) => s.filtered[f.label].p99 },
      { key: `filtered_${f.label}_recall_at_10`, label: `filter ${f.label} recall@10`, value: (s: SizeResult) => s.filtered[f.label].recall },
    ]),
  ];
}

function sizeTable(s: SizeResult, base: Baseline): string[] {
  const label = sizeLabel(s.n);
  const pv = perVector(s, base);
  const pvReady = perVectorReady(s, base);
  const row3 = (name: string, r: Run, recall: string, ratio: string) =>
    `| ${name} | ${fmt(r.qps)} | ${r.p50} | ${r.p99} | ${ratio} | ${recall} | ${r.non2xx + r.errors}${clean(r) ? '' : ' FAIL'} |`;
  return [
    `#### ${label} documents (${s.n.toLocaleString('en-US')} x ${DIM}, ${s.clusters} clusters)`,
    '',
    '| figure | value |',
    '|---|---|',
    `| build, batch loop (store + index) | ${fmt(s.buildLoopS)} s (of which HnswIndex.upsert ${fmt(s.buildIndexS)} s) |`,
    `| build, close + final snapshot | ${fmt(s.buildCloseS)} s |`,
    `| build, total | ${fmt(s.buildS)} s, ${fmt(s.n / s.buildS, 0)} vectors/s |`,
    `| server start to ready | ${fmt(s.serverReadyS)} s |`,
    `| server RSS after the vector runs (peak) | ${mb(s.rss)} (${mb(s.rssPeak)}) |`,
    `| RSS per vector over the empty server's ${mb(base.rss)} | ${fmt(pv, 0)} B = ${fmt(pv / FLOAT32_BYTES, 2)} x float32 (${FLOAT32_BYTES} B) |`,
    `| server RSS at ready; per vector over the empty server's ${mb(base.rssReady)} | ${mb(s.rssReady)}; ${fmt(pvReady, 0)} B = ${fmt(pvReady / FLOAT32_BYTES, 2)} x float32 |`,
    `| data directory | ${mb(s.dataDirBytes)} = ${fmt(s.dataDirBytes / s.n, 0)} B/vector = ${fmt(s.dataDirBytes / s.n / FLOAT32_BYTES, 2)} x float32 |`,
    `| exact ground truth (this process) | ${fmt(s.truthSeconds)} s |`,
    '',
    `| search (${CONCURRENCY} connections) | q/s | p50 ms | p99 ms | p50 / unfiltered | recall@${K} | non-2xx + errors |`,
    '|---|---|---|---|---|---|---|',
    row3('dense vector, unfiltered', s.unfiltered, fmt(s.unfiltered.recall, 4), '1'),
    ...FILTERS.map((f) => {
      const r = s.filtered[f.label];
      return row3(`dense vector, filter ${f.label} {"${f.field}": true}`, r, fmt(r.recall, 4), fmt(r.p50OverUnfiltered, 2));
    }),
    ...(s.text ? [row3(`dense text (${s.text.source}, ${s.text.queries}; embedded by the server)`, s.text, '–', fmt(s.text.p50 / s.unfiltered.p50, 2))] : []),
    '',
  ];
}

function growthTable(sizes: readonly SizeResult[], base: Baseline): string[] {
  if (sizes.length < 2) return ['Growth: one size only, nothing to compare.', ''];
  const steps = sizes.slice(1).map((s, i) => [sizes[i]!, s] as const);
  return [
    `| growth (figure at a size ÷ at the previous size) | ${steps.map(([a, b]) => `${sizeLabel(a.n)} → ${sizeLabel(b.n)}`).join(' | ')} |`,
    `|---|${steps.map(() => '---').join('|')}|`,
    `| size | ${steps.map(([a, b]) => `${fmt(b.n / a.n, 2)} x`).join(' | ')} |`,
    ...growthFigures(base).map((g) => `| ${g.label} | ${steps.map(([a, b]) => `${fmt(g.value(b) / g.value(a), 2)} x`).join(' | ')} |`),
    '',
  ];
}

function targets(sizes: readonly SizeResult[]): string[] {
  const lines: string[] = [];
  for (const s of sizes) {
    const label = sizeLabel(s.n);
    lines.push(`${pass(s.unfiltered.recall >= TARGET_RECALL)}  recall@${K} >= ${TARGET_RECALL} at ${label}, unfiltered (ef ${DEFAULT_HNSW.efSearch}): ${fmt(s.unfiltered.recall, 4)}`);
    for (const f of FILTERS) {
      const r = s.filtered[f.label];
      lines.push(`${pass(r.recall >= TARGET_RECALL)}  recall@${K} >= ${TARGET_RECALL} at ${label}, filter ${f.label}: ${fmt(r.recall, 4)}`);
    }
    for (const f of FILTERS) {
      const r = s.filtered[f.label];
      lines.push(`${pass(r.p50OverUnfiltered <= TARGET_FILTER_P50_RATIO && clean(r))}  filtered p50 <= ${TARGET_FILTER_P50_RATIO} x unfiltered at ${label}, filter ${f.label}: ${r.p50} / ${s.unfiltered.p50} ms = ${fmt(r.p50OverUnfiltered, 2)}`);
    }
    const runs: [string, Run][] = [['unfiltered', s.unfiltered], ...FILTERS.map((f): [string, Run] => [`filter ${f.label}`, s.filtered[f.label]]), ...(s.text ? [['text', s.text] as [string, Run]] : [])];
    const dirty = runs.filter(([, r]) => !clean(r));
    lines.push(`${pass(dirty.length === 0)}  no non-2xx responses or errors at ${label}${dirty.length ? `: ${dirty.map(([name, r]) => `${name} ${r.non2xx} non-2xx, ${r.errors} errors`).join('; ')}` : ''}`);
  }
  const last = FILTERS[FILTERS.length - 1]!;
  const acceptance = sizes.find((s) => s.n === ACCEPTANCE_N);
  lines.push(
    acceptance
      ? `${pass(acceptance.filtered[last.label].p50OverUnfiltered <= TARGET_FILTER_P50_RATIO && clean(acceptance.filtered[last.label]))}  ACCEPTANCE: filter ${last.label} at ${sizeLabel(ACCEPTANCE_N)}, p50 within ${TARGET_FILTER_P50_RATIO} x unfiltered: ${fmt(acceptance.filtered[last.label].p50OverUnfiltered, 2)}`
      : `n/a   ACCEPTANCE: filter ${last.label} at ${sizeLabel(ACCEPTANCE_N)} not measured (${sizeLabel(ACCEPTANCE_N)} not in --sizes)`,
  );
  return lines;
}

function json(sizes: readonly SizeResult[], baseline: Baseline): string {
  const figures = growthFigures(baseline);
  const run = (r: Run) => ({ qps: round(r.qps, 1), p50_ms: r.p50, p99_ms: r.p99, non2xx: r.non2xx, errors: r.errors });
  return JSON.stringify({
    sizes: sizes.map((s) => ({
      n: s.n,
      build_s: round(s.buildS, 1),
      build_loop_s: round(s.buildLoopS, 1),
      build_index_s: round(s.buildIndexS, 1),
      build_close_s: round(s.buildCloseS, 1),
      build_vectors_per_s: round(s.n / s.buildS, 0),
      server_ready_s: round(s.serverReadyS, 2),
      rss_bytes: s.rss,
      rss_peak_bytes: s.rssPeak,
      rss_per_vector_bytes: round(perVector(s, baseline), 0),
      rss_per_vector_over_float32: round(perVector(s, baseline) / FLOAT32_BYTES, 3),
      rss_ready_bytes: s.rssReady,
      rss_ready_per_vector_bytes: round(perVectorReady(s, baseline), 0),
      rss_ready_per_vector_over_float32: round(perVectorReady(s, baseline) / FLOAT32_BYTES, 3),
      data_dir_bytes: s.dataDirBytes,
      ...run(s.unfiltered),
      recall_at_10: round(s.unfiltered.recall, 4),
      filtered: Object.fromEntries(
        FILTERS.map((f) => {
          const r = s.filtered[f.label];
          return [f.label, { ...run(r), recall_at_10: round(r.recall, 4), p50_over_unfiltered: round(r.p50OverUnfiltered, 3) }];
        }),
      ),
      text: s.text ? { source: s.text.source, queries: s.text.queries, ...run(s.text), rss_after_bytes: s.text.rssAfter } : null,
    })),
    growth: sizes.slice(1).map((b, i) => {
      const a = sizes[i]!;
      return { from: a.n, to: b.n, size_ratio: round(b.n / a.n, 3), ...Object.fromEntries(figures.map((g) => [g.key, round(g.value(b) / g.value(a), 3)])) };
    }),
    baseline_rss_bytes: baseline.rss,
    baseline_rss_ready_bytes: baseline.rssReady,
    baseline_server_ready_s: round(baseline.readyS, 2),
    seconds: SECONDS,
    queries: QUERIES,
  });
}

function report(sizes: readonly SizeResult[], baseline: Baseline): void {
  const date = new Date().toISOString().slice(0, 10);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const jsonLine = json(sizes, baseline);
  const lines = [
    `## bench:scale — ${date} — ${cpu}, ${cpus().length} cores`,
    '',
    `\`npm run bench:scale -- ${argv.join(' ')}\`: sizes ${sizes.map((s) => sizeLabel(s.n)).join(', ')}; synthetic ${DIM}-d unit vectors, ~${POINTS_PER_CLUSTER} per gaussian cluster ` +
      `(noise ${NOISE} x centroid), ${QUERIES} held-out queries; metadata p50/p5/p01 true on exactly 50% / 5% / 0.1% of the documents. HNSW defaults M ${DEFAULT_HNSW.M}, ` +
      `efConstruction ${DEFAULT_HNSW.efConstruction}, efSearch ${DEFAULT_HNSW.efSearch}; k ${K}. HTTP: autocannon in its own process, ${CONCURRENCY} connections, ` +
      `${SECONDS} s after ${WARM_SECONDS} s warm-up; q/s counts 2xx only; recall one request at a time against exact search. Node ${process.version}. ` +
      `Empty server (empty data directory; RSS at ready ${mb(baseline.rssReady)}, and ${mb(baseline.rss)} with one empty collection after the same warm-up and one unfiltered run): ready in ${fmt(baseline.readyS)} s.`,
    '',
    ...sizes.flatMap((s) => sizeTable(s, baseline)),
    ...growthTable(sizes, baseline),
    'Targets:',
    '',
    ...targets(sizes).map((l) => `- ${l}`),
    '',
  ];
  console.log(lines.join('\n'));
  if (APPEND) appendFileSync(join(REPO, 'BENCHMARKS.md'), `\n${lines.join('\n')}\n\`\`\`json\n${jsonLine}\n\`\`\`\n`);
  console.log(jsonLine);
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  setLogLevel('warn');
  const work = mkdtempSync(join(tmpdir(), 'sextant-bench-scale-'));
  try {
    const modelsDir = await prepareModels(work);
    const base = await baseline(modelsDir, work);
    const results: SizeResult[] = [];
    for (const [i, n] of SIZES.entries()) results.push(await measureSize(n, i === 0, modelsDir, work, base));
    report(results, base);
  } finally {
    if (KEEP) progress(`work directory kept at ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

await main();
