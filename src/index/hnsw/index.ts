/**
 * Local vector index on hnswlib-node (the VectorIndex implementation): one HNSW graph per
 * collection generation, living in `<dataDir>/<collection>/<generation>/`. The rest of the
 * folder holds one concept each:
 *   labels.ts       document id <-> numeric label map, metadata and free list (label reuse)
 *   search-plan.ts  how a search runs: graph walk, filtered graph walk or exact scan
 *   snapshot.ts     the files on disk: snapshots, the CURRENT pointer, recovery on open
 *   graph.ts        the handle on a graph living in the graph worker (graph-worker.ts)
 * This file validates input, orders mutations, and decides when to snapshot.
 *
 * The SQLite store is the source of truth: the index records the highest change seq it reflects
 * (`appliedSeq`), and the owner replays later changes after `open`. Replays are idempotent here
 * (upsert of a known id updates in place, delete of an unknown id is a no-op), so a snapshot that
 * lags the in-memory state only costs replay time, never correctness.
 *
 * The graph itself lives in the graph worker, which answers searches with document ids as of the
 * moment it ran them. This class keeps the label map on the calling thread, updated once the
 * worker has applied a change.
 */
import { mkdir, rm } from 'node:fs/promises';
import { ConfigError, InvalidInputError, InvalidVectorError } from '../../errors.ts';
import { log as rootLog, type Logger } from '../../log.ts';
import type { Metadata } from '../../values/filter.ts';
import type { HnswSettings } from '../../values/backend.ts';
import type { IndexedVector, SnapshotPin, VectorHit, VectorIndex, VectorQuery } from '../types.ts';
import { GRAPH_SPACE } from './graph-protocol.ts';
import { GraphOperationError, HnswGraph } from './graph.ts';
import { LabelMap } from './labels.ts';
import { FILTER_EF_FACTOR, FILTER_EXACT_COST, POST_FILTER_EF_FACTOR, exactScanLimit, runSearch, type HnswSearchStats, type SearchContext } from './search-plan.ts';
import { commitSnapshot, indexFile, loadSnapshot, removeStaleSnapshots, scanSnapshots, writeConfig, type SnapshotState } from './snapshot.ts';

export type { HnswSearchStats } from './search-plan.ts';
export type { SnapshotState } from './snapshot.ts';

export interface HnswOpenOptions {
  readonly dimensions: number;
  readonly settings: HnswSettings;
  /** Background snapshot after this many upserted/deleted items (default 1000). */
  readonly snapshotEveryChanges?: number;
  /** Background snapshot this often while there are unsaved changes (default 30). */
  readonly snapshotEverySeconds?: number;
  /** Slots allocated up front; the index doubles when full (default 1024). */
  readonly initialCapacity?: number;
  /** See HnswIndex.exactScanLimit (defaults: min 0, cost ratio FILTER_EXACT_COST). */
  readonly exactScanMin?: number;
  readonly exactScanCost?: number;
  /**
   * Called once each snapshot is durable with the change seq it holds (the owner prunes the
   * store's change log behind it). Errors are logged, never fail the snapshot.
   */
  readonly onSnapshot?: (appliedSeq: number) => void;
  readonly logger?: Logger;
}

const DEFAULT_CAPACITY = 1024;
const DEFAULT_SNAPSHOT_CHANGES = 1000;
const DEFAULT_SNAPSHOT_SECONDS = 30;
/** float32 overflows to Infinity above this; such a vector would poison the index. */
const FLOAT32_MAX = 3.4028234663852886e38;

export class HnswIndex implements VectorIndex {
  readonly kind = 'hnsw' as const;
  readonly remote = false;
  readonly stats: HnswSearchStats = { ann: 0, filteredAnn: 0, postFiltered: 0, exact: 0, exactFallback: 0 };
  /** Tuning knobs of exactScanLimit; public so benchmarks and tests can force either path. */
  exactScanMin: number;
  exactScanCost: number;
  /** See POST_FILTER_EF_FACTOR (0: never post-filter); public for the same reason. */
  postFilterEfFactor = POST_FILTER_EF_FACTOR;

