/**
 * tsx scripts/measure-fairness-gate.ts — how far training moves groups of documents from exposure
 * parity when nothing favours them: the figure behind DEFAULT_FAIRNESS_MARGIN
 * (src/lifecycle/training/fairness.ts). Each dataset's corpus is indexed on use-lite@1 with
 * metadata fields derived from the documents (`hash2` / `hash4`: the id's SHA-256 into 2 or 4
 * buckets, groups no model can see; `length`: short / medium / long by word count, terciles;
 * `initial`: the title's first letter, a-m or other), its queries registered as the evaluation
 * set, then one adapter is trained per field with the fairness check at margin 10 (never
 * refusing), and each field's disparity (the largest |exposure ÷ collection share - 1| over its
 * groups) before and after, its change, and each group's ratio are printed.
 *
 * SEXTANT_DATASETS=cranfield,cisi   datasets to run (names under ../shared/datasets)
 * SEXTANT_KIND=adapter|static       kind to train (default adapter)
 * SEXTANT_MODELS_DIR=<dir>          copy use-lite from there instead of converting it
 * SEXTANT_THREADS=<n>               ORT threads (default: all cores)
 */
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { registerEvalSet } from '../src/lifecycle/eval/eval-set.ts';
import type { TrainingKind } from '../src/lifecycle/training/train.ts';
import { setLogLevel } from '../src/log.ts';
import { corpusDocuments, datasetDir, readCorpus, type BeirDoc } from './lib/beir.ts';
import { withScratchRuntime } from './lib/scratch-runtime.ts';

const THREADS = Number(process.env.SEXTANT_THREADS ?? cpus().length);
const DATASETS = (process.env.SEXTANT_DATASETS ?? 'cranfield,cisi').split(',');
const KIND: TrainingKind = process.env.SEXTANT_KIND === 'static' ? 'static' : 'adapter';
const FIELDS = ['hash2', 'hash4', 'length', 'initial'] as const;
const BATCH = 256;

const words = (d: BeirDoc) => `${d.title} ${d.text}`.split(/\s+/).filter(Boolean).length;

function fieldsOf(docs: readonly BeirDoc[]): Map<string, Record<string, string>> {
  const lengths = docs.map(words).sort((a, b) => a - b);
  const [t1, t2] = [lengths[Math.floor(lengths.length / 3)]!, lengths[Math.floor((2 * lengths.length) / 3)]!];
  return new Map(
    docs.map((d) => {
      const h = createHash('sha256').update(d._id).digest()[0]!;
      const n = words(d);
      const initial = (d.title.trim() || d.text.trim())[0]?.toLowerCase() ?? '';
      return [d._id, { hash2: `h${h % 2}`, hash4: `h${h % 4}`, length: n <= t1 ? 'short' : n <= t2 ? 'medium' : 'long', initial: initial >= 'a' && initial <= 'm' ? 'a-m' : 'other' }];
    }),
  );
}

async function main(): Promise<void> {
  setLogLevel('warn');
  await withScratchRuntime('measure-fairness', THREADS, async (runtime) => {
    for (const name of DATASETS) {
      const dir = datasetDir(name);
      if (!dir) {
        console.error(`${name}: ../shared/datasets/${name} not found; skipped`);
        continue;
      }
      const corpus = readCorpus(dir).filter((d) => d.text.trim() || d.title.trim());
      const fields = fieldsOf(corpus);
      const docs = corpusDocuments(corpus).map((d) => ({ ...d, metadata: fields.get(d.id)! }));
      await runtime.service.createCollection({ name, model: 'use-lite@1' });
      for (let i = 0; i < docs.length; i += BATCH) await runtime.service.upsertDocuments(name, docs.slice(i, i + BATCH));
      registerEvalSet(runtime.lifecycle.eval, name, dir);
      for (const field of FIELDS) {
        const t0 = performance.now();
        const result = await runtime.lifecycle.train(name, { kind: KIND, fairness: { groupBy: field, margin: 10 } });
        const f = result.gate.fairness!;
        console.log(
          JSON.stringify({
            dataset: name,
            kind: KIND,
            field,
            queries: f.queries,
            disparity: { before: f.before?.disparity, after: f.after?.disparity, change: f.change },
            groups: f.groups.map((g) => ({ value: g.value, documents: g.documents, before: +g.before.value.toFixed(4), after: +g.after.value.toFixed(4) })),
            check: f.text,
            ndcg_gate: result.gate.reason.replace(/; fairness by.*$/, ''),
            train_s: Math.round((performance.now() - t0) / 1000),
          }),
        );
      }
    }
  });
}

await main();
