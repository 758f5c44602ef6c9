/**
 * Engines by model version, loaded on first use and shared: every collection on the same
 * version shares one session and one batching queue.
 */
import type { Config } from '../config.ts';
import { ensureDefaultModel, refersToDefault } from '../models/default-model.ts';
import type { ModelRegistry, ModelVersion } from '../models/registry.ts';
import { EmbeddingEngine } from './engine.ts';
import type { BatchStats } from './batcher.ts';

export class EnginePool {
  private readonly engines = new Map<string, Promise<EmbeddingEngine>>();
  private readonly ready = new Map<string, EmbeddingEngine>();
  /** Receives every batch of every engine (metrics). */
  onBatch: ((model: string, stats: BatchStats) => void) | undefined;

  constructor(
    readonly registry: ModelRegistry,
    private readonly config: Config,
  ) {}

  /** Resolves an alias or name@version to a concrete version, building the default model if needed. */
  async resolve(ref: string): Promise<ModelVersion> {
    if (refersToDefault(ref)) await ensureDefaultModel(this.registry);
    return this.registry.resolve(ref);
  }

  /** The engine for a concrete version id or any reference. */
  async get(ref: string): Promise<EmbeddingEngine> {
    // Every search asks for its generation's concrete version; resolving it reads the models dir
    // (aliases, manifests), which measured ~20% of the event loop at 32 clients. Alias names
    // cannot contain '@', so a loaded 'name@version' is always itself.
    const loaded = ref.includes('@') ? this.ready.get(ref) : undefined;
    if (loaded) return loaded;
    const version = await this.resolve(ref);
    let engine = this.engines.get(version.id);
    if (!engine) {
      engine = EmbeddingEngine.load(
        version,
        {
          device: this.config.device,
          threads: this.config.threads,
          batchTokens: this.config.batchTokens,
          batchWaitMs: this.config.batchWaitMs,
          queueMax: this.config.queueMax,
        },
        this.registry,
      ).then((e) => {
        e.onBatch = (stats) => this.onBatch?.(version.id, stats);
        this.ready.set(version.id, e);
        return e;
      });
      this.engines.set(version.id, engine);
      engine.catch(() => this.engines.delete(version.id));
    }
    return engine;
  }

  /** Engines loaded so far (for /readyz and /metrics). */
  loaded(): EmbeddingEngine[] {
    return [...this.ready.values()];
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.engines.values());
    for (const engine of this.ready.values()) await engine.close();
    this.engines.clear();
    this.ready.clear();
  }
}
