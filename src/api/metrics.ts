/**
 * Prometheus metrics on prom-client. Each server gets its own `Registry` (never prom-client's
 * global one), so several servers in one process (tests) do not collide on metric names. The
 * process-level default metrics (CPU, heap, event-loop lag, GC…) describe the whole process, so
 * they are collected once per process in a registry of their own and appended to every scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type Labels<L extends string> = Readonly<Record<L, string>>;

export interface GaugeSample<L extends string> {
  readonly labels: Labels<L>;
  readonly value: number;
}

let processRegistry: Registry | undefined;

/** prom-client's default metrics, collected once per process. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class MetricsRegistry {
  /** The prom-client registry holding this server's own metrics. */
  readonly register = new Registry();
  private readonly defaults: Registry | undefined;

  constructor(options: { readonly defaultMetrics?: boolean } = {}) {
    this.defaults = options.defaultMetrics === false ? undefined : processMetrics();
  }

  /** The Content-Type of `render()`'s text (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.register.contentType;
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter<L>({ name, help, labelNames, registers: [this.register] });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]): Histogram<L> {
    return new Histogram<L>({ name, help, labelNames, buckets: [...buckets], registers: [this.register] });
  }

  /** A gauge whose samples are computed at scrape time; series no longer returned disappear. */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[], samples: () => ReadonlyArray<GaugeSample<L>>): Gauge<L> {
    const gauge: Gauge<L> = new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.register],
      collect() {
        gauge.reset();
        for (const { labels, value } of samples()) gauge.set(labels, value);
      },
    });
    return gauge;
  }

  /** This server's metrics, then the process's default metrics, in Prometheus text format. */
  async render(): Promise<string> {
    const own = await this.register.metrics();
    return this.defaults ? `${own}\n${await this.defaults.metrics()}` : own;
  }
}