  private readonly labels = new LabelMap();
  private readonly searchContext: SearchContext;
  private applied = 0;

  /** Every mutation and every snapshot capture runs through this chain, in call order. */
  private queue: Promise<unknown> = Promise.resolve();
  private snapshotRun: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  /** Monotonic count of applied items; dirty when it differs from the snapshotted value. */
  private changes = 0;
  private savedChanges = 0;
  private savedAppliedSeq = 0;
  private currentSnapshot: number | null;
  private nextSnapshot: number;

  private constructor(
    readonly dir: string,
    readonly dimensions: number,
    private readonly graph: HnswGraph,
    private readonly built: HnswSettings,
    private readonly efSearch: number,
    private readonly opts: HnswOpenOptions,
    private readonly logger: Logger,
    currentSnapshot: number | null,
    nextSnapshot: number,
  ) {
    this.currentSnapshot = currentSnapshot;
    this.nextSnapshot = nextSnapshot;
    this.exactScanMin = opts.exactScanMin ?? 0;
    this.exactScanCost = opts.exactScanCost ?? FILTER_EXACT_COST;
    this.searchContext = {
      graph,
      labels: this.labels,
      stats: this.stats,
      exactScanLimit: (filteredEf) => this.exactScanLimit(filteredEf),
      postFilterEfFactor: () => this.postFilterEfFactor,
    };
  }

  static async open(dir: string, opts: HnswOpenOptions): Promise<HnswIndex> {
    const { dimensions, settings } = opts;
    if (!Number.isInteger(dimensions) || dimensions <= 0) throw new InvalidInputError(`dimensions must be a positive integer, got ${dimensions}`);
    for (const key of ['M', 'efConstruction', 'efSearch'] as const) {
      if (!Number.isInteger(settings[key]) || settings[key] <= 0) throw new InvalidInputError(`hnsw.${key} must be a positive integer, got ${settings[key]}`);
    }
    const logger = (opts.logger ?? rootLog).child({ component: 'hnsw', dir });
    await mkdir(dir, { recursive: true });

    const { current, maxSeen } = await scanSnapshots(dir);
    let loaded: { graph: HnswGraph; state: SnapshotState } | null = null;
    if (current !== null) {
      try {
        loaded = await loadSnapshot(dir, current, dimensions);
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        // CURRENT only ever names a fully written pair, so this is damage from outside (disk,
        // an operator). The store can rebuild everything: start empty at appliedSeq 0.
        logger.error('hnsw snapshot unreadable; starting empty so the index is rebuilt from the store', { snapshot: current, err });
      }
    }

    const built: HnswSettings = loaded
      ? { M: loaded.state.settings.M, efConstruction: loaded.state.settings.efConstruction, efSearch: settings.efSearch }
      : { ...settings };
    if (loaded && (built.M !== settings.M || built.efConstruction !== settings.efConstruction)) {
      // M and efConstruction are baked into the graph; changing them takes a new generation.
      logger.warn('hnsw index was built with other M/efConstruction; keeping the built values', { built, requested: settings });
    }

    const graph =
      loaded?.graph ??
      (await HnswGraph.create({ dimensions, maxElements: Math.max(1, opts.initialCapacity ?? DEFAULT_CAPACITY), M: built.M, efConstruction: built.efConstruction }));
    const self = new HnswIndex(dir, dimensions, graph, built, settings.efSearch, opts, logger, loaded ? current : null, maxSeen + 1);
    if (loaded) self.restore(loaded.state);
    await writeConfig(dir, { dimensions, space: GRAPH_SPACE, M: built.M, efConstruction: built.efConstruction, efSearch: settings.efSearch });
    self.startTimer();
    logger.debug('hnsw index opened', { snapshot: self.currentSnapshot, count: self.labels.size, appliedSeq: self.applied });
    return self;
  }

