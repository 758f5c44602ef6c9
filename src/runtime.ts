/**
 * The composition root: builds the whole system from a Config (the data directory's store and
 * indexes, the embedding engines, the search service, the lifecycle with jobs, gate, drift and
 * policy). `sextant serve`, every CLI command that opens a data directory, and the tests build
 * it here, so all of them run the same system; the faces (src/api, src/cli) only translate.
 */
import type { Config } from './config.ts';
import type { EnginePool } from './embedding/pool.ts';
import { Lifecycle, type LifecycleOptions } from './lifecycle/lifecycle.ts';
import type { DriftDeps } from './lifecycle/drift/deps.ts';
import type { EvalDeps } from './lifecycle/eval/deps.ts';
import type { ReembedDeps } from './lifecycle/reembed/jobs.ts';
import type { TrainingDeps } from './lifecycle/training/deps.ts';
import type { FeedbackDeps } from './lifecycle/training/feedback.ts';
import { SearchService } from './search/service.ts';

export interface Runtime {
  readonly config: Config;
  readonly service: SearchService;
  readonly lifecycle: Lifecycle;
  /** Drift windows evaluated, jobs stopped, indexes flushed, the data directory unlocked. */
  close(): Promise<void>;
}

export interface RuntimeOptions extends LifecycleOptions {
  /** Engines to share (tests); default: a pool over config.modelsDir. */
  readonly engines?: EnginePool;
  /** Load this model before returning (the server's default model, so readiness means ready). */
  readonly warmModel?: string;
  /** Resume unfinished jobs at once (default true). */
  readonly startJobs?: boolean;
}

export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const service = await SearchService.open(config, options.engines);
  try {
    if (options.warmModel !== undefined) await service.engines.get(options.warmModel);
  } catch (err) {
    await service.close();
    throw err;
  }
  // The root hands each part only what it works with (typed as narrow repositories), not the
  // whole search service: re-embedding, drift detection, evaluation, the policy and feedback each get their own.
  const ctx = service.context;
  const reembed: ReembedDeps = { collections: ctx.store, documents: ctx.store, jobs: ctx.store, engines: ctx.engines, indexes: ctx.indexes, writes: ctx.writes };
  const drift: DriftDeps = { events: ctx.events, store: ctx.store, engines: ctx.engines, indexes: ctx.indexes };
  const evaluation: EvalDeps = { search: service, engines: ctx.engines, store: ctx.store, indexes: ctx.indexes };
  const feedback: FeedbackDeps = { feedback: ctx.store, collections: ctx.store, documents: ctx.store };
  const training: TrainingDeps = { store: ctx.store, engines: ctx.engines, modelsDir: config.modelsDir, threads: config.threads };
  const lifecycle = new Lifecycle({ eval: evaluation, reembed, drift, policy: { store: ctx.store, engines: ctx.engines }, feedback, training }, config, options);
  if (options.startJobs !== false) lifecycle.start();
  let closing: Promise<void> | undefined;
  return {
    config,
    service,
    lifecycle,
    close() {
      closing ??= (async () => {
        try {
          await lifecycle.close();
        } finally {
          await service.close();
        }
      })();
      return closing;
    },
  };
}
