/**
 * Where `sextant eval` and `sextant tune` run: on a server (--url / SEXTANT_URL; the dataset
 * path must then exist on the server's filesystem) or on the data directory in this process.
 */
import { resolve } from 'node:path';
import { NotFoundApiError, SextantClient, type EvalReport, type TuneResult } from '../client/index.ts';
import type { Config } from '../config.ts';
import { clearEvalSet } from '../lifecycle/eval/eval-set.ts';
import { evaluateAndRecord } from '../lifecycle/eval/last-evaluation.ts';
import { tuneCollection } from '../lifecycle/eval/tune.ts';
import { openRuntime, type Runtime } from '../runtime.ts';
import type { SearchService } from '../search/service.ts';
import { cliClient } from './client.ts';

export interface EvalCommandOptions {
  readonly generation?: number;
  readonly compare?: string | number;
  readonly k?: number;
  readonly ef?: number;
  readonly register?: boolean;
  readonly margin?: number;
}

export interface TuneCommandOptions {
  readonly targetRecall?: number;
  readonly dryRun?: boolean;
}

/** The report as the API sends it (the local run returns the same shape). */
export type EvalOutput = EvalReport;

export interface EvalTarget {
  evaluate(collection: string, dataset: string, opts: EvalCommandOptions): Promise<EvalOutput>;
  tune(collection: string, dataset: string, opts: TuneCommandOptions): Promise<TuneResult>;
  /** false when the collection had no evaluation set. */
  unregister(collection: string): Promise<boolean>;
  close(): Promise<void>;
}

// Evaluations and tuning run for minutes on large sets: no client timeout.
const LONG_RUNNING = { timeoutMs: 0 };

class RemoteEvalTarget implements EvalTarget {
  constructor(private readonly client: SextantClient) {}

  evaluate(collection: string, dataset: string, o: EvalCommandOptions): Promise<EvalOutput> {
    const compare = o.compare;
    return this.client.evaluate(collection, {
      dataset: resolve(dataset),
      generation: o.generation,
      compare,
      k: o.k,
      ef: o.ef,
      register: o.register,
      margin: o.margin,
    }, LONG_RUNNING);
  }

  tune(collection: string, dataset: string, o: TuneCommandOptions): Promise<TuneResult> {
    return this.client.tune(collection, { dataset: resolve(dataset), target_recall: o.targetRecall, dry_run: o.dryRun }, LONG_RUNNING);
  }

  async unregister(collection: string): Promise<boolean> {
    try {
      await this.client.deleteEvalSet(collection);
      return true;
    } catch (err) {
      if (err instanceof NotFoundApiError) return false;
      throw err;
    }
  }

  async close(): Promise<void> {}
}

/** Without a server: the whole system in this process (drift monitoring included), no jobs resumed. */
class LocalEvalTarget implements EvalTarget {
  private readonly service: SearchService;

  constructor(private readonly runtime: Runtime) {
    this.service = runtime.service;
  }

  async evaluate(collection: string, dataset: string, o: EvalCommandOptions): Promise<EvalOutput> {
    // Recorded as the collection's last evaluation, as a server records it (GET /v1/collections/{name}/eval).
    return evaluateAndRecord(this.runtime.lifecycle.eval, collection, dataset, { generation: o.generation, compare: o.compare, k: o.k, ef: o.ef, register: o.register, margin: o.margin });
  }

  tune(collection: string, dataset: string, o: TuneCommandOptions): Promise<TuneResult> {
    return tuneCollection(this.runtime.lifecycle.eval, collection, dataset, o);
  }

  async unregister(collection: string): Promise<boolean> {
    return clearEvalSet(this.runtime.lifecycle.eval, collection);
  }

  close(): Promise<void> {
    return this.runtime.close();
  }
}

export async function openEvalTarget(config: Config): Promise<EvalTarget> {
  if (config.url) return new RemoteEvalTarget(cliClient(config.url, config.apiKey));
  return new LocalEvalTarget(await openRuntime(config, { startJobs: false }));
}
