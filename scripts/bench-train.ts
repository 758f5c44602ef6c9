/**
 * npm run bench:train — training time against embedding time, side by side in one run, on
 * Cranfield (../shared/datasets/cranfield; title + text):
 *   parent_embed_s   use-lite@1 embedding the corpus (32 concurrent one-document calls, as bench:embed)
 *   adapter_train_s  the adapter's training (trainCollection's 'training' stage: the training
 *                    worker's optimisation over the pseudo-query vectors, 4 epochs)
 *   static_train_s   the static model's training (the parent run on every vocabulary id alone,
 *                    distillation, contrastive)
 *   adapter_job_s, static_job_s  the whole training job: reading, embedding the ~5,800
 *                    pseudo-queries and held-out queries with the parent (with BM25 candidates
 *                    read meanwhile), training, validation, writing the version
 *   pseudo_query_embed_s  the adapter job's embedding stage alone
 * and the static model's query throughput next to its parent's (one query per call, 32 callers):
 *   static_docs_per_s, parent_docs_per_s, static_ratio_vs_parent.
 * The targets: each training <= parent_embed_s; static >= 50x its parent on queries.
 * Prints a table and ends with one JSON line. SEXTANT_THREADS: ORT threads (default all cores);
 * SEXTANT_MODELS_DIR: copy use-lite from there instead of converting it.
 */
import { cpus } from 'node:os';
import { setLogLevel } from '../src/log.ts';
import type { Runtime } from '../src/runtime.ts';
import { datasetDir, readQueries } from './lib/beir.ts';
import { cranfieldDocuments, indexCollection, queryThroughput } from './lib/static-throughput.ts';
import { embedAll } from './lib/training-measure.ts';
import { withScratchRuntime } from './lib/scratch-runtime.ts';
import type { TrainingStage } from '../src/lifecycle/training/train.ts';

const THREADS = Number(process.env.SEXTANT_THREADS ?? cpus().length);

async function main(): Promise<void> {
  setLogLevel('warn');
  const dir = datasetDir('cranfield');
  if (!dir) {
    console.error('bench:train needs ../shared/datasets/cranfield');
    process.exit(1);
  }
  await withScratchRuntime('bench-train', THREADS, async (runtime) => {
    const docs = cranfieldDocuments(dir);
    const texts = docs.map((d) => (d.title ? `${d.title}\n${d.text}` : d.text));
    const parent = await runtime.service.engines.get('use-lite@1');
    await embedAll(parent, texts.slice(0, 64), 'document'); // warm-up
    const parentEmbed = await embedAll(parent, texts, 'document');

    await indexCollection(runtime, 'cranfield', docs);

    const adapter = await timedTraining(runtime, 'adapter');
    const statik = await timedTraining(runtime, 'static');

    const queries = readQueries(dir).map((q) => q.text);
    const { parentPerS, staticPerS } = await queryThroughput(parent, await runtime.service.engines.get(statik.result.model), queries);

    const f = (x: number, d = 2) => x.toFixed(d);
    const embedS = parentEmbed.seconds;
    const row = (label: string, s: number) => console.log(`| ${label} | ${f(s)} | ${f(s / embedS)} |`);
    console.log(`\nbench:train — Cranfield, ${docs.length} documents, ${THREADS} threads, ${new Date().toISOString().slice(0, 10)}`);
    console.log('| | seconds | ÷ parent embed |');
    console.log('|---|---|---|');
    row('use-lite@1 embeds the corpus', embedS);
    for (const [kind, t] of [['adapter', adapter], ['static', statik]] as const) {
      row(`${kind} training (${t.result.model}, gate ${t.result.gate.passed ? 'passed' : 'failed'})`, t.stages.training);
      row(`${kind} job, whole (embedding ${f(t.stages.embedding)} s, validating ${f(t.stages.validating)} s, writing ${f(t.stages.writing)} s)`, t.totalS);
    }
    console.log(`\nquery embedding, one per call, 32 callers: use-lite@1 ${f(parentPerS, 0)}/s, ${statik.result.model} ${f(staticPerS, 0)}/s (${f(staticPerS / parentPerS, 1)}x)`);
    console.log(
      JSON.stringify({
        documents: docs.length,
        threads: THREADS,
        parent_embed_s: embedS,
        adapter_train_s: adapter.stages.training,
        static_train_s: statik.stages.training,
        adapter_ratio_vs_embed: adapter.stages.training / embedS,
        static_ratio_vs_embed: statik.stages.training / embedS,
        adapter_job_s: adapter.totalS,
        static_job_s: statik.totalS,
        adapter_job_ratio_vs_embed: adapter.totalS / embedS,
        static_job_ratio_vs_embed: statik.totalS / embedS,
        pseudo_query_embed_s: adapter.stages.embedding,
        parent_docs_per_s: parentPerS,
        static_docs_per_s: staticPerS,
        static_ratio_vs_parent: staticPerS / parentPerS,
      }),
    );
  });
}

/** One training job with the seconds of each stage, from its progress reports (a stage lasts until the next begins). */
async function timedTraining(runtime: Runtime, kind: 'adapter' | 'static') {
  const stages: Record<TrainingStage, number> = { embedding: 0, training: 0, validating: 0, writing: 0 };
  const t0 = performance.now();
  let stage: TrainingStage | undefined;
  let since = t0;
  const result = await runtime.lifecycle.train('cranfield', {
    kind,
    onProgress: (p) => {
      if (p.stage === stage) return;
      const now = performance.now();
      if (stage) stages[stage] += (now - since) / 1000;
      stage = p.stage;
      since = now;
    },
  });
  const end = performance.now();
  if (stage) stages[stage] += (end - since) / 1000;
  return { result, stages, totalS: (end - t0) / 1000 };
}

await main();
