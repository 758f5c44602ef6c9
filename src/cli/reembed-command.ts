/** `sextant reembed <collection> [--model name@version] [--follow]` — with --url against a server, else locally. */
import { InvalidInputError } from '../errors.ts';
import { jobView, type JobView } from '../api/views/job.ts';
import { openRuntime } from '../runtime.ts';
import { configFrom, parse } from './args.ts';
import { cliClient } from './client.ts';
import { progressBar } from './progress.ts';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

type JobProgress = Pick<JobView, 'state' | 'done' | 'total' | 'docs_per_s' | 'eta_seconds' | 'error'>;

async function follow<J extends JobProgress>(read: () => Promise<J>, label: string): Promise<J> {
  const bar = progressBar(label);
  for (;;) {
    const job = await read();
    const p = {
      done: job.done,
      total: job.total,
      upserted: job.done,
      unchanged: 0,
      docsPerSecond: job.docs_per_s ?? 0,
      etaSeconds: job.eta_seconds ?? Infinity,
    };
    if (TERMINAL.includes(job.state)) {
      bar.finish(p);
      return job;
    }
    bar.update(p);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function reembedCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    model: { type: 'string' },
    follow: { type: 'boolean', default: false },
  });
  const [collection] = positionals;
  if (!collection) throw new InvalidInputError('usage: sextant reembed <collection> [--model name@version] [--follow] [--url URL]');
  const config = configFrom(values);
  let job: JobProgress;
  if (config.url) {
    const client = cliClient(config.url, config.apiKey);
    const started = await client.reembed(collection, values.model ? { model: values.model } : {});
    job = values.follow ? await follow(() => client.getJob(started.id), `re-embedding ${collection} -> ${started.model}`) : started;
  } else {
    // Without a server the job runs in this process, so it is always followed to the end.
    const runtime = await openRuntime(config);
    try {
      const jobs = runtime.lifecycle.jobs;
      const started = await jobs.start(collection, { model: values.model });
      job = await follow(async () => jobView(jobs.get(started.id)), `re-embedding ${collection} -> ${started.model}`);
    } finally {
      await runtime.close();
    }
  }
  process.stdout.write(`${JSON.stringify(job)}\n`);
  if (job.state === 'failed') throw new InvalidInputError(`re-embedding failed: ${job.error}`);
}
