/**
 * `sextant train <collection> [--kind adapter|static] [--epochs N] [--seed N] [--gate dense|hybrid]
 * [--fairness-group-by FIELD [--fairness-margin X]] [--activate] [--follow] [--json]` — a training job, with --url against a server, else locally
 * (through openRuntime, like `sextant reembed`; a local job is always followed to the end).
 */
import { InvalidInputError } from '../errors.ts';
import { jobView } from '../api/views/job.ts';
import type { TrainJobOptions } from '../lifecycle/training/jobs.ts';
import { openRuntime } from '../runtime.ts';
import { configFrom, parse } from './args.ts';
import { cliClient } from './client.ts';

const USAGE =
  'usage: sextant train <collection> [--kind adapter|static] [--epochs N] [--seed N] [--gate dense|hybrid] [--fairness-group-by FIELD [--fairness-margin X]] [--activate] [--follow] [--json] [--url URL]';
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** What the command reads of a job view (local or from the server). */
interface TrainJobProgress {
  readonly id: string;
  readonly state: string;
  readonly done: number;
  readonly total: number;
  readonly error: string | null;
  readonly model: string;
  readonly gate?: { readonly passed: boolean; readonly reason: string } | undefined;
  readonly activation_job?: string | null | undefined;
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidInputError(`--${flag} must be an integer, got '${value}'`);
  return n;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidInputError(`--${flag} must be ${allowed.join(' or ')}, got '${value}'`);
  return value as T;
}

async function follow<J extends TrainJobProgress>(read: () => Promise<J>, label: string): Promise<J> {
  let shown = '';
  for (;;) {
    const job = await read();
    const line = `${label}: ${job.state}${job.total > 0 ? ` ${job.done}/${job.total} steps` : ''}`;
    if (line !== shown) {
      process.stderr.write(`${line}\n`);
      shown = line;
    }
    if (TERMINAL.includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function trainCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    kind: { type: 'string' },
    epochs: { type: 'string' },
    seed: { type: 'string' },
    gate: { type: 'string' },
    'fairness-group-by': { type: 'string' },
    'fairness-margin': { type: 'string' },
    activate: { type: 'boolean', default: false },
    follow: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  const [collection] = positionals;
  if (!collection) throw new InvalidInputError(USAGE);
  const kind = oneOf(values.kind, ['adapter', 'static'] as const, 'kind');
  const epochs = integer(values.epochs, 'epochs');
  const seed = integer(values.seed, 'seed');
  const gate = oneOf(values.gate, ['dense', 'hybrid'] as const, 'gate');
  const groupBy = values['fairness-group-by'];
  const margin = values['fairness-margin'];
  if (margin !== undefined && groupBy === undefined) throw new InvalidInputError('--fairness-margin needs --fairness-group-by (the metadata field whose groups are checked)');
  const marginValue = margin === undefined ? undefined : Number(margin);
  if (margin !== undefined && (margin.trim() === '' || !Number.isFinite(marginValue))) throw new InvalidInputError(`--fairness-margin must be a number, got '${margin}'`);
  const common = {
    ...(kind !== undefined ? { kind } : {}),
    ...(epochs !== undefined ? { epochs } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(gate !== undefined ? { gate } : {}),
    ...(values.activate ? { activate: true } : {}),
  };
  const options: TrainJobOptions = { ...common, ...(groupBy !== undefined ? { fairness: { groupBy, ...(marginValue !== undefined ? { margin: marginValue } : {}) } } : {}) };
  const label = `training ${collection}`;
  const config = configFrom(values);
  let job: TrainJobProgress;
  if (config.url) {
    const client = cliClient(config.url, config.apiKey);
    const started = await client.train(collection, {
      ...common,
      ...(groupBy !== undefined ? { fairness: { group_by: groupBy, ...(marginValue !== undefined ? { margin: marginValue } : {}) } } : {}),
    });
    // --json prints the finished job, so it follows too.
    job = values.follow || values.json ? await follow(() => client.getJob(started.id), label) : started;
  } else {
    const runtime = await openRuntime(config);
    try {
      const jobs = runtime.lifecycle.trainJobs;
      const started = jobs.start(collection, options);
      job = await follow(async () => jobView(jobs.get(started.id)), label);
      // An activation re-embedding job runs in this process too: see it through before closing.
      const activation = job.activation_job;
      if (activation) {
        const reembed = await follow(async () => jobView(runtime.lifecycle.jobs.get(activation)), `re-embedding ${collection} -> ${job.model}`);
        if (reembed.state !== 'succeeded') process.stderr.write(`activation re-embedding ${reembed.state}${reembed.error ? `: ${reembed.error}` : ''}\n`);
      }
    } finally {
      await runtime.close();
    }
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(job)}\n`);
  } else {
    const lines = [`job ${job.id}: ${job.state}`];
    if (job.state === 'succeeded') lines.push(`model ${job.model}`);
    if (job.gate) lines.push(`gate ${job.gate.passed ? 'passed' : 'failed'}: ${job.gate.reason}`);
    if (job.activation_job) lines.push(`activation job ${job.activation_job}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (job.state === 'failed') throw new InvalidInputError(`training failed: ${job.error}`);
}
