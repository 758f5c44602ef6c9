/**
 * Local vector index on hnswlib-node: one HNSW graph per collection generation, living in
 * `<dataDir>/<collection>/<generation>/`.
 *
 * Files in the directory:
 *   CURRENT          the number n of the live snapshot ("7\n"), replaced atomically (tmp + rename)
 *   index-<n>.bin    hnswlib's own serialization of the graph and vectors
 *   state-<n>.json   label map, free list, metadata, appliedSeq, settings (SnapshotState)
 *   config.json      dimensions, space, M, efConstruction, efSearch (for people and tools)
 * A snapshot is written as index + state (each fsynced), then CURRENT is switched, then older
 * files are deleted; a crash at any point leaves CURRENT naming a complete pair. Files that
 * CURRENT does not name are ignored on open and removed by the next snapshot.
 *
 * The SQLite store is the source of truth: the index records the highest change seq it reflects
 * (`appliedSeq`), and the owner replays later changes after `open`. Replays are idempotent here
 * (upsert of a known id updates in place, delete of an unknown id is a no-op), so a snapshot that
 * lags the in-memory state only costs replay time, never correctness.
 *
 * The graph itself lives in the graph worker (graph.ts), which answers searches with document ids
 * as of the moment it ran them. This class keeps the id <-> label map, metadata (for filters) and
 * free list on the calling thread, updated once the worker has applied a change.
 */
import { mkdir, open as openFile, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, InvalidInputError, InvalidVectorError } from '../errors.ts';
import { log as rootLog, type Logger } from '../log.ts';
import { matchesFilter, type Filter, type Metadata } from '../values/filter.ts';
import { GRAPH_SPACE, type GraphHits } from './graph-protocol.ts';
import { GraphOperationError, HnswGraph } from './graph.ts';
import type { HnswSettings } from '../values/backend.ts';
import type { IndexedVector, VectorHit, VectorIndex, VectorQuery } from './types.ts';

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
  readonly logger?: Logger;
}

/** What `state-<n>.json` holds. Labels are dense slot numbers 0..labels.length-1. */
export interface SnapshotState {
  readonly format: 1;
  readonly snapshot: number;
  readonly dimensions: number;
  readonly space: 'cosine';
  readonly settings: HnswSettings;
  /** getMaxElements() when written (informational: readIndex restores it from the .bin). */
  readonly capacity: number;
  readonly appliedSeq: number;
  /** Size of index-<n>.bin, checked on load as a cheap guard against a swapped/truncated file. */
  readonly indexBytes: number;
  /** label -> document id; null for a freed label (marked deleted in the graph). */
  readonly labels: readonly (string | null)[];
  /** label -> metadata; null when the document has none or the label is free. */
  readonly metadata: readonly (Metadata | null)[];
  /** Freed labels, reused last-in first-out. */
  readonly free: readonly number[];
}

export interface HnswSearchStats {
  /** Unfiltered searches answered by the graph. */
  ann: number;
  /** Filtered searches answered by the graph with a label filter. */
  filteredAnn: number;
  /** Searches answered by an exact scan over the matching documents. */
  exact: number;
  /** Graph searches that came back short and were redone exactly. */
  exactFallback: number;
}

const DEFAULT_CAPACITY = 1024;
const DEFAULT_SNAPSHOT_CHANGES = 1000;
const DEFAULT_SNAPSHOT_SECONDS = 30;
/**
 * When a filtered search scans exactly instead of walking the graph (scripts/bench-hnsw-blocking.ts,
 * 2-core EPYC). The exact scan costs a fixed amount per matching document, dominated by getPoint
 * building a JS array of the vector (~4 us at 64 dims, ~33 us at 512). The filtered graph search
 * visits about ef / selectivity = ef * n / matches nodes, each through a JS filter callback,
 * because hnswlib keeps exploring until it holds ef *allowed* candidates. The two cross where
 * matches ~ sqrt(c * n * ef); measured crossovers: ~200 matches at 4k x 64 and ~1,000 at
 * 100k x 512 (ef 128 after FILTER_EF_FACTOR), both fitting c = 0.078. A fixed fraction of n
 * would not do: at 1M documents 1% is 10,000 matches, ~330 ms of exact scan. Below the limit
 * exact is also better in quality (recall 1.0).
 */
