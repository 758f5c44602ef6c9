/**
 * Dynamic micro-batching. Callers submit texts (already tokenized, so their cost is known);
 * one loop owns the queue: it waits briefly for company, sorts what is queued by length so
 * similar lengths share a batch (less padding), cuts batches at a padded-token budget, runs
 * them one at a time, and hands each caller exactly its own results.
 */
import { EngineClosedError, OverloadedError } from '../errors.ts';

export interface BatcherOptions {
  /** Upper bound on batch size x longest item in the batch. */
  readonly maxBatchTokens: number;
  /** How long the first item of a round may wait for others. */
  readonly maxWaitMs: number;
  /** Items waiting before `submit` refuses with OverloadedError. */
  readonly maxQueued: number;
}

export interface BatchStats {
  readonly items: number;
  readonly paddedTokens: number;
  readonly realTokens: number;
  readonly ms: number;
}

interface Pending<I, R> {
  readonly item: I;
  readonly resolve: (r: R) => void;
  readonly reject: (e: unknown) => void;
}

export type RunBatch<I, R> = (items: readonly I[], width: number) => Promise<R[]>;

export class MicroBatcher<I extends { readonly length: number }, R> {
  private queue: Pending<I, R>[] = [];
  private queuedTokens = 0;
  private signal: (() => void) | undefined;
  private closed = false;
  private readonly done: Promise<void>;
  /** Called after every batch; the metrics layer subscribes here. */
  onBatch: ((stats: BatchStats) => void) | undefined;

  constructor(
    private readonly runBatch: RunBatch<I, R>,
    private readonly options: BatcherOptions,
  ) {
    this.done = this.loop();
  }

  get depth(): number {
    return this.queue.length;
  }

  submit(items: readonly I[]): Promise<R[]> {
    if (this.closed) return Promise.reject(new EngineClosedError('the embedding engine is shut down'));
    if (this.queue.length + items.length > this.options.maxQueued) {
      return Promise.reject(
        new OverloadedError(`embedding queue is full (${this.queue.length} texts waiting, limit ${this.options.maxQueued}); retry shortly`),
      );
    }
    const promises = items.map(
      (item) =>
        new Promise<R>((resolve, reject) => {
          this.queue.push({ item, resolve, reject });
          this.queuedTokens += item.length;
        }),
    );
    this.wake();
    return Promise.all(promises);
  }

  /** Stops accepting work; resolves once everything already queued has run. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    await this.done;
  }

  private wake(): void {
    const s = this.signal;
    this.signal = undefined;
    s?.();
  }

  private waitForSignal(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => this.wake(), timeoutMs);
      this.signal = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        if (this.closed) return;
        await this.waitForSignal();
        continue;
      }
      // Give concurrent callers a moment to join, unless a full batch is already waiting.
      const deadline = Date.now() + this.options.maxWaitMs;
      while (!this.closed && this.queuedTokens < this.options.maxBatchTokens && Date.now() < deadline) {
        await this.waitForSignal(Math.max(0, deadline - Date.now()));
      }
      const round = this.queue;
      this.queue = [];
      this.queuedTokens = 0;
      round.sort((a, b) => a.item.length - b.item.length);
      for (const batch of this.cut(round)) await this.run(batch);
    }
  }

  /** Splits length-sorted items into batches whose padded size fits the token budget. */
  private *cut(sorted: Pending<I, R>[]): Generator<Pending<I, R>[]> {
    let start = 0;
    while (start < sorted.length) {
      let end = start + 1;
      while (end < sorted.length && (end - start + 1) * sorted[end]!.item.length <= this.options.maxBatchTokens) end += 1;
      yield sorted.slice(start, end);
      start = end;
    }
  }

  private async run(batch: Pending<I, R>[]): Promise<void> {
    const started = performance.now();
    const width = batch[batch.length - 1]!.item.length;
    try {
      const results = await this.runBatch(
        batch.map((p) => p.item),
        width,
      );
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
    this.onBatch?.({
      items: batch.length,
      paddedTokens: batch.length * width,
      realTokens: batch.reduce((s, p) => s + p.item.length, 0),
      ms: performance.now() - started,
    });
  }
}