  /** Highest store change seq reflected in the index (persisted with each snapshot). */
  get appliedSeq(): number {
    return this.applied;
  }

  /**
   * Records that every change up to `seq` has been applied. Call it only after the upsert/delete
   * promises for those changes resolved, so a snapshot never claims changes it does not hold.
   * Lower values than the current one are ignored (replays may re-mark old seqs).
   */
  markApplied(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new InvalidInputError(`seq must be a non-negative integer, got ${seq}`);
    if (seq > this.applied) this.applied = seq;
  }

  /** The change seq the snapshot on disk holds (0: no snapshot yet). */
  get durableSeq(): number {
    return this.currentSnapshot === null ? 0 : this.savedAppliedSeq;
  }

  /** Settings the graph was built with; efSearch is the one in effect now. */
  get settings(): HnswSettings {
    return { ...this.built, efSearch: this.efSearch };
  }

  /** Allocated slots (live + free). Constant under churn because freed labels are reused. */
  get capacity(): number {
    return this.graph.capacity;
  }

  /** Labels in use or free (= hnswlib's element count); bounded by the peak document count. */
  get slots(): number {
    return this.labels.slots;
  }

  /** The snapshot number CURRENT names, null before the first snapshot. */
  get snapshotNumber(): number | null {
    return this.currentSnapshot;
  }

  /**
   * Filtered searches with at most this many matches scan them exactly (see FILTER_EXACT_COST):
   * max(exactScanMin, sqrt(exactScanCost * count * ef)), ef being the filtered search's ef.
   */
  exactScanLimit(filteredEf = this.efSearch * FILTER_EF_FACTOR): number {
    return exactScanLimit(this.labels.size, filteredEf, this.exactScanMin, this.exactScanCost);
  }

  has(id: string): boolean {
    return this.labels.has(id);
  }

  ids(): string[] {
    return this.labels.ids();
  }

  async count(): Promise<number> {
    this.assertOpen();
    return this.labels.size;
  }

  async upsert(items: readonly IndexedVector[]): Promise<void> {
    this.assertOpen();
    // Validate the whole batch before touching anything: a bad batch changes nothing.
    const batch = new Map<string, { point: Float32Array; metadata: Metadata | undefined }>();
    items.forEach((item, i) => {
      const id = checkId(item?.id, `items[${i}].id`);
      batch.set(id, { point: this.toPoint(item.vector, `items[${i}].vector`), metadata: item.metadata });
    });
    if (batch.size === 0) return;
    await this.serial(() => this.applyUpsert(batch));
  }

  async delete(ids: readonly string[]): Promise<void> {
    this.assertOpen();
    const unique = new Set<string>();
    ids.forEach((id, i) => unique.add(checkId(id, `ids[${i}]`)));
    if (unique.size === 0) return;
    await this.serial(() => this.applyDelete(unique));
  }

  async search(query: VectorQuery): Promise<VectorHit[]> {
    this.assertOpen();
    const point = this.toPoint(query.vector, 'query.vector');
    if (!Number.isInteger(query.k) || query.k < 0) throw new InvalidInputError(`k must be a non-negative integer, got ${query.k}`);
    if (query.ef !== undefined && (!Number.isInteger(query.ef) || query.ef <= 0)) {
      throw new InvalidInputError(`ef must be a positive integer, got ${query.ef}`);
    }
    if (query.k === 0 || this.labels.size === 0) return [];
    return runSearch(this.searchContext, point, query.k, query.ef ?? this.efSearch, query.filter);
  }

  /** Snapshots now (waits for a running snapshot first). No-op when nothing changed. */
  async flush(): Promise<void> {
    this.assertOpen();
    await this.snapshotNow();
  }

