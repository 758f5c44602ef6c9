/**
 * `sextant tune <collection> --dataset <BEIR folder> [--target-recall 0.95] [--dry-run] [--json]`
 * Chooses the hybrid weight (reporting its 2-fold cross-validated nDCG@10) and the smallest
 * efSearch reaching the target ANN recall@10, and stores both as the collection's defaults.
 */
import { InvalidInputError } from '../errors.ts';
import type { TuneResult } from '../lifecycle/eval/tune.ts';
import { configFrom, parse } from './args.ts';
import { openEvalTarget } from './eval-target.ts';

const USAGE = 'usage: sextant tune <collection> --dataset <BEIR folder> [--target-recall 0.95] [--dry-run] [--json]';

export async function tuneCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    dataset: { type: 'string' },
    'target-recall': { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  const [collection, extra] = positionals;
  if (!collection || extra !== undefined || !values.dataset) throw new InvalidInputError(USAGE);
  const targetRecall = values['target-recall'] === undefined ? undefined : Number(values['target-recall']);
  if (targetRecall !== undefined && !(targetRecall > 0 && targetRecall <= 1)) throw new InvalidInputError('--target-recall must be in (0, 1]');

  const target = await openEvalTarget(configFrom(values));
  try {
    const result = await target.tune(collection, values.dataset, { targetRecall, dryRun: values['dry-run'] });
    process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : renderTune(result));
  } finally {
    await target.close();
  }
}

export function renderTune(r: TuneResult): string {
  const f4 = (n: number) => n.toFixed(4);
  const a = r.alpha;
  const lines = [
    `${r.collection} on ${r.dataset}: ${r.queries} judged queries, generation ${r.generation} (${r.model})`,
    '',
    `hybrid alpha: ${a.chosen} (was ${a.previous})`,
    `  nDCG@10 cross-validated (2-fold): ${f4(a['cv_ndcg@10'])}`,
    `  nDCG@10 in-sample at alpha ${a.chosen}: ${f4(a['in_sample_ndcg@10'])} (at ${a.previous}: ${f4(a['previous_ndcg@10'])})`,
    ...a.folds.map((f, i) => `  fold ${i + 1}: alpha ${f.alpha} chosen on the other half (${f4(f['train_ndcg@10'])}), ${f4(f['test_ndcg@10'])} on these ${f.test_queries} queries`),
  ];
  if (r.ef_search) {
    const e = r.ef_search;
    lines.push(
      '',
      `efSearch: ${e.chosen} (was ${e.previous}); ANN recall@10 target ${e.target_recall}${e.reached ? '' : ' NOT reached'}`,
      `  ${e.sweep.map((s) => `ef ${s.ef}: ${f4(s['ann_recall@10'])}`).join(', ')}`,
    );
  } else {
    lines.push('', 'efSearch: not applicable to this backend');
  }
  lines.push('', r.stored ? 'stored as the collection defaults' : 'dry run: nothing stored');
  return `${lines.join('\n')}\n`;
}
