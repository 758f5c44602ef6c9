/**
 * `sextant audit <collection> --queries <file|BEIR folder> --group-by <field> [--mode dense|keyword|hybrid]
 *  [--k 10] [--compare <generation|model>] [--generation N] [--bootstrap 1000] [--seed 1] [--json]`
 * The fairness audit (src/lifecycle/audit/): per group of a metadata field, its share of the
 * collection, of the top-k exposure and (with a BEIR folder's judgements) of the relevance, and
 * the disparities exposure ÷ collection and exposure ÷ relevance with bootstrap intervals.
 *
 * A folder is a BEIR dataset (with --url: a path on the server's filesystem, like eval); a file
 * holds one query per line (or queries.jsonl lines) and is read here, its texts sent.
 */
import { resolve } from 'node:path';
import { Transport } from '../client/transport.ts';
import type { Config } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import type { Ratio } from '../lifecycle/audit/exposure.ts';
import { isFolder, readQueryFile, type AuditQuerySource } from '../lifecycle/audit/queries.ts';
import { auditCollection, type AuditOptions, type AuditReport, type AuditSide } from '../lifecycle/audit/run.ts';
import { openRuntime } from '../runtime.ts';
import type { SearchMode } from '../search/query.ts';
import { configFrom, parse } from './args.ts';

const USAGE =
  'usage: sextant audit <collection> --queries <file|BEIR folder> --group-by <metadata field> [--mode dense|keyword|hybrid] [--k 10] ' +
  '[--compare <generation|model>] [--generation N] [--bootstrap 1000] [--seed 1] [--json]';

const MODES: readonly SearchMode[] = ['dense', 'keyword', 'hybrid'];

export interface AuditTarget {
  audit(collection: string, source: AuditQuerySource, options: AuditOptions): Promise<AuditReport>;
  close(): Promise<void>;
}

/**
 * On a server: POST /v1/collections/{name}/audit through the typed client's transport (retries,
 * auth, no timeout: an audit searches once per query and generation).
 */
class RemoteAuditTarget implements AuditTarget {
  private readonly transport: Transport;

  constructor(url: string, apiKey: string | undefined) {
    this.transport = new Transport({ url, apiKey });
  }

  audit(collection: string, source: AuditQuerySource, o: AuditOptions): Promise<AuditReport> {
    const body = {
      ...('queries' in source ? { queries: source.queries } : { dataset: typeof source.dataset === 'string' ? resolve(source.dataset) : source.dataset.dir }),
      group_by: o.groupBy,
      mode: o.mode,
      k: o.k,
      generation: o.generation,
      compare: o.compare,
      bootstrap: o.bootstrap,
      seed: o.seed,
    };
    return this.transport.send<AuditReport>({ method: 'POST', path: `/v1/collections/${encodeURIComponent(collection)}/audit`, body }, { timeoutMs: 0 });
  }

  async close(): Promise<void> {}
}

export async function openAuditTarget(config: Config): Promise<AuditTarget> {
  if (config.url) return new RemoteAuditTarget(config.url, config.apiKey);
  const runtime = await openRuntime(config, { startJobs: false });
  return {
    audit: (collection, source, options) => auditCollection(runtime.lifecycle.eval, collection, source, options),
    close: () => runtime.close(),
  };
}

