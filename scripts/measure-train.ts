/**
 * tsx scripts/measure-train.ts — trainCollection (src/lifecycle/training/train.ts) end to end on
 * a BEIR data dir (default Cranfield, ../shared/datasets/cranfield): the corpus indexed through
 * the composition root (openRuntime, service.upsertDocuments in batches) on use-lite@1, its real
 * queries registered as the collection's evaluation set, then one training run per kind; prints
 * each result as JSON (figures before/after on held-out pseudo-queries and the evaluation set,
 * the gate and its reason, the data counts) and the times.
 *
 * SEXTANT_DATASETS=cranfield,cisi   datasets to run (names under ../shared/datasets)
 * SEXTANT_KINDS=adapter,static      kinds to train (default adapter)
 * SEXTANT_GATE=dense|hybrid         the gate's mode (default dense)
 * SEXTANT_MODELS_DIR=<dir>          copy use-lite from there instead of converting it
 * SEXTANT_THREADS=<n>               ORT threads (default: all cores)
 */
import { cpus } from 'node:os';
import { registerEvalSet } from '../src/lifecycle/eval/eval-set.ts';
import type { TrainingKind } from '../src/lifecycle/training/train.ts';
import { setLogLevel } from '../src/log.ts';
import { corpusDocuments, datasetDir, readCorpus } from './lib/beir.ts';
import { withScratchRuntime } from './lib/scratch-runtime.ts';

const THREADS = Number(process.env.SEXTANT_THREADS ?? cpus().length);
const DATASETS = (process.env.SEXTANT_DATASETS ?? 'cranfield').split(',');
const KINDS = (process.env.SEXTANT_KINDS ?? 'adapter').split(',') as TrainingKind[];
const GATE = process.env.SEXTANT_GATE === 'hybrid' ? 'hybrid' : 'dense';
const BATCH = 256;

async function main(): Promise<void> {
  setLogLevel('warn');
  await withScratchRuntime('measure-train', THREADS, async (runtime) => {
    for (const name of DATASETS) {
      const dir = datasetDir(name);
      if (!dir) {
        console.error(`${name}: ../shared/datasets/${name} not found; skipped`);
        continue;
      }
      const docs = corpusDocuments(readCorpus(dir));
      await runtime.service.createCollection({ name, model: 'use-lite@1' });
      let t0 = performance.now();
      for (let i = 0; i < docs.length; i += BATCH) await runtime.service.upsertDocuments(name, docs.slice(i, i + BATCH));
      const indexS = (performance.now() - t0) / 1000;
      registerEvalSet(runtime.lifecycle.eval, name, dir);
      for (const kind of KINDS) {
        t0 = performance.now();
        const stages: Record<string, number> = {};
        let last = t0;
        let stage = '';
        const result = await runtime.lifecycle.train(name, {
          kind,
          gate: GATE,
          onProgress: (p) => {
            if (p.stage === stage) return;
            const now = performance.now();
            if (stage) stages[stage] = (now - last) / 1000;
            stage = p.stage;
            last = now;
          },
        });
        if (stage) stages[stage] = (performance.now() - last) / 1000;
        const trainS = (performance.now() - t0) / 1000;
        const { lineage, ...rest } = result;
        console.log(JSON.stringify({ dataset: name, documents: docs.length, index_s: indexS, train_s: trainS, stage_s: stages, ...rest, hyperparameters: lineage.hyperparameters }, null, 2));
      }
    }
  });
}

await main();
