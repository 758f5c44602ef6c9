/**
 * The HNSW index's label map, kept on the calling thread: document id <-> numeric label (the
 * graph's slot number), each label's metadata (for filters), and the free list. Labels are dense
 * slot numbers 0..slots-1; a deleted document's label goes on the free list and is reused
 * last-in first-out by later inserts, so the graph does not grow under churn.
 *
 * The map changes only once the graph worker has applied a change: `assign` chooses labels
 * without touching anything, `bind`/`unbind` record what the worker did.
 */
import { matchesFilter, type Filter, type Metadata } from '../../values/filter.ts';
import { EVERYTHING, MetadataPostings, type Candidates } from './metadata-postings.ts';

/** The map as a snapshot stores it (see SnapshotState). */
export interface LabelState {
  /** label -> document id; null for a freed label. */
  readonly labels: readonly (string | null)[];
  /** label -> metadata; null when the document has none or the label is free. */
  readonly metadata: readonly (Metadata | null)[];
  /** Freed labels, reused last-in first-out. */
  readonly free: readonly number[];
}

/** A filter's matches as the search plan sees them, worked out no further than a search needs. */
export interface FilterMatches {
  /** Estimated match count (exact when the postings answer the filter alone). */
  readonly estimate: number;
  /** Whether the live document `id` matches. */
  accepts(id: string): boolean;
  /** Every matching label, ascending. */
  collect(): Int32Array;
}

/**
 * Candidates tested to estimate a filter's selectivity when the postings cannot answer it alone
 * (ranges, $ne): the estimate only chooses a plan, and every plan checks what it returns.
 */
const ESTIMATE_SAMPLE = 128;

/** Labels chosen for a batch of ids, in batch order. */
export interface LabelAssignment {
  readonly labels: Int32Array;
  /** Whether labels[i] comes off the free list (and so must be popped when bound). */
  readonly reused: readonly boolean[];
}

export class LabelMap {
  private readonly idToLabel = new Map<string, number>();
  private readonly labelToId: (string | undefined)[] = [];
  private readonly metaByLabel: (Metadata | undefined)[] = [];
  private readonly free: number[] = [];
  private readonly postings = new MetadataPostings();

  /** Live documents. */
  get size(): number {
    return this.idToLabel.size;
  }

  /** Labels in use or free (= hnswlib's element count); bounded by the peak document count. */
  get slots(): number {
    return this.labelToId.length;
  }

  has(id: string): boolean {
    return this.idToLabel.has(id);
  }

  ids(): string[] {
    return [...this.idToLabel.keys()];
  }

  /** Labels of every live document. */
  live(): number[] {
    return [...this.idToLabel.values()];
  }

  /** The live documents matching `filter`, through the metadata postings. */
  matching(filter: Filter): FilterMatches {
    const candidates = this.postings.candidates(filter);
    const test = (label: number) => this.labelToId[label] !== undefined && matchesFilter(filter, this.metaByLabel[label]);
    if (candidates === EVERYTHING) {
      return {
        estimate: this.sampled(this.evenlySpaced(), test, this.size),
        accepts: (id) => {
          const label = this.idToLabel.get(id);
          return label !== undefined && test(label);
        },
        collect: () => {
          const out: number[] = [];
          for (let label = 0; label < this.labelToId.length; label++) if (test(label)) out.push(label);
          return Int32Array.from(out);
        },
      };
    }
    const accepts = candidates.exact ? (label: number) => candidates.has(label) : (label: number) => candidates.has(label) && test(label);
    return {
      estimate: candidates.exact ? candidates.bound : this.sampled(candidates.labels(), test, candidates.bound),
      accepts: (id) => {
        const label = this.idToLabel.get(id);
        return label !== undefined && accepts(label);
      },
      collect: () => collectSorted(candidates, test),
    };
  }

