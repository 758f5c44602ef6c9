/** `sextant reembed <collection> [--model name@version] [--follow]` — with --url against a server, else locally. */
import { InvalidInputError } from '../errors.ts';
import { evalSetGate } from '../lifecycle/evaluate.ts';
import { Lifecycle } from '../lifecycle/lifecycle.ts';
import type { JobView } from '../lifecycle/jobs.ts';
import { SearchService } from '../search/service.ts';
import { configFrom, parse } from './args.ts';
import { HttpClient } from './http-client.ts';
import { progressBar } from './progress.ts';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

async function follow(read: () => Promise<JobView>, label: string): Promise<JobView> {
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
  let job: JobView;
  if (config.url) {
    const http = new HttpClient(config.url, config.apiKey);
    job = await http.request<JobView>('POST', `/v1/collections/${encodeURIComponent(collection)}/reembed`, values.model ? { model: values.model } : {});
    if (values.follow) job = await follow(() => http.request<JobView>('GET', `/v1/jobs/${job.id}`), `re-embedding ${collection} -> ${job.model}`);
  } else {
    // Without a server the job runs in this process, so it is always followed to the end.
    const service = await SearchService.open(config);
    const lifecycle = new Lifecycle(service, config, { gate: evalSetGate(service) });
    try {
      lifecycle.start();
      const started = await lifecycle.jobs.start(collection, { model: values.model });
      job = await follow(async () => lifecycle.jobs.get(started.id), `re-embedding ${collection} -> ${started.model}`);
    } finally {
      await lifecycle.close();
      await service.close();
    }
  }
  process.stdout.write(`${JSON.stringify(job)}\n`);
  if (job.state === 'failed') throw new InvalidInputError(`re-embedding failed: ${job.error}`);
}
