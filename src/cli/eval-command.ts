/**
 * `sextant eval <collection> --dataset <BEIR folder> [--json] [--compare G|M] [--generation N]
 *  [--k 100] [--ef N] [--register [--margin 0.01]] | --unregister`
 * nDCG@10, MRR@10 and Recall@100 per search mode, ANN recall@10 against exact search, and
 * dense search latency; --compare evaluates a second generation (id or model) side by side.
 */
import { InvalidInputError } from '../errors.ts';
import type { EvalResult, ModeMetrics } from '../lifecycle/eval/run.ts';
import { configFrom, parse } from './args.ts';
import { openEvalTarget, type EvalOutput } from './eval-target.ts';

const USAGE =
  'usage: sextant eval <collection> --dataset <BEIR folder> [--json] [--compare <generation|model>] [--generation N] [--k 100] [--ef N] [--register [--margin 0.01]]\n' +
  '       sextant eval <collection> --unregister';

function intFlag(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidInputError(`--${name} must be an integer >= ${min}`);
  return n;
}

export async function evalCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    dataset: { type: 'string' },
    json: { type: 'boolean', default: false },
    compare: { type: 'string' },
    generation: { type: 'string' },
    k: { type: 'string' },
    ef: { type: 'string' },
    register: { type: 'boolean', default: false },
    margin: { type: 'string' },
    unregister: { type: 'boolean', default: false },
  });
  const [collection, extra] = positionals;
  if (!collection || extra !== undefined) throw new InvalidInputError(USAGE);
  if (values.unregister) {
    if (values.dataset || values.register) throw new InvalidInputError('--unregister takes no --dataset or --register');
    const target = await openEvalTarget(configFrom(values));
    try {
      const removed = await target.unregister(collection);
      process.stdout.write(values.json ? `${JSON.stringify({ collection, unregistered: removed })}\n` : removed ? `evaluation set of '${collection}' removed\n` : `'${collection}' has no evaluation set\n`);
    } finally {
      await target.close();
    }
    return;
  }
  if (!values.dataset) throw new InvalidInputError(USAGE);
  const margin = values.margin === undefined ? undefined : Number(values.margin);
  if (margin !== undefined && !(margin >= 0 && margin <= 1)) throw new InvalidInputError('--margin must be between 0 and 1');
  if (margin !== undefined && !values.register) throw new InvalidInputError('--margin only applies with --register');
  const compare = values.compare === undefined ? undefined : /^\d+$/.test(values.compare) ? Number(values.compare) : values.compare;
  const options = {
    generation: intFlag(values.generation, 'generation', 1),
    compare,
    k: intFlag(values.k, 'k', 10),
    ef: intFlag(values.ef, 'ef', 1),
    register: values.register,
    margin,
  };

  const target = await openEvalTarget(configFrom(values));
  try {
    const report = await target.evaluate(collection, values.dataset, options);
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : renderReport(report));
  } finally {
    await target.close();
  }
}

const f4 = (n: number | null | undefined) => (n === null || n === undefined ? '-' : n.toFixed(4));
const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(4)}`;

function metricNames(r: EvalResult): string[] {
  return ['ndcg@10', 'mrr@10', `recall@${r.k}`];
}

export function renderReport(report: EvalOutput): string {
  const lines: string[] = [];
  const other = report.compare?.result;
  const describe = (r: EvalResult) => `generation ${r.generation} (${r.model})`;
  lines.push(
    `${report.collection} on ${report.dataset}: ${report.queries} judged queries, efSearch ${report.ef_search}, hybrid alpha ${report.hybrid_alpha}`,
  );
  if (report.missing_judged_documents > 0) lines.push(`warning: ${report.missing_judged_documents} judged document ids are not in the collection`);
  const names = metricNames(report);
  if (!other) {
    lines.push(describe(report), '');
    lines.push(['mode'.padEnd(8), ...names.map((n) => n.padStart(10))].join(' '));
    for (const [mode, m] of Object.entries(report.modes) as [string, ModeMetrics][]) {
      lines.push([mode.padEnd(8), ...names.map((n) => f4(m[n]).padStart(10))].join(' '));
    }
  } else {
    lines.push(`A: ${describe(report)}    B: ${describe(other)}`, '');
    lines.push(['mode'.padEnd(8), 'metric'.padEnd(10), 'A'.padStart(8), 'B'.padStart(8), 'B - A'.padStart(8)].join(' '));
    for (const [mode, m] of Object.entries(report.modes) as [string, ModeMetrics][]) {
      const o = other.modes[mode as keyof typeof other.modes];
      for (const n of names) {
        const a = m[n]!;
        const b = o?.[n];
        lines.push([mode.padEnd(8), n.padEnd(10), f4(a).padStart(8), f4(b).padStart(8), (b === undefined ? '-' : signed(b - a)).padStart(8)].join(' '));
      }
    }
  }
  lines.push('');
  const ann = (r: EvalResult) => f4(r['ann_recall@10']);
  const lat = (r: EvalResult) => (r.latency_ms ? `p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms` : '-');
  if (!other) {
    lines.push(`ANN recall@10 vs exact search: ${ann(report)}`);
    lines.push(`dense search latency: ${lat(report)}`);
  } else {
    lines.push(`ANN recall@10 vs exact search: A ${ann(report)}, B ${ann(other)}`);
    lines.push(`dense search latency: A ${lat(report)}; B ${lat(other)}`);
  }
  if (report.eval_set) lines.push(`registered as the evaluation set (gate margin ${report.eval_set.margin} nDCG@10)`);
  return `${lines.join('\n')}\n`;
}