  /** `of` times the share of the first ESTIMATE_SAMPLE labels of `labels` passing `test`. */
  private sampled(labels: Iterable<number>, test: (label: number) => boolean, of: number): number {
    let seen = 0;
    let passed = 0;
    for (const label of labels) {
      if (seen === ESTIMATE_SAMPLE) break;
      seen++;
      if (test(label)) passed++;
    }
    return seen === 0 ? 0 : (of * passed) / seen;
  }

  private *evenlySpaced(): Iterable<number> {
    const slots = this.labelToId.length;
    const step = Math.max(1, Math.floor(slots / ESTIMATE_SAMPLE));
    for (let label = 0; label < slots; label += step) if (this.labelToId[label] !== undefined) yield label;
  }

  /** Slots the graph needs to take `ids` (known ids keep their label, new ones use free labels first). */
  slotsNeededFor(ids: Iterable<string>): number {
    let fresh = 0;
    for (const id of ids) if (!this.idToLabel.has(id)) fresh++;
    return this.labelToId.length + Math.max(0, fresh - this.free.length);
  }

  /**
   * Chooses a label per id without changing the map. Known id: its label (hnswlib updates the
   * vector and repairs its links in place). New id: the last freed label (the same addPoint
   * unmarks the deleted slot and rewrites it, so memory does not grow), else the next slot.
   */
  assign(ids: readonly string[]): LabelAssignment {
    const free = [...this.free];
    let next = this.labelToId.length;
    const reused: boolean[] = [];
    const labels = Int32Array.from(ids, (id) => {
      const known = this.idToLabel.get(id);
      reused.push(known === undefined && free.length > 0);
      return known ?? free.pop() ?? next++;
    });
    return { labels, reused };
  }

  /**
   * Records that the graph now holds `id` at `label`. Call in assignment order for a prefix of
   * an assignment: reused labels are popped off the end of the free list, in that order.
   */
  bind(id: string, label: number, metadata: Metadata | undefined, reused: boolean): void {
    if (reused) this.free.pop();
    const previous = this.labelToId[label] === undefined ? undefined : this.metaByLabel[label];
    if (previous !== undefined) this.postings.remove(label, previous);
    this.idToLabel.set(id, label);
    this.labelToId[label] = id;
    this.metaByLabel[label] = metadata;
    this.postings.add(label, metadata);
  }

  /** The known ids among `ids` with their labels (unknown ids are skipped). */
  lookup(ids: Iterable<string>): { ids: string[]; labels: number[] } {
    const found: string[] = [];
    const labels: number[] = [];
    for (const id of ids) {
      const label = this.idToLabel.get(id);
      if (label === undefined) continue;
      labels.push(label);
      found.push(id);
    }
    return { ids: found, labels };
  }

  /** Records that the graph marked `label` (holding `id`) deleted: the label becomes free. */
  unbind(id: string, label: number): void {
    this.idToLabel.delete(id);
    this.postings.remove(label, this.metaByLabel[label]);
    this.labelToId[label] = undefined;
    this.metaByLabel[label] = undefined;
    this.free.push(label);
  }

  /** A copy of the map for a snapshot. */
  capture(): LabelState {
    return {
      labels: this.labelToId.map((id) => id ?? null),
      metadata: this.metaByLabel.map((m) => m ?? null),
      free: [...this.free],
    };
  }

  /** Fills an empty map from a snapshot (checked by loadSnapshot). */
  restore(state: LabelState): void {
    state.labels.forEach((id, label) => {
      this.labelToId[label] = id ?? undefined;
      this.metaByLabel[label] = state.metadata[label] ?? undefined;
      if (id !== null) {
        this.idToLabel.set(id, label);
        this.postings.add(label, this.metaByLabel[label]);
      }
    });
    this.free.push(...state.free);
  }
}

/** The labels among `candidates` that pass `test` (when the candidates are not exact), ascending. */
function collectSorted(candidates: Candidates, test: (label: number) => boolean): Int32Array {
  const out = new Int32Array(candidates.bound);
  let n = 0;
  for (const label of candidates.labels()) if (candidates.exact ? true : test(label)) out[n++] = label;
  return out.subarray(0, n).sort();
}