const FILTER_EXACT_COST = 0.078;
/**
 * Filtered graph searches run at 2 x ef. Under hnswlib's filter semantics recall on the filtered
 * set is already at least the unfiltered recall at the same ef (20k x 64, ef 64: 0.97-1.0 at
 * 2-50% selectivity); doubling costs 5-25% more time (the JS callback dominates) and is cheap
 * insurance for restrictive filters whose allowed nodes are sparse around the query.
 */
const FILTER_EF_FACTOR = 2;
/** float32 overflows to Infinity above this; such a vector would poison the index. */
const FLOAT32_MAX = 3.4028234663852886e38;

const CURRENT = 'CURRENT';
const CURRENT_TMP = 'CURRENT.tmp';
const CONFIG = 'config.json';
const SNAPSHOT_FILE = /^(index|state)-(\d+)\.(bin|json)$/;

export class HnswIndex implements VectorIndex {
  readonly kind = 'hnsw' as const;
  readonly remote = false;
  readonly stats: HnswSearchStats = { ann: 0, filteredAnn: 0, exact: 0, exactFallback: 0 };
  /** Tuning knobs of exactScanLimit; public so benchmarks and tests can force either path. */
  exactScanMin: number;
  exactScanCost: number;

  private readonly idToLabel = new Map<string, number>();
  private readonly labelToId: (string | undefined)[] = [];
  private readonly metaByLabel: (Metadata | undefined)[] = [];
  private readonly free: number[] = [];
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
  }

  static async open(dir: string, opts: HnswOpenOptions): Promise<HnswIndex> {
    const { dimensions, settings } = opts;
    if (!Number.isInteger(dimensions) || dimensions <= 0) throw new InvalidInputError(`dimensions must be a positive integer, got ${dimensions}`);
    for (const key of ['M', 'efConstruction', 'efSearch'] as const) {
      if (!Number.isInteger(settings[key]) || settings[key] <= 0) throw new InvalidInputError(`hnsw.${key} must be a positive integer, got ${settings[key]}`);
    }
    const logger = (opts.logger ?? rootLog).child({ component: 'hnsw', dir });
    await mkdir(dir, { recursive: true });

    const names = await readdir(dir);
    let maxSeen = 0;
    for (const name of names) {
      const m = SNAPSHOT_FILE.exec(name);
      if (m) maxSeen = Math.max(maxSeen, Number(m[2]));
    }
    const current = await readCurrent(dir);
    if (current !== null) maxSeen = Math.max(maxSeen, current);

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
    logger.debug('hnsw index opened', { snapshot: self.currentSnapshot, count: self.idToLabel.size, appliedSeq: self.applied });
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
    return this.labelToId.length;
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
    return Math.max(this.exactScanMin, Math.sqrt(this.exactScanCost * this.idToLabel.size * filteredEf));
  }

  has(id: string): boolean {
    return this.idToLabel.has(id);
  }

  ids(): string[] {
    return [...this.idToLabel.keys()];
  }

  async count(): Promise<number> {
    this.assertOpen();
    return this.idToLabel.size;
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
    const n = this.idToLabel.size;
    if (query.k === 0 || n === 0) return [];
    const ef = query.ef ?? this.efSearch;

    if (query.filter === undefined) {
      const k = Math.min(query.k, n);
      let hits = await this.annSearch(point, k, ef);
      // Short results only happen when deletions cut off part of the graph: widen the search
      // first, since an exact scan over everything costs ~33 us per document at 512 dims.
      if (hits.length < k) hits = await this.annSearch(point, k, Math.max(ef, k) * 8);
      if (hits.length >= k) {
        this.stats.ann++;
        return hits;
      }
      this.stats.exactFallback++;
      return this.exactSearch(point, this.liveLabels(), k);
    }

    const matches = this.matchingLabels(query.filter);
    if (matches.length === 0) return [];
    const k = Math.min(query.k, matches.length);
    const filteredEf = Math.max(ef, k) * FILTER_EF_FACTOR;
    if (matches.length <= this.exactScanLimit(filteredEf)) {
      this.stats.exact++;
      return this.exactSearch(point, matches, k);
    }
    const allowed = new Uint8Array(this.labelToId.length);
    for (const label of matches) allowed[label] = 1;
    const hits = await this.annSearch(point, k, filteredEf, allowed);
    if (hits.length >= k) {
      this.stats.filteredAnn++;
      return hits;
    }
    this.stats.exactFallback++;
    return this.exactSearch(point, matches, k);
  }

  /** Snapshots now (waits for a running snapshot first). No-op when nothing changed. */
  async flush(): Promise<void> {
    this.assertOpen();
    await this.snapshotNow();
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
    let fresh = 0;
    for (const id of batch.keys()) if (!this.idToLabel.has(id)) fresh++;
    await this.ensureCapacity(this.labelToId.length + Math.max(0, fresh - this.free.length));
    // Labels are chosen now and recorded once the worker has applied them. Known label: hnswlib
    // updates the vector and repairs its links in place. Freed label: the same call unmarks the
    // deleted slot and rewrites it, so memory does not grow.
    const free = [...this.free];
    let next = this.labelToId.length;
    const entries = [...batch];
    const reused: boolean[] = [];
    const labels = Int32Array.from(entries, ([id]) => {
      const known = this.idToLabel.get(id);
      reused.push(known === undefined && free.length > 0);
      return known ?? free.pop() ?? next++;
    });
    const points = new Float32Array(entries.length * this.dimensions);
    entries.forEach(([, { point }], i) => points.set(point, i * this.dimensions));
    let applied = entries.length;
    let failure: unknown;
    try {
      await this.graph.add(
        points,
        labels.slice(),
        entries.map(([id]) => id),
      );
    } catch (err) {
      // Input was validated up front, so only a native failure (out of memory) stops a batch
      // midway; what was applied is recorded and counts toward the next snapshot.
      applied = err instanceof GraphOperationError && err.applied !== undefined ? err.applied : 0;
      failure = err;
    }
    for (let i = 0; i < applied; i++) {
      const [id, { metadata }] = entries[i]!;
      const label = labels[i]!;
      // Reused labels were popped off the end of the free list, in this order.
      if (reused[i]) this.free.pop();
      this.idToLabel.set(id, label);
      this.labelToId[label] = id;
      this.metaByLabel[label] = metadata;
    }
    if (applied > 0) this.noteChanges(applied);
    if (failure !== undefined) throw failure;
  }

  private async applyDelete(ids: Set<string>): Promise<void> {
    const labels: number[] = [];
    const removed: string[] = [];
    for (const id of ids) {
      const label = this.idToLabel.get(id);
      if (label === undefined) continue;
      labels.push(label);
      removed.push(id);
    }
    if (labels.length === 0) return;
    await this.graph.markDeleted(Int32Array.from(labels));
    removed.forEach((id, i) => {
      const label = labels[i]!;
      this.idToLabel.delete(id);
      this.labelToId[label] = undefined;
      this.metaByLabel[label] = undefined;
      this.free.push(label);
    });
    this.noteChanges(labels.length);
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

  // --- search ----------------------------------------------------------------------------------

  private async annSearch(point: Float32Array, k: number, ef: number, allowed?: Uint8Array): Promise<VectorHit[]> {
    return toHits(await this.graph.search(point, k, Math.max(ef, k), allowed));
  }

  private async exactSearch(point: Float32Array, labels: readonly number[], k: number): Promise<VectorHit[]> {
    const hits = toHits(await this.graph.exact(point, Int32Array.from(labels), k));
    return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private matchingLabels(filter: Filter): number[] {
    const out: number[] = [];
    for (let label = 0; label < this.labelToId.length; label++) {
      if (this.labelToId[label] !== undefined && matchesFilter(filter, this.metaByLabel[label])) out.push(label);
    }
    return out;
  }

  private liveLabels(): number[] {
    return [...this.idToLabel.values()];
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
    state.labels.forEach((id, label) => {
      this.labelToId[label] = id ?? undefined;
      this.metaByLabel[label] = state.metadata[label] ?? undefined;
      if (id !== null) this.idToLabel.set(id, label);
    });
    this.free.push(...state.free);
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
    const indexPath = join(this.dir, `index-${n}.bin`);
    const statePath = join(this.dir, `state-${n}.json`);
    const started = performance.now();

    // The worker serializes on libuv's threadpool while searches keep running. Mutations
    // (addPoint, markDelete, resizeIndex which reallocates) would race with it, so the capture
    // and the write take a turn in the mutation queue; searches only read and keep going.
    const captured = await this.serial(async () => {
      const capture = {
        changes: this.changes,
        appliedSeq: this.applied,
        capacity: this.graph.capacity,
        labels: this.labelToId.map((id) => id ?? null),
        metadata: this.metaByLabel.map((m) => m ?? null),
        free: [...this.free],
      };
      await this.graph.write(indexPath);
      return capture;
    });

    await fsyncPath(indexPath);
    const indexBytes = (await stat(indexPath)).size;
    const state: SnapshotState = {
      format: 1,
      snapshot: n,
      dimensions: this.dimensions,
      space: GRAPH_SPACE,
      settings: this.settings,
      capacity: captured.capacity,
      appliedSeq: captured.appliedSeq,
      indexBytes,
      labels: captured.labels,
      metadata: captured.metadata,
      free: captured.free,
    };
    await writeDurable(statePath, JSON.stringify(state));
    // The new files' directory entries must be durable before CURRENT can point at them.
    await fsyncPath(this.dir);
    await writeDurable(join(this.dir, CURRENT_TMP), `${n}\n`);
    await rename(join(this.dir, CURRENT_TMP), join(this.dir, CURRENT));
    await fsyncPath(this.dir);

    this.currentSnapshot = n;
    this.savedChanges = captured.changes;
    this.savedAppliedSeq = captured.appliedSeq;
    await this.removeStale(n);
    this.logger.debug('hnsw snapshot written', {
      snapshot: n,
      count: captured.labels.length - captured.free.length,
      appliedSeq: captured.appliedSeq,
      bytes: indexBytes,
      ms: Math.round(performance.now() - started),
    });
  }

  private async removeStale(keep: number): Promise<void> {
    for (const name of await readdir(this.dir)) {
      const m = SNAPSHOT_FILE.exec(name);
      if (m && Number(m[2]) !== keep) await unlink(join(this.dir, name)).catch(() => undefined);
    }
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

// --- helpers -------------------------------------------------------------------------------------

function toHits({ ids, distances }: GraphHits): VectorHit[] {
  return ids.map((id, i) => ({ id, score: 1 - distances[i]! }));
}

function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidInputError(`${what} must be a non-empty string`);
  return id;
}

async function readCurrent(dir: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(join(dir, CURRENT), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const n = Number(text.trim());
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

async function loadSnapshot(dir: string, n: number, dimensions: number): Promise<{ graph: HnswGraph; state: SnapshotState }> {
  const state = JSON.parse(await readFile(join(dir, `state-${n}.json`), 'utf8')) as SnapshotState;
  if (state.format !== 1 || state.snapshot !== n || state.space !== GRAPH_SPACE) throw new Error(`state-${n}.json: unknown format`);
  if (state.dimensions !== dimensions) {
    throw new ConfigError(`hnsw index in ${dir} has ${state.dimensions} dimensions, expected ${dimensions}`);
  }
  if (state.labels.length !== state.metadata.length) throw new Error(`state-${n}.json: labels and metadata differ in length`);
  const freeCount = state.labels.reduce((c, id) => (id === null ? c + 1 : c), 0);
  if (freeCount !== state.free.length || state.free.some((l) => state.labels[l] !== null)) {
    throw new Error(`state-${n}.json: free list does not match the label map`);
  }
  const indexPath = join(dir, `index-${n}.bin`);
  const bytes = (await stat(indexPath)).size;
  if (bytes !== state.indexBytes) throw new Error(`index-${n}.bin is ${bytes} bytes, state says ${state.indexBytes}`);
  const graph = await HnswGraph.read(dimensions, indexPath, state.labels);
  if (graph.openedCount !== state.labels.length) {
    await graph.release();
    throw new Error(`index-${n}.bin holds ${graph.openedCount} slots, state has ${state.labels.length} labels`);
  }
  return { graph, state };
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await openFile(path, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // Some platforms refuse fsync on a directory; the file data itself was already synced.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw err;
  } finally {
    await fh.close();
  }
}

async function writeDurable(path: string, data: string): Promise<void> {
  const fh = await openFile(path, 'w');
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeConfig(dir: string, config: Record<string, unknown>): Promise<void> {
  const text = `${JSON.stringify(config, null, 2)}\n`;
  const path = join(dir, CONFIG);
  const existing = await readFile(path, 'utf8').catch(() => null);
  if (existing === text) return;
  await writeDurable(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}