  /**
   * Holds the snapshot on disk as it is until `release()`: no new snapshot is written (nor the
   * pinned one's files removed) meanwhile, so a backup can copy `files` from `dir`; mutations
   * and searches go on. Flush first to pin the latest state.
   */
  async pinSnapshot(): Promise<SnapshotPin> {
    this.assertOpen();
    while (this.snapshotRun !== null) await this.snapshotRun.catch(() => undefined);
    let unpin!: () => void;
    const pin = new Promise<void>((resolve) => (unpin = resolve));
    this.snapshotRun = pin;
    const n = this.currentSnapshot;
    return {
      dir: this.dir,
      appliedSeq: this.durableSeq,
      files: n === null ? [] : ['CURRENT', `index-${n}.bin`, `state-${n}.json`, 'config.json'],
      release: () => {
        if (this.snapshotRun === pin) this.snapshotRun = null;
        unpin();
      },
    };
  }

  /** Final snapshot, then the index is unusable. Safe to call twice. */
  async close(): Promise<void> {
    await this.shutdown(true);
  }

  async drop(): Promise<void> {
    await this.shutdown(false);
    await rm(this.dir, { recursive: true, force: true });
  }

  // --- mutations -------------------------------------------------------------------------------

  private serial<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyUpsert(batch: Map<string, { point: Float32Array; metadata: Metadata | undefined }>): Promise<void> {
    await this.ensureCapacity(this.labels.slotsNeededFor(batch.keys()));
    // Labels are chosen now and recorded once the worker has applied them.
    const entries = [...batch];
    const ids = entries.map(([id]) => id);
    const { labels, reused } = this.labels.assign(ids);
    const points = new Float32Array(entries.length * this.dimensions);
    entries.forEach(([, { point }], i) => points.set(point, i * this.dimensions));
    let applied = entries.length;
    let failure: unknown;
    try {
      await this.graph.add(points, labels.slice(), ids);
    } catch (err) {
      // Input was validated up front, so only a native failure (out of memory) stops a batch
      // midway; what was applied is recorded and counts toward the next snapshot.
      applied = err instanceof GraphOperationError && err.applied !== undefined ? err.applied : 0;
      failure = err;
    }
    for (let i = 0; i < applied; i++) {
      const [id, { metadata }] = entries[i]!;
      this.labels.bind(id, labels[i]!, metadata, reused[i]!);
    }
    if (applied > 0) this.noteChanges(applied);
    if (failure !== undefined) throw failure;
  }

  private async applyDelete(ids: Set<string>): Promise<void> {
    const found = this.labels.lookup(ids);
    if (found.labels.length === 0) return;
    await this.graph.markDeleted(Int32Array.from(found.labels));
    found.ids.forEach((id, i) => this.labels.unbind(id, found.labels[i]!));
    this.noteChanges(found.labels.length);
  }

  private async ensureCapacity(needed: number): Promise<void> {
    let capacity = this.graph.capacity;
    if (needed <= capacity) return;
    while (capacity < needed) capacity *= 2;
    await this.graph.resize(capacity);
    this.logger.debug('hnsw index resized', { capacity });
  }

  private noteChanges(n: number): void {
    this.changes += n;
    const every = this.opts.snapshotEveryChanges ?? DEFAULT_SNAPSHOT_CHANGES;
    if (this.changes - this.savedChanges >= every && this.snapshotRun === null && this.closing === null) {
      this.background();
    }
  }

  private toPoint(vector: unknown, what: string): Float32Array {
    if (!(vector instanceof Float32Array) && !Array.isArray(vector)) {
      throw new InvalidVectorError(`${what} must be a Float32Array or an array of numbers`);
    }
    if (vector.length !== this.dimensions) {
      throw new InvalidVectorError(`${what} has ${vector.length} dimensions; this index has ${this.dimensions}`, {
        expected: this.dimensions,
        got: vector.length,
      });
    }
    const out = new Float32Array(this.dimensions);
    for (let i = 0; i < this.dimensions; i++) {
      const x: unknown = vector[i];
      if (typeof x !== 'number' || !Number.isFinite(x) || Math.abs(x) > FLOAT32_MAX) {
        throw new InvalidVectorError(`${what}[${i}] is ${String(x)}; vectors must hold finite numbers`);
      }
      out[i] = x;
    }
    return out;
  }

