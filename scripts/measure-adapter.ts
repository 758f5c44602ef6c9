/**
 * tsx scripts/measure-adapter.ts — label-free adapter training on Cranfield and CISI
 * (../shared/datasets/{cranfield,cisi}), measured against the targets of issue 13:
 *   dense nDCG@10 on the real queries: Cranfield >= 0.21 (base ~0.186-0.195), CISI >= 0.28
 *   (base ~0.265); adapter training time <= the time to embed the corpus with use-lite@1.
 *
 * Per dataset: embed the corpus (title + text) with the product's engine, 32 concurrent
 * one-document calls as in bench:embed; make pseudo-queries (src/training/pseudo-queries.ts,
 * seed 7), hold out 10% of the documents' queries for validation, embed the rest as 'query';
 * train the adapter (both sides, the research note's recipe); then score the real queries by exact
 * cosine top-10 before and after (queries and documents through the adapter).
 * Prints a table and one JSON line. SEXTANT_MODELS_DIR reuses converted models.
 */
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddingEngine, type EmbedKind } from '../src/embedding/engine.ts';
import { setLogLevel } from '../src/log.ts';
import { ModelRegistry } from '../src/models/registry.ts';
import { convertUseLite } from '../src/models/use-lite/convert.ts';
import { applyAdapter, trainAdapter, type AdapterTrainingResult } from '../src/training/adapter.ts';
import type { AdapterSides } from '../src/training/graphs.ts';
import { pseudoQueries, splitByDocument } from '../src/training/pseudo-queries.ts';
import { datasetDir, docText, readCorpus, readQrels, readQueries } from './lib/beir.ts';
import { embedAll, meanNdcg } from './lib/training-measure.ts';

const THREADS = Number(process.env.SEXTANT_THREADS ?? cpus().length);
const TARGETS: Record<string, number> = { cranfield: 0.21, cisi: 0.28 };

interface Row {
  dataset: string;
  docs: number;
  pseudoQueries: number;
  embedCorpusS: number;
  embedPseudoS: number;
  trainS: Record<AdapterSides, number>;
  base: number;
  after: Record<AdapterSides, number>;
  target: number;
  history: AdapterTrainingResult['history'];
}

async function measure(name: string, engine: EmbeddingEngine): Promise<Row | undefined> {
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

  await embedAll(engine, corpus.slice(0, 100).map(docText), 'document'); // warm the arena at this concurrency
  const corpusEmbedding = await embedAll(engine, corpus.map(docText), 'document');
  const docs = corpusEmbedding.vectors;

  const pseudo = pseudoQueries(corpus.map((d) => ({ id: d._id, title: d.title || null, text: d.text })), { seed: 7 });
  const split = splitByDocument(pseudo, { seed: 7, validationFraction: 0.1 });
  const embedded = await embedAll(engine, [...split.train, ...split.validation].map((q) => q.text), 'query');
  const trainQ = embedded.vectors.slice(0, split.train.length);
  const validQ = embedded.vectors.slice(split.train.length);

  const real = (await embedAll(engine, queries.map((q) => q.text), 'query')).vectors;
  const qrels = queries.map((q) => qrelsAll.get(q._id)!);
  const base = meanNdcg(real, docs, docIds, qrels);

  const trainS = {} as Record<AdapterSides, number>;
  const after = {} as Record<AdapterSides, number>;
  let history: AdapterTrainingResult['history'] = [];
  for (const sides of ['both', 'queries'] as const) {
    const started = performance.now();
    const result = await trainAdapter({
      queries: trainQ,
      positives: split.train.map((q) => index.get(q.docId)!),
      documents: docs,
      validation: { queries: validQ, positives: split.validation.map((q) => index.get(q.docId)!) },
      sides,
      seed: 7,
      threads: THREADS,
    });
    trainS[sides] = (performance.now() - started) / 1000;
    const mappedDocs = sides === 'both' ? applyAdapter(result.W, docs) : docs;
    after[sides] = meanNdcg(applyAdapter(result.W, real), mappedDocs, docIds, qrels);
    if (sides === 'both') history = result.history;
  }
  return {
    dataset: name,
    docs: docs.length,
    pseudoQueries: pseudo.length,
    embedCorpusS: corpusEmbedding.seconds,
    embedPseudoS: embedded.seconds,
    trainS,
    base,
    after,
    target: TARGETS[name]!,
    history,
  };
}

async function main(): Promise<void> {
  setLogLevel('warn');
  const modelsDir = process.env.SEXTANT_MODELS_DIR ? resolve(process.env.SEXTANT_MODELS_DIR) : mkdtempSync(join(tmpdir(), 'sextant-adapter-'));
  await convertUseLite(modelsDir);
  const registry = new ModelRegistry(modelsDir);
  const version = await registry.resolve('use-lite@1');
  const engine = await EmbeddingEngine.load(version, { device: 'cpu', threads: THREADS, batchTokens: 8192, batchWaitMs: 2, queueMax: 4096 }, registry);
  const rows: Row[] = [];
  try {
    for (const name of ['cranfield', 'cisi']) {
      const row = await measure(name, engine);
      if (row) rows.push(row);
    }
  } finally {
    await engine.close();
  }
  const f = (x: number, digits = 3) => x.toFixed(digits);
  console.log(`\nuse-lite@1, ${THREADS} threads; nDCG@10 dense, exact cosine; adapter: epochs 4, batch 256, lr 1e-3, tau 0.05, l2 1e-2, seed 7`);
  console.log('| dataset | docs | pseudo-queries | embed corpus s | train (both) s | train (queries) s | base | both sides | queries only | target |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.dataset} | ${r.docs} | ${r.pseudoQueries} | ${f(r.embedCorpusS, 2)} | ${f(r.trainS.both, 2)} | ${f(r.trainS.queries, 2)} | ${f(r.base)} | ${f(r.after.both)} | ${f(r.after.queries)} | ${r.target} |`,
    );
    for (const h of r.history) console.log(`  ${r.dataset} epoch ${h.epoch}: loss ${f(h.loss)}, validation MRR@10 ${f(h.validationMrrBefore ?? 0)} -> ${f(h.validationMrrAfter ?? 0)}`);
  }
  console.log(
    JSON.stringify({
      threads: THREADS,
      results: rows.map((r) => ({
        dataset: r.dataset,
        embed_corpus_s: r.embedCorpusS,
        embed_pseudo_queries_s: r.embedPseudoS,
        train_s: r.trainS,
        ndcg10: { base: r.base, both: r.after.both, queries: r.after.queries },
        meets_quality: r.after.both >= r.target,
        meets_time: r.trainS.both <= r.embedCorpusS,
      })),
    }),
  );
}

await main();