function intFlag(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidInputError(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

export async function auditCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    queries: { type: 'string' },
    'group-by': { type: 'string' },
    mode: { type: 'string' },
    k: { type: 'string' },
    compare: { type: 'string' },
    generation: { type: 'string' },
    bootstrap: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const [collection, extra] = positionals;
  if (!collection || extra !== undefined || !values.queries || !values['group-by']) throw new InvalidInputError(USAGE);
  const mode = values.mode as SearchMode | undefined;
  if (mode !== undefined && !MODES.includes(mode)) throw new InvalidInputError(`--mode must be one of ${MODES.join(', ')}, got '${values.mode}'`);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed)) throw new InvalidInputError(`--seed must be an integer, got '${values.seed}'`);
  const options: AuditOptions = {
    groupBy: values['group-by'],
    mode,
    k: intFlag(values.k, 'k', 1),
    generation: intFlag(values.generation, 'generation', 1),
    compare: values.compare === undefined ? undefined : /^\d+$/.test(values.compare) ? Number(values.compare) : values.compare,
    bootstrap: intFlag(values.bootstrap, 'bootstrap', 1),
    seed,
  };
  const source: AuditQuerySource = isFolder(values.queries) ? { dataset: resolve(values.queries) } : { queries: readQueryFile(values.queries) };

  const target = await openAuditTarget(configFrom(values));
  try {
    const report = await target.audit(collection, source, options);
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : renderAudit(report));
  } finally {
    await target.close();
  }
}

const f3 = (n: number | null | undefined) => (n === null || n === undefined ? '-' : n.toFixed(3));
const ratio = (r: Ratio | null) => (r ? `${f3(r.value)} [${f3(r.ci[0])}, ${f3(r.ci[1])}]` : '-');
/** Whether the interval leaves out 1 (parity): the disparity is more than resampling noise. */
const flag = (r: Ratio | null) => (r && (r.ci[0] > 1 || r.ci[1] < 1) ? ' *' : '');

function sideTable(side: AuditSide, judged: boolean): string[] {
  const head = ['value'.padEnd(16), 'docs'.padStart(6), 'coll'.padStart(7), 'expo'.padStart(7), ...(judged ? ['rel'.padStart(7)] : []), '  expo/coll [95% CI]'.padEnd(28), 'perm p'.padStart(7), ...(judged ? ['  expo/rel [95% CI]'] : [])];
  const lines = [head.join(' ')];
  for (const g of side.groups) {
    lines.push(
      [
        String(g.value).slice(0, 16).padEnd(16),
        String(g.documents).padStart(6),
        f3(g.collection_share).padStart(7),
        f3(g.exposure_share).padStart(7),
        ...(judged ? [f3(g.relevance_share).padStart(7)] : []),
        `  ${ratio(g.exposure_over_collection)}${flag(g.exposure_over_collection)}`.padEnd(28),
        g.exposure_over_collection.p_value.toFixed(3).padStart(7),
        ...(judged ? [`  ${ratio(g.exposure_over_relevance)}${flag(g.exposure_over_relevance)}`] : []),
      ].join(' '),
    );
  }
  return lines;
}

export function renderAudit(r: AuditReport): string {
  const judged = r.dataset !== null;
  const describe = (s: AuditSide) =>
    `generation ${s.generation} (${s.model}): ${s.queries} queries${s.skipped_queries > 0 ? ` (${s.skipped_queries} without a grouped hit left out)` : ''}, ` +
    `exposure shares sum to 1 per query: ${s.per_query_exposure_sums_to_one ? 'yes' : 'no'} (max deviation ${s.exposure_sum_max_deviation.toExponential(1)})`;
  const lines = [
    `${r.collection} grouped by '${r.group_by}': ${r.groups.length} groups over ${r.documents} documents (${r.documents_without_field} without the field), ${r.mode} top-${r.k}` +
      (r.dataset ? `, queries and judgements from ${r.dataset}` : ''),
    `bootstrap: ${r.bootstrap.resamples} resamples of the queries, seed ${r.bootstrap.seed}, ${r.bootstrap.confidence * 100}% intervals; * = interval excludes 1 (parity); ` +
      'perm p: permutation test over documents (could a random grouping of these sizes do this?)',
  ];
  if (r.missing_judged_documents) lines.push(`warning: ${r.missing_judged_documents} judged document ids are not in the collection`);
  lines.push('', `A: ${describe(r)}`, ...sideTable(r, judged));
  if (r.compare) lines.push('', `B: ${describe(r.compare)}`, ...sideTable(r.compare, judged));
  return `${lines.join('\n')}\n`;
}
