/**
 * The model-lifecycle service: re-embedding jobs (and, wired in here, what watches collections
 * over time). Built on the search service; the search service never sees it.
 */
import type { Config } from '../config.ts';
import type { SearchService } from '../search/service.ts';
import { JobRunner, type JobHooks } from './jobs.ts';

export class Lifecycle {
  readonly jobs: JobRunner;

  constructor(
    readonly service: SearchService,
    readonly config: Config,
    hooks: JobHooks = {},
  ) {
    this.jobs = new JobRunner(service, config, hooks);
  }

  /** Resumes unfinished jobs and starts background sweeps. */
  start(): void {
    this.jobs.resumeAll();
  }

  async close(): Promise<void> {
    await this.jobs.close();
  }
}
