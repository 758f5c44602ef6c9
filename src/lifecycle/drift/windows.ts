/**
 * Tumbling windows: what the search service reports, buffered per collection and kind until a
 * window is full.
 *
 * - queries: each embedded text query adds its vector, its top-1 score and its token counts;
 *   without a reference the queries are gathered toward an observed reference instead
 *   (`collectQuery`, `queries.reference_size` of them; references.ts installs them);
 * - documents: each vector of an ingested batch adds itself and its text's token counts; one
 *   batch can fill several windows.
 *
 * A window holds one generation and one reference epoch (bumped by each new baseline); an item of
 * another starts the window over. A full window is handed on as a `FullWindow` (to scheduler.ts)
 * and the next one starts empty.
 */
import type { DocumentsObserved, QueryObserved } from '../../search/events.ts';
import { addTokens, NO_TOKENS, type TokenTotals, type WindowItems } from './evaluate.ts';

/** A full window (or a gathered reference): its items, and the generation and reference epoch they were gathered under. */
export interface FullWindow extends WindowItems {
  readonly generation: number;
  /** The kind's reference epoch when the window started (a new baseline discards older windows). */
  readonly epoch: number;
  readonly vectors: Float32Array[];
  readonly top1: number[];
}

interface Buffer {
  generation: number;
  epoch: number;
  vectors: Float32Array[];
  top1: number[];
  tokens: TokenTotals;
}

function emptyBuffer(generation: number, epoch: number): Buffer {
  return { generation, epoch, vectors: [], top1: [], tokens: NO_TOKENS };
}

function addQuery(b: Buffer, e: QueryObserved): void {
  b.vectors.push(e.queryVector!);
  if (e.topScore !== undefined && Number.isFinite(e.topScore)) b.top1.push(e.topScore);
  b.tokens = addTokens(b.tokens, { texts: 1, tokens: e.tokens ?? 0, unknown: e.unknownTokens ?? 0, truncated: e.truncated ? 1 : 0 });
}

/** One collection's buffers of one kind. */
export class KindWindows {
  /** Queries gathered to become the reference (queries without one). */
  private collecting: Buffer | undefined = undefined;
  /** The current, not yet full window. */
  private window: Buffer | undefined = undefined;

  /** Queries gathered toward an observed reference. */
  get collected(): number {
    return this.collecting?.vectors.length ?? 0;
  }

  /** Items in the current, not yet full window. */
  get buffered(): number {
    return this.window?.vectors.length ?? 0;
  }

  /** Drops the current window (a new baseline: what it holds was gathered against the old one). */
  discardWindow(): void {
    this.window = undefined;
  }

  /** Drops the current window and the queries gathered toward a reference. */
  discardAll(): void {
    this.window = undefined;
    this.collecting = undefined;
  }

  /** Gathers an embedded query toward an observed reference; returns the gathered set once it holds `size` queries. */
  collectQuery(e: QueryObserved, epoch: number, size: number): FullWindow | undefined {
    if (!this.collecting || this.collecting.generation !== e.generation) this.collecting = emptyBuffer(e.generation, epoch);
    addQuery(this.collecting, e);
    if (this.collecting.vectors.length >= size) {
      const c = this.collecting;
      this.collecting = undefined;
      return c;
    }
    return undefined;
  }

  /** Adds an embedded query to the current window; returns the window once it holds `size` queries. */
  addQuery(e: QueryObserved, epoch: number, size: number): FullWindow | undefined {
    this.ensureWindow(e.generation, epoch);
    addQuery(this.window!, e);
    if (this.window!.vectors.length >= size) {
      const w = this.window!;
      this.window = undefined;
      return w;
    }
    return undefined;
  }

  /** Adds a batch's vectors to the current window; returns the windows it filled (`size` vectors each), in order. */
  addDocuments(e: DocumentsObserved, epoch: number, size: number): FullWindow[] {
    this.ensureWindow(e.generation, epoch);
    const w = this.window!;
    const full: FullWindow[] = [];
    for (let i = 0; i < e.vectors.length; i++) {
      w.vectors.push(e.vectors[i]!);
      w.tokens = addTokens(w.tokens, { texts: 1, tokens: e.tokens[i] ?? 0, unknown: e.unknownTokens[i] ?? 0, truncated: e.truncated[i] ? 1 : 0 });
      if (w.vectors.length >= size) {
        // A batch can fill several windows; token totals go with the window that holds the text.
        full.push({ ...w, vectors: w.vectors.slice() });
        w.vectors = [];
        w.tokens = NO_TOKENS;
      }
    }
    return full;
  }

  private ensureWindow(generation: number, epoch: number): void {
    if (!this.window || this.window.generation !== generation || this.window.epoch !== epoch) this.window = emptyBuffer(generation, epoch);
  }
}
