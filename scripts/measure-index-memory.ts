/**
 * node_modules/.bin/tsx scripts/measure-index-memory.ts [--gb 2] [--keep]
 *
 * Checks that `sextant index` streams its input: generates a JSONL corpus of the given size
 * (default 2 GB) in a temp dir, runs `node bin/sextant.js index` on it locally (no --url, a fresh
 * SEXTANT_DATA_DIR in the temp dir) as a child process, and samples the child's resident memory
 * (VmRSS from /proc/<pid>/status every 200 ms; VmHWM, the kernel's own peak, as last seen).
 * Prints one JSON line: peak RSS, documents, wall time, docs/s. Exits 1 when the peak RSS is
 * 1 GiB or more, or the index run fails. Removes the temp dir unless --keep. Linux only (/proc).
 *
 * Documents are 60–90 KB of words drawn from a seeded, Zipf-weighted vocabulary: large enough
 * that 2 GB is ~28k documents (the engine embeds only the first ~8 KB of each, the server takes up
 * to SEXTANT_MAX_TEXT_CHARS = 100000), so the run is dominated by reading, storing and the FTS5
 * index rather than by embedding, and finishes in reasonable time on two cores.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, statfsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../src/util/random.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');
const CLI = join(REPO_ROOT, 'bin', 'sextant.js');
const GIB = 1024 ** 3;
const LIMIT_BYTES = GIB;
const SAMPLE_MS = 200;
const MIN_DOC_CHARS = 60_000;
const MAX_DOC_CHARS = 90_000;

const { values } = parseArgs({
  options: {
    gb: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
  },
});
const gb = Number(values.gb);
if (!Number.isFinite(gb) || gb <= 0) throw new Error('--gb must be a positive number');
const targetBytes = Math.round(gb * 1e9);

function log(message: string): void {
  process.stderr.write(`[measure-index-memory] ${message}\n`);
}

/** A vocabulary of pronounceable pseudo-words and a lookup table that samples them Zipf-weighted. */
function vocabulary(random: () => number): { words: string[]; table: Uint32Array } {
  const onsets = ['b', 'c', 'd', 'f', 'g', 'h', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'st', 'tr', 'pl', 'gr', 'ch', 'sh', 'th'];
  const vowels = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io', 'ou'];
  const codas = ['', '', 'n', 'r', 's', 't', 'l', 'm', 'nd', 'st', 'ng'];
  const seen = new Set<string>();
  const words: string[] = [];
  while (words.length < 30_000) {
    const syllables = 1 + Math.floor(random() * 4);
    let w = '';
    for (let s = 0; s < syllables; s++) {
      w += onsets[Math.floor(random() * onsets.length)]! + vowels[Math.floor(random() * vowels.length)]!;
      if (s === syllables - 1 || random() < 0.3) w += codas[Math.floor(random() * codas.length)]!;
    }
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  // Zipf (s = 1): word k has weight 1/(k+1); a 2^20-entry table makes sampling one lookup.
  const size = 1 << 20;
  const table = new Uint32Array(size);
  let harmonic = 0;
  for (let k = 0; k < words.length; k++) harmonic += 1 / (k + 1);
  let filled = 0;
  for (let k = 0; k < words.length && filled < size; k++) {
    const n = Math.max(1, Math.round((size * (1 / (k + 1))) / harmonic));
    for (let j = 0; j < n && filled < size; j++) table[filled++] = k;
  }
  for (; filled < size; filled++) table[filled] = Math.floor(random() * words.length);
  return { words, table };
}

async function generate(path: string): Promise<{ documents: number; bytes: number }> {
  const random = mulberry32(20261201);
  const { words, table } = vocabulary(random);
  const mask = table.length - 1;
  const word = () => words[table[Math.floor(random() * 4294967296) & mask]!]!;
  const out = createWriteStream(path);
  let bytes = 0;
  let documents = 0;
  while (bytes < targetBytes) {
    const chars = MIN_DOC_CHARS + Math.floor(random() * (MAX_DOC_CHARS - MIN_DOC_CHARS));
    const parts: string[] = [];
    let length = 0;
    let sentence = 0;
    while (length < chars) {
      let w = word();
      if (sentence === 0) w = w[0]!.toUpperCase() + w.slice(1);
      sentence++;
      if (sentence > 8 && random() < 0.12) {
        w += '.';
        sentence = 0;
      } else if (random() < 0.04) w += ',';
      parts.push(w);
      length += w.length + 1;
    }
    const title = Array.from({ length: 3 + Math.floor(random() * 5) }, word).join(' ');
    const line = `${JSON.stringify({ _id: `doc-${String(documents).padStart(7, '0')}`, title, text: parts.join(' '), source: 'synthetic', section: documents % 17 })}\n`;
    bytes += Buffer.byteLength(line);
    documents++;
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((done, fail) => {
    out.once('error', fail);
    out.end(done);
  });
  return { documents, bytes };
}

function procStatus(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined; // exited between samples
  }
}

async function main(): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'sextant-index-memory-'));
  let removed = false;
  const cleanup = async () => {
    if (values.keep || removed) return;
    removed = true;
    await rm(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    // The corpus, the SQLite copy of its texts and the FTS5 index: ~3x the size, plus margin.
    const fs = statfsSync(work);
    const free = fs.bavail * fs.bsize;
    const needed = targetBytes * 3.5 + GIB;
    log(`temp dir ${work}: ${(free / GIB).toFixed(1)} GiB free, ~${(needed / GIB).toFixed(1)} GiB needed`);
    if (free < needed) throw new Error(`not enough disk space in ${work}: ${(free / GIB).toFixed(1)} GiB free, ~${(needed / GIB).toFixed(1)} GiB needed`);

    const corpus = join(work, 'corpus.jsonl');
    const genStarted = performance.now();
    const generated = await generate(corpus);
    const generateSeconds = (performance.now() - genStarted) / 1000;
    log(`generated ${generated.documents} documents, ${(generated.bytes / 1e9).toFixed(2)} GB in ${generateSeconds.toFixed(0)} s`);

    const env = {
      ...process.env,
      SEXTANT_DATA_DIR: join(work, 'data'),
      SEXTANT_MODELS_DIR: process.env.SEXTANT_MODELS_DIR ?? join(REPO_ROOT, 'models'),
      SEXTANT_LOG_LEVEL: process.env.SEXTANT_LOG_LEVEL ?? 'warn',
    };
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, 'index', 'memory', corpus], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let peakRss = 0;
    let lastRss = 0;
    let hwm = 0;
    let stdout = '';
    let stderrTail = '';
    let lastProgress = 0;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      const text = c.toString();
      stderrTail = (stderrTail + text).slice(-4000);
      const now = Date.now();
      if (now - lastProgress > 30_000) {
        const line = text.split(/[\r\n]/).filter((l) => l.trim()).at(-1);
        if (line) log(`child: ${line.trim()} | RSS ${(lastRss / 2 ** 20).toFixed(0)} MiB, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
        lastProgress = now;
      }
    });
    const sample = () => {
      const s = procStatus(child.pid!);
      if (!s) return;
      lastRss = s.rss;
      peakRss = Math.max(peakRss, s.rss);
      hwm = Math.max(hwm, s.hwm);
    };
    sample();
    const timer = setInterval(sample, SAMPLE_MS);
    const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
    clearInterval(timer);
    const wallSeconds = (performance.now() - started) / 1000;
    const summaryLine = stdout.trim().split('\n').at(-1) ?? '';
    let summary: { documents?: number; upserted?: number; docs_per_s?: number } = {};
    try {
      summary = JSON.parse(summaryLine) as typeof summary;
    } catch {
      // reported below
    }
    const dataBytes = await dirSize(join(work, 'data'));
    const peak = Math.max(peakRss, hwm);
    const result = {
      ok: code === 0 && peak < LIMIT_BYTES,
      exit_code: code,
      file_bytes: generated.bytes,
      file_gb: Math.round(generated.bytes / 1e7) / 100,
      documents: summary.documents ?? null,
      generated_documents: generated.documents,
      peak_rss_mib: Math.round((peakRss / 2 ** 20) * 10) / 10,
      vm_hwm_mib: Math.round((hwm / 2 ** 20) * 10) / 10,
      limit_mib: LIMIT_BYTES / 2 ** 20,
      wall_s: Math.round(wallSeconds * 10) / 10,
      docs_per_s: Math.round((generated.documents / wallSeconds) * 10) / 10,
      mb_per_s: Math.round((generated.bytes / 1e6 / wallSeconds) * 10) / 10,
      data_dir_gb: Math.round(dataBytes / 1e7) / 100,
      generate_s: Math.round(generateSeconds),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (code !== 0) {
      log(`sextant index exited with ${code}:\n${stderrTail}`);
      return 1;
    }
    if (peak >= LIMIT_BYTES) {
      log(`peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB is at or over the 1 GiB limit`);
      return 1;
    }
    return 0;
  } finally {
    if (values.keep) log(`kept ${work}`);
    await cleanup();
  }
}

async function dirSize(path: string): Promise<number> {
  let total = 0;
  try {
    for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
      if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
    }
  } catch {
    // no data dir (the run failed early)
  }
  return total;
}

process.exitCode = await main();
