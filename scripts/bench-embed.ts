/**
 * npm run bench:embed — embedding throughput and latency on the Cranfield corpus (title + text).
 *
 * Side by side, in one process, on the same ONNX file and thread count:
 *   engine   our EmbeddingEngine fed by 32 concurrent callers (one document per call)
 *   ceiling  a raw InferenceSession.run loop over pre-tokenized, length-sorted batches of 32
 *   tfjs     the original USE-Lite TF.js graph on tfjs-backend-wasm, batches of 32 (fp32 only)
 * plus p50/p99 latency of single-text embeds at 1, 8 and 32 concurrent callers, for fp32 and int8,
 * and a static model trained on Cranfield against its parent on queries (static_ratio_vs_parent).
 * Prints a table, appends it to BENCHMARKS.md, and ends with one JSON line.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { EmbeddingEngine } from '../src/embedding/engine.ts';
import { createSession } from '../src/embedding/session.ts';
import { setLogLevel } from '../src/log.ts';
import { ModelRegistry, primaryOnnx, type ModelVersion } from '../src/models/registry.ts';
import { convertUseLite } from '../src/models/use-lite/convert.ts';
import { datasetDir, docText, readCorpus, readQueries } from './lib/beir.ts';
import { staticVsParent } from './lib/static-throughput.ts';
import { loadTfjsUse } from './lib/tfjs-use.ts';

const MFLOP_PER_TOKEN = 9.3;
const CONCURRENCY = 32;
const BATCH = 32;
const THREADS = Number(process.env.SEXTANT_THREADS ?? cpus().length);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function engineThroughput(engine: EmbeddingEngine, texts: string[]): Promise<{ seconds: number; tokens: number }> {
  let next = 0;
  let tokens = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < texts.length) {
        const text = texts[next++]!;
        const out = await engine.embed([text]);
        tokens += out.tokenCounts[0]!;
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, tokens };
}

async function ceilingThroughput(engine: EmbeddingEngine, version: ModelVersion, texts: string[]): Promise<{ seconds: number; tokens: number }> {
  const { session } = await createSession(join(version.dir, primaryOnnx(version.manifest).path), 'cpu', THREADS);
  const encoded = texts.map((t) => engine.tokenize(t).ids).sort((a, b) => a.length - b.length);
  const batches: { ids: ort.Tensor; mask: ort.Tensor }[] = [];
  for (let i = 0; i < encoded.length; i += BATCH) {
    const rows = encoded.slice(i, i + BATCH);
    const width = rows.at(-1)!.length;
    const ids = new BigInt64Array(rows.length * width);
    const mask = new BigInt64Array(rows.length * width);
    rows.forEach((r, b) => r.forEach((id, t) => ((ids[b * width + t] = BigInt(id)), (mask[b * width + t] = 1n))));
    batches.push({ ids: new ort.Tensor('int64', ids, [rows.length, width]), mask: new ort.Tensor('int64', mask, [rows.length, width]) });
  }
  const { inputIds, attentionMask } = version.manifest.inputs;
  await session.run({ [inputIds]: batches.at(-1)!.ids, [attentionMask]: batches.at(-1)!.mask }); // warm-up
  const started = performance.now();
  for (const b of batches) await session.run({ [inputIds]: b.ids, [attentionMask]: b.mask });
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return { seconds, tokens: encoded.reduce((n, e) => n + e.length, 0) };
}

async function latency(engine: EmbeddingEngine, queries: string[], concurrency: number, requests: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const q = queries[next++ % queries.length]!;
        const t0 = performance.now();
        await engine.embed([q], 'query');
        times.push(performance.now() - t0);
      }
    }),
  );
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

async function main(): Promise<void> {
  const dir = datasetDir('cranfield');
  if (!dir) {
    console.error('bench:embed needs ../shared/datasets/cranfield (not found); nothing measured.');
    process.exitCode = 1;
    return;
  }
  setLogLevel('warn');
  const docs = readCorpus(dir).map(docText).filter((t) => t.trim());
  const queries = readQueries(dir).map((q) => q.text);
  const modelsDir = process.env.SEXTANT_MODELS_DIR ? resolve(process.env.SEXTANT_MODELS_DIR) : mkdtempSync(join(tmpdir(), 'sextant-bench-'));
  await convertUseLite(modelsDir);
  const registry = new ModelRegistry(modelsDir);

  // The static model (issue 13) next to its parent, on queries (trained on Cranfield first). It
  // runs first: measured after the sections below (TF.js wasm among them), the same comparison
  // gave 32x, against 44-47x in a process of its own (2026-12-02).
  const statik = await staticVsParent(modelsDir, dir, THREADS);

  type Row = { dtype: string; engine: number; ceiling: number; tokensPerS: number; lat: Record<number, { p50: number; p99: number }> };
  const rows: Row[] = [];
  let tfjsDocsPerS = 0;
  let tfjsTokens = 0;
  for (const ref of ['use-lite@1', 'use-lite@1-int8']) {
    const version = await registry.resolve(ref);
    const engine = await EmbeddingEngine.load(version, { device: 'cpu', threads: THREADS, batchTokens: 8192, batchWaitMs: 2, queueMax: 4096 }, registry);
    await engineThroughput(engine, docs.slice(0, 200)); // warm the arena at this concurrency
    // Alternate engine and ceiling runs so drift in machine load hits both alike; keep the best of each.
    let best = { engine: { seconds: Infinity, tokens: 0 }, ceiling: { seconds: Infinity, tokens: 0 } };
    for (let round = 0; round < 2; round++) {
      const e = await engineThroughput(engine, docs);
      const c = await ceilingThroughput(engine, version, docs);
      if (e.seconds < best.engine.seconds) best = { ...best, engine: e };
      if (c.seconds < best.ceiling.seconds) best = { ...best, ceiling: c };
    }
    const lat: Row['lat'] = {};
    for (const c of [1, 8, 32]) lat[c] = await latency(engine, queries, c, c === 1 ? 200 : 640);
    rows.push({
      dtype: primaryOnnx(version.manifest).dtype,
      engine: docs.length / best.engine.seconds,
      ceiling: docs.length / best.ceiling.seconds,
      tokensPerS: best.engine.tokens / best.engine.seconds,
      lat,
    });
    await engine.close();
  }

  {
    const tfjs = await loadTfjsUse();
    const sample = docs.slice(0, 320);
    await tfjs.embed(sample.slice(0, BATCH));
    const started = performance.now();
    for (let i = 0; i < sample.length; i += BATCH) await tfjs.embed(sample.slice(i, i + BATCH));
    const seconds = (performance.now() - started) / 1000;
    tfjsDocsPerS = sample.length / seconds;
    tfjsTokens = sample.reduce((n, t) => n + Math.min(128, tfjs.tokenize(t).length), 0) / seconds;
  }


  const fp32 = rows[0]!;
  const int8 = rows[1]!;
  const gflops = (tokensPerS: number) => (tokensPerS * MFLOP_PER_TOKEN) / 1000;
  const date = new Date().toISOString().slice(0, 10);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `### bench:embed — ${date} — ${cpu}, ${cpus().length} cores, ${THREADS} ORT threads, Node ${process.version}, onnxruntime-node ${ort.env.versions.node}`,
    '',
    `Cranfield corpus, ${docs.length} documents (title + text, truncated to 128 tokens), ${CONCURRENCY} concurrent callers for the engine.`,
    '',
    '| path | docs/s | tokens/s | GFLOP/s | vs ceiling | p50/p99 ms @1 | @8 | @32 |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.flatMap((r) => [
      `| engine ${r.dtype} | ${r.engine.toFixed(1)} | ${r.tokensPerS.toFixed(0)} | ${gflops(r.tokensPerS).toFixed(1)} | ${(r.engine / r.ceiling).toFixed(3)} | ${r.lat[1]!.p50.toFixed(1)}/${r.lat[1]!.p99.toFixed(1)} | ${r.lat[8]!.p50.toFixed(1)}/${r.lat[8]!.p99.toFixed(1)} | ${r.lat[32]!.p50.toFixed(1)}/${r.lat[32]!.p99.toFixed(1)} |`,
      `| raw ORT ${r.dtype} (ceiling) | ${r.ceiling.toFixed(1)} | | | 1.000 | | | |`,
    ]),
    `| TF.js wasm fp32 (original) | ${tfjsDocsPerS.toFixed(1)} | ${tfjsTokens.toFixed(0)} | ${gflops(tfjsTokens).toFixed(1)} | | | | |`,
    '',
    `engine fp32 vs TF.js: ${(fp32.engine / tfjsDocsPerS).toFixed(1)}x; int8 vs fp32 engine: ${(int8.engine / fp32.engine).toFixed(2)}x`,
    '',
    `queries, one per call, ${CONCURRENCY} callers: use-lite@1 ${statik.parentPerS.toFixed(0)}/s, static model ${statik.model} ${statik.staticPerS.toFixed(0)}/s (${(statik.staticPerS / statik.parentPerS).toFixed(1)}x)`,
    '',
  ];
  console.log(lines.join('\n'));
  const benchFile = resolve(import.meta.dirname, '..', 'BENCHMARKS.md');
  if (!existsSync(benchFile)) writeFileSync(benchFile, '# Benchmarks\n\nAppended by the `npm run bench:*` scripts; newest last.\n\n');
  appendFileSync(benchFile, `${lines.join('\n')}\n`);
  console.log(
    JSON.stringify({
      engine_docs_per_s: +fp32.engine.toFixed(2),
      ceiling_docs_per_s: +fp32.ceiling.toFixed(2),
      tfjs_docs_per_s: +tfjsDocsPerS.toFixed(2),
      ratio_vs_ceiling: +(fp32.engine / fp32.ceiling).toFixed(3),
      ratio_vs_tfjs: +(fp32.engine / tfjsDocsPerS).toFixed(2),
      engine_tokens_per_s: +fp32.tokensPerS.toFixed(0),
      gflops: +gflops(fp32.tokensPerS).toFixed(2),
      int8_engine_docs_per_s: +int8.engine.toFixed(2),
      int8_ceiling_docs_per_s: +int8.ceiling.toFixed(2),
      int8_ratio_vs_ceiling: +(int8.engine / int8.ceiling).toFixed(3),
      latency_ms: Object.fromEntries(rows.map((r) => [r.dtype, r.lat])),
      static_docs_per_s: +statik.staticPerS.toFixed(1),
      static_parent_docs_per_s: +statik.parentPerS.toFixed(1),
      static_ratio_vs_parent: +(statik.staticPerS / statik.parentPerS).toFixed(1),
    }),
  );
}

await main();