  // --- snapshots -------------------------------------------------------------------------------

  private restore(state: SnapshotState): void {
    this.labels.restore(state);
    this.applied = state.appliedSeq;
    this.savedAppliedSeq = state.appliedSeq;
  }

  private dirty(): boolean {
    return this.changes !== this.savedChanges || this.applied !== this.savedAppliedSeq || this.currentSnapshot === null;
  }

  private startTimer(): void {
    const seconds = this.opts.snapshotEverySeconds ?? DEFAULT_SNAPSHOT_SECONDS;
    if (!(seconds > 0) || !Number.isFinite(seconds)) return;
    this.timer = setInterval(() => {
      if (this.snapshotRun === null && (this.changes !== this.savedChanges || this.applied !== this.savedAppliedSeq)) this.background();
    }, seconds * 1000);
    this.timer.unref();
  }

  private background(): void {
    this.snapshotNow().catch((err: unknown) => this.logger.error('hnsw background snapshot failed; will retry', { err }));
  }

  private async snapshotNow(): Promise<void> {
    // Never two at once: wait out a running snapshot, then write another only if still needed.
    while (this.snapshotRun !== null) await this.snapshotRun.catch(() => undefined);
    if (!this.dirty()) return;
    const run = this.writeSnapshot();
    this.snapshotRun = run;
    try {
      await run;
    } finally {
      this.snapshotRun = null;
    }
  }

  private async writeSnapshot(): Promise<void> {
    const n = this.nextSnapshot++;
    const started = performance.now();

    // The worker serializes on libuv's threadpool while searches keep running. Mutations
    // (addPoint, markDelete, resizeIndex which reallocates) would race with it, so the capture
    // and the write take a turn in the mutation queue; searches only read and keep going.
    const captured = await this.serial(async () => {
      const capture = { changes: this.changes, appliedSeq: this.applied, capacity: this.graph.capacity, ...this.labels.capture() };
      await this.graph.write(indexFile(this.dir, n));
      return capture;
    });

    const indexBytes = await commitSnapshot(this.dir, n, {
      dimensions: this.dimensions,
      settings: this.settings,
      capacity: captured.capacity,
      appliedSeq: captured.appliedSeq,
      labels: captured.labels,
      metadata: captured.metadata,
      free: captured.free,
    });

    this.currentSnapshot = n;
    this.savedChanges = captured.changes;
    this.savedAppliedSeq = captured.appliedSeq;
    await removeStaleSnapshots(this.dir, n);
    try {
      this.opts.onSnapshot?.(captured.appliedSeq);
    } catch (err) {
      this.logger.warn('hnsw snapshot listener failed', { snapshot: n, err });
    }
    this.logger.debug('hnsw snapshot written', {
      snapshot: n,
      count: captured.labels.length - captured.free.length,
      appliedSeq: captured.appliedSeq,
      bytes: indexBytes,
      ms: Math.round(performance.now() - started),
    });
  }

  private async shutdown(finalSnapshot: boolean): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      await this.queue;
      try {
        if (finalSnapshot) await this.snapshotNow();
        else while (this.snapshotRun !== null) await this.snapshotRun.catch(() => undefined);
      } finally {
        this.closed = true;
        await this.graph.release().catch((err: unknown) => this.logger.warn('hnsw graph release failed', { err }));
      }
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closed || this.closing) throw new Error(`hnsw index ${this.dir} is closed`);
  }
}

function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidInputError(`${what} must be a non-empty string`);
  return id;
}
