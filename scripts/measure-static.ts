/**
 * tsx scripts/measure-static.ts — the static model (src/training/static.ts) trained from use-lite@1
 * on Cranfield and CISI (../shared/datasets/{cranfield,cisi}), against the research note's
 * figures (untrained 0.145 / 0.171, distilled 0.223 / 0.281, contrastive 0.255 / 0.292) and the
 * issue's targets (>= 0.24 Cranfield, >= 0.28 CISI; training time <= corpus embedding time).
 *
 * Per dataset: embed the corpus with the engine (timed, as in measure-adapter.ts) — the teacher's
 * document vectors; pseudo-queries (seed 7, 10% of documents held out for validation), embedded
 * as 'query' by the engine — the teacher's query vectors; token ids from the engine's tokenizer.
 * Then the initial table + distillation (one trainStatic call, contrastive off), and contrastive
 * from the distilled table (a second call, distillation off), so the three stages can be scored:
 * dense nDCG@10 on the real queries, static vectors on both sides, exact cosine.
 * SEXTANT_CHECK_SERVING=1: also writes the final model with writeStaticModel into a copy of the
 * models dir and compares the engine's vectors for 3 texts with staticVectors.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddingEngine, type EmbedKind } from '../src/embedding/engine.ts';
import { loadTokenizer, type TextTokenizer } from '../src/embedding/tokenizer.ts';
import { setLogLevel } from '../src/log.ts';
import { ModelRegistry, primaryOnnx, type ModelVersion } from '../src/models/registry.ts';
import { tokenizerIdCount, writeStaticModel } from '../src/models/trained/static.ts';
import { convertUseLite } from '../src/models/use-lite/convert.ts';
import { pseudoQueries, splitByDocument } from '../src/training/pseudo-queries.ts';
import { onnxTokenEmbedder, staticVectors, trainStatic, type StaticEpoch } from '../src/training/static.ts';
import { datasetDir, docText, readCorpus, readQrels, readQueries } from './lib/beir.ts';
import { embedAll, meanNdcg } from './lib/training-measure.ts';

const THREADS = Number(process.env.SEXTANT_THREADS ?? cpus().length);
const TARGETS: Record<string, number> = { cranfield: 0.24, cisi: 0.28 };
const DATASETS = (process.env.SEXTANT_DATASETS ?? 'cranfield,cisi').split(',');

function rows(x: Float32Array, d: number): Float32Array[] {
  return Array.from({ length: x.length / d }, (_, i) => x.subarray(i * d, (i + 1) * d));
}

interface Row {
  dataset: string;
  docs: number;
  pseudoQueries: number;
  embedCorpusS: number;
  tableS: number;
  distillS: number;
  contrastiveS: number;
  teacher: number;
  untrained: number;
  distilled: number;
  contrastive: number;
  target: number;
  history: StaticEpoch[];
  serving?: number;
}

async function measure(name: string, engine: EmbeddingEngine, tokenizer: TextTokenizer, version: ModelVersion, vocabulary: number, sourceModels: string): Promise<Row | undefined> {
  const dir = datasetDir(name);
  if (!dir) {
    console.error(`${name}: ../shared/datasets/${name} not found; skipped`);
    return undefined;
  }
  const corpus = readCorpus(dir).filter((d) => docText(d).trim());
  const docIds = corpus.map((d) => d._id);
  const index = new Map(docIds.map((id, i) => [id, i]));
  const qrelsAll = readQrels(dir);
  const queries = readQueries(dir).filter((q) => qrelsAll.has(q._id));
  const prefix = version.manifest.prefixes;
  const ids = (text: string, kind: EmbedKind) => tokenizer.encode((kind === 'query' ? prefix.query : prefix.document) + text).ids;

  await embedAll(engine, corpus.slice(0, 100).map(docText), 'document');
  const corpusEmbedding = await embedAll(engine, corpus.map(docText), 'document');
  const docs = corpusEmbedding.vectors;
  const pseudo = pseudoQueries(corpus.map((d) => ({ id: d._id, title: d.title || null, text: d.text })), { seed: 7 });
  const split = splitByDocument(pseudo, { seed: 7, validationFraction: 0.1 });
  const trainQ = (await embedAll(engine, split.train.map((q) => q.text), 'query')).vectors;
  const real = (await embedAll(engine, queries.map((q) => q.text), 'query')).vectors;
  const qrels = queries.map((q) => qrelsAll.get(q._id)!);
  const teacher = meanNdcg(real, docs, docIds, qrels);

  const docIdsTok = corpus.map((d) => ids(docText(d), 'document'));
  const realTok = queries.map((q) => ids(q.text, 'query'));
  const common = {
    vocabulary,
    documents: docIdsTok,
    documentVectors: docs,
    queries: split.train.map((q) => ids(q.text, 'query')),
    queryVectors: trainQ,
    positives: split.train.map((q) => index.get(q.docId)!),
    validation: { queries: split.validation.map((q) => ids(q.text, 'query')), positives: split.validation.map((q) => index.get(q.docId)!) },
    seed: 7,
    threads: THREADS,
  };
  const onnx = await onnxTokenEmbedder(join(version.dir, primaryOnnx(version.manifest).path), version.manifest, THREADS);
  let t0 = performance.now();
  const first = await trainStatic({ ...common, parent: onnx.embed, distill: { epochs: 0 }, contrastive: { epochs: 0 } });
  const tableS = (performance.now() - t0) / 1000;
  await onnx.release();
  t0 = performance.now();
  const distilled = await trainStatic({ ...common, parent: first.table, contrastive: { epochs: 0 } });
  const distillS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const final = await trainStatic({ ...common, parent: distilled.table, distill: { epochs: 0 } });
  const contrastiveS = (performance.now() - t0) / 1000;

  const score = (table: Float32Array) => {
    const d = table.length / vocabulary;
    return meanNdcg(rows(staticVectors(table, final.weights, realTok), d), rows(staticVectors(table, final.weights, docIdsTok), d), docIds, qrels);
  };
  const row: Row = {
    dataset: name,
    docs: docs.length,
    pseudoQueries: pseudo.length,
    embedCorpusS: corpusEmbedding.seconds,
    tableS,
    distillS,
    contrastiveS,
    teacher,
    untrained: score(first.table),
    distilled: score(distilled.table),
    contrastive: score(final.table),
    target: TARGETS[name]!,
    history: [...distilled.history, ...final.history],
  };
  if (process.env.SEXTANT_CHECK_SERVING === '1') {
    const modelsDir = mkdtempSync(join(tmpdir(), 'sextant-static-serve-'));
    cpSync(sourceModels, modelsDir, { recursive: true });
    const registry = new ModelRegistry(modelsDir);
    const parent = await registry.resolve('use-lite@1');
    const written = await writeStaticModel(modelsDir, parent, final.table, final.weights, {
      collection: name,
      data: { documents: docs.length, pseudoQueries: pseudo.length, feedback: 0 },
      hyperparameters: { recipe: 'static-distill-contrastive' },
      seed: 7,
      validation: { before: {}, after: {} },
    });
    const served = await EmbeddingEngine.load(written, { device: 'cpu', threads: THREADS, batchTokens: 8192, batchWaitMs: 2, queueMax: 64 }, registry);
    try {
      const texts = [queries[0]!.text, docText(corpus[0]!), split.validation[0]!.text];
      const got = (await served.embed(texts, 'document')).vectors;
      const want = rows(staticVectors(final.table, final.weights, texts.map((t) => ids(t, 'document'))), final.dimensions);
      let worst = 0;
      got.forEach((g, i) => g.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - want[i]![j]!)))));
      row.serving = worst;
    } finally {
      await served.close();
    }
  }
  return row;
}

async function main(): Promise<void> {
  setLogLevel('warn');
  const modelsDir = process.env.SEXTANT_MODELS_DIR ? resolve(process.env.SEXTANT_MODELS_DIR) : mkdtempSync(join(tmpdir(), 'sextant-static-'));
  await convertUseLite(modelsDir);
  const registry = new ModelRegistry(modelsDir);
  const version = await registry.resolve('use-lite@1');
  const vocabulary = await tokenizerIdCount(version.dir);
  if (vocabulary === undefined) throw new Error('cannot tell the vocabulary size of use-lite@1');
  const tokenizer = await loadTokenizer(version.dir, version.manifest);
  const engine = await EmbeddingEngine.load(version, { device: 'cpu', threads: THREADS, batchTokens: 8192, batchWaitMs: 2, queueMax: 4096 }, registry);
  const out: Row[] = [];
  try {
    for (const name of DATASETS) {
      const row = await measure(name, engine, tokenizer, version, vocabulary, modelsDir);
      if (row) {
        out.push(row);
        console.error(JSON.stringify(row));
      }
    }
  } finally {
    await engine.close();
  }
  const f = (x: number, digits = 3) => x.toFixed(digits);
  console.log(`\nuse-lite@1 -> static (V ${vocabulary}), ${THREADS} threads; nDCG@10 dense, exact cosine; seed 7`);
  console.log('| dataset | docs | pseudo-queries | embed corpus s | table s | distill s | contrastive s | teacher | untrained | distilled | contrastive | target |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of out) {
    console.log(`| ${r.dataset} | ${r.docs} | ${r.pseudoQueries} | ${f(r.embedCorpusS, 2)} | ${f(r.tableS, 2)} | ${f(r.distillS, 2)} | ${f(r.contrastiveS, 2)} | ${f(r.teacher)} | ${f(r.untrained)} | ${f(r.distilled)} | ${f(r.contrastive)} | ${r.target} |`);
    for (const h of r.history) console.log(`  ${r.dataset} ${h.phase} epoch ${h.epoch}: loss ${f(h.loss)}, validation MRR@10 ${f(h.validationMrrBefore ?? 0)} -> ${f(h.validationMrrAfter ?? 0)}`);
    if (r.serving !== undefined) console.log(`  ${r.dataset} served vs JS: max |diff| ${r.serving.toExponential(2)}`);
  }
}

await main();
