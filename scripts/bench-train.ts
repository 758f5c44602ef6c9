/**
 * npm run bench:train — training time against embedding time, side by side in one run, on
 * Cranfield (../shared/datasets/cranfield; title + text):
 *   parent_embed_s   use-lite@1 embedding the corpus (32 concurrent one-document calls, as bench:embed)
 *   adapter_train_s  a whole adapter training run (trainCollection: pseudo-queries embedded,
 *                    trained, validated, written), on the indexed collection
 *   static_train_s   the same for a static model (token table, distillation, contrastive)
 * and the static model's query throughput next to its parent's (one query per call, 32 callers):
 *   static_docs_per_s, parent_docs_per_s, static_ratio_vs_parent.
 * The targets: each training <= parent_embed_s; static >= 50x its parent on queries.
 * Prints a table and ends with one JSON line. SEXTANT_THREADS: ORT threads (default all cores).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { setLogLevel } from '../src/log.ts';
import { convertUseLite } from '../src/models/use-lite/convert.ts';
import { openRuntime } from '../src/runtime.ts';
import { datasetDir, readQueries } from './lib/beir.ts';
import { cranfieldDocuments, indexCollection, queryThroughput } from './lib/static-throughput.ts';
import { embedAll } from './lib/training-measure.ts';

const THREADS = Number(process.env.SEXTANT_THREADS ?? cpus().length);

async function main(): Promise<void> {
  setLogLevel('warn');
  const dir = datasetDir('cranfield');
  if (!dir) {
    console.error('bench:train needs ../shared/datasets/cranfield');
    process.exit(1);
  }
  const root = mkdtempSync(join(tmpdir(), 'sextant-bench-train-'));
  try {
    const modelsDir = join(root, 'models');
    await convertUseLite(modelsDir);
    const runtime = await openRuntime(loadConfig({ modelsDir, dataDir: join(root, 'data'), threads: THREADS }, {}), { startJobs: false });
    try {
      const docs = cranfieldDocuments(dir);
      const texts = docs.map((d) => (d.title ? `${d.title}\n${d.text}` : d.text));
      const parent = await runtime.service.engines.get('use-lite@1');
      await embedAll(parent, texts.slice(0, 64), 'document'); // warm-up
      const parentEmbed = await embedAll(parent, texts, 'document');

      await indexCollection(runtime, 'cranfield', docs);

      let t0 = performance.now();
      const adapter = await runtime.lifecycle.train('cranfield', { kind: 'adapter' });
      const adapterS = (performance.now() - t0) / 1000;
      t0 = performance.now();
      const statik = await runtime.lifecycle.train('cranfield', { kind: 'static' });
      const staticS = (performance.now() - t0) / 1000;

      const queries = readQueries(dir).map((q) => q.text);
      const { parentPerS, staticPerS } = await queryThroughput(parent, await runtime.service.engines.get(statik.model), queries);

      const f = (x: number, d = 2) => x.toFixed(d);
      console.log(`\nbench:train — Cranfield, ${docs.length} documents, ${THREADS} threads, ${new Date().toISOString().slice(0, 10)}`);
      console.log('| | seconds | ÷ parent embed |');
      console.log('|---|---|---|');
      console.log(`| use-lite@1 embeds the corpus | ${f(parentEmbed.seconds)} | 1.00 |`);
      console.log(`| adapter training (${adapter.model}, gate ${adapter.gate.passed ? 'passed' : 'failed'}) | ${f(adapterS)} | ${f(adapterS / parentEmbed.seconds)} |`);
      console.log(`| static training (${statik.model}, gate ${statik.gate.passed ? 'passed' : 'failed'}) | ${f(staticS)} | ${f(staticS / parentEmbed.seconds)} |`);
      console.log(`\nquery embedding, one per call, 32 callers: use-lite@1 ${f(parentPerS, 0)}/s, ${statik.model} ${f(staticPerS, 0)}/s (${f(staticPerS / parentPerS, 1)}x)`);
      console.log(
        JSON.stringify({
          documents: docs.length,
          threads: THREADS,
          parent_embed_s: parentEmbed.seconds,
          adapter_train_s: adapterS,
          static_train_s: staticS,
          adapter_ratio_vs_embed: adapterS / parentEmbed.seconds,
          static_ratio_vs_embed: staticS / parentEmbed.seconds,
          parent_docs_per_s: parentPerS,
          static_docs_per_s: staticPerS,
          static_ratio_vs_parent: staticPerS / parentPerS,
        }),
      );
    } finally {
      await runtime.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
