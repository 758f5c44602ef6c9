/**
 * Drift monitor: per collection, a reference sample per kind (queries, documents) and tumbling
 * windows of what the search service reports (`SearchEvents`), each full window compared with
 * the reference (evaluate.ts), the result persisted (drift_history) and folded into a state.
 *
 * References
 * - queries: the first `queries.reference_size` embedded text queries seen on the live
 *   generation, or a supplied set (`setReferenceQueries`, POST /drift/reference), which is kept
 *   as text so a new generation re-embeds it.
 * - documents: a seeded sample of the live generation's stored vectors, taken when a document
 *   batch arrives and the generation holds at least `documents.min_reference` documents (before
 *   that the batches are the reference-to-be and are not windowed); taken again after a
 *   generation change, when the collection has grown `documents.refresh_growth`-fold while its
 *   document drift is ok, or on request (`captureDocumentReference`, e.g. after a re-embedding).
 *   Token statistics of a sampled reference are unknown; the first window calibrates them.
 *
 * Cost on the request path: an event appends to a buffer. Full windows are evaluated later
 * (setImmediate), at most MAX_PENDING per collection and kind; beyond that windows are dropped
 * and counted. A document-reference capture runs in the event (before the batch is committed,
 * so the sample holds only earlier documents); it is rare (see above).
 */
import { InvalidInputError } from '../../errors.ts';
import { log } from '../../log.ts';
import { liveGeneration, requireCollection } from '../../search/context.ts';
import type { DocumentsObserved, QueryObserved } from '../../search/events.ts';
import type { SearchService } from '../../search/service.ts';
import type { CollectionRow, DriftHistoryRow, Store } from '../../store/types.ts';
import { DRIFT_KINDS, driftConfigFrom, driftConfigView, type DriftConfig, type DriftKind } from './config.ts';
import {
  addTokens,
  DriftStateMachine,
  evaluateWindow,
  NO_TOKENS,
  prepareReference,
  worstState,
  type DriftState,
  type MetricValue,
  type PreparedReference,
  type TokenTotals,
  type WindowEvaluation,
  type WindowItems,
} from './evaluate.ts';
import { mulberry32 } from '../../util/random.ts';
import { sampleIndices } from './stats.ts';

/** Windows waiting for evaluation per collection and kind; more are dropped. */
const MAX_PENDING = 4;
/** Queries a supplied reference may hold. */
export const MAX_REFERENCE_QUERIES = 2000;
/** Supplied reference texts are kept (for re-embedding after a generation change) up to this many characters. */
const MAX_KEPT_TEXT_CHARS = 1_000_000;
/** Seed of document reference sampling. */
const SAMPLE_SEED = 20_261_126;
/** Embedding chunk when a supplied reference is embedded. */
const EMBED_CHUNK = 128;

export type ReferenceSource = 'observed' | 'supplied' | 'sampled';

interface ReferenceMeta {
  readonly source: ReferenceSource;
  readonly createdAt: string;
  /** Documents the generation held when the sample was taken (documents). */
  readonly documents?: number;
  /** Supplied query texts (kept to re-embed after a generation change). */
  readonly texts?: readonly string[];
}

interface LastWindow {
  readonly index: number;
  readonly size: number;
  readonly generation: number;
  readonly evaluatedAt: string;
  readonly evaluation: WindowEvaluation;
  readonly state: DriftState;
}

interface Buffer {
  generation: number;
  /** The kind's reference epoch when the buffer started (a new baseline discards older windows). */
  epoch: number;
  vectors: Float32Array[];
  top1: number[];
  tokens: TokenTotals;
}

interface KindState {
  reference: PreparedReference | undefined;
  meta: ReferenceMeta | undefined;
  /** Queries gathered to become the reference (queries without one). */
  collecting: Buffer | undefined;
  window: Buffer | undefined;
  machine: DriftStateMachine;
  windows: number;
  pending: number;
  dropped: number;
  /** A reference is being built asynchronously (re-embedding supplied texts): events are ignored. */
  busy: boolean;
  /** Bumped when a new baseline is installed. */
  epoch: number;
  last: LastWindow | undefined;
}

interface CollectionState {
  readonly name: string;
  readonly createdAt: string;
  readonly kinds: Record<DriftKind, KindState>;
}

export interface ReferenceSummary {
  readonly kind: DriftKind;
  readonly source: ReferenceSource;
  readonly count: number;
  readonly generation: number;
  readonly created_at: string;
}

export interface DriftMetricView {
  readonly name: string;
  readonly kind: DriftKind;
  readonly value: number | null;
  readonly threshold: number | null;
  readonly exceeded: boolean;
  readonly window: { readonly index: number; readonly size: number; readonly generation: number; readonly evaluated_at: string };
}

export interface DriftHistoryView {
  readonly kind: DriftKind;
  readonly state: string;
  readonly alert: boolean;
  readonly reasons: readonly string[];
  readonly window: unknown;
  readonly metrics: Readonly<Record<string, number | null>>;
  /** Milliseconds the window's statistics took. */
  readonly ms: number | null;
  readonly created_at: string;
}

export interface KindStatusView {
  readonly state: DriftState;
  readonly reference: (ReferenceSummary & { readonly stale: boolean }) | null;
  /** Queries gathered toward an observed reference. */
  readonly collecting: number;
  /** Items in the current, not yet full window. */
  readonly buffered: number;
  readonly windows: number;
  readonly dropped_windows: number;
  readonly consecutive_alerts: number;
  readonly consecutive_clean: number;
}

export interface DriftStatus {
  readonly collection: string;
  readonly state: DriftState;
  readonly generation: number;
  readonly model: string;
  readonly metrics: DriftMetricView[];
  readonly kinds: Record<DriftKind, KindStatusView>;
  readonly history: DriftHistoryView[];
  readonly config: ReturnType<typeof driftConfigView>;
}

export interface WindowEvaluated {
  readonly collection: string;
  readonly kind: DriftKind;
  readonly state: DriftState;
  readonly previous: DriftState;
  /** Worst state over the collection's kinds after this window. */
  readonly collectionState: DriftState;
  readonly evaluation: WindowEvaluation;
}

function emptyBuffer(generation: number, epoch: number): Buffer {
  return { generation, epoch, vectors: [], top1: [], tokens: NO_TOKENS };
}

function emptyKind(): KindState {
  return {
    reference: undefined,
    meta: undefined,
    collecting: undefined,
    window: undefined,
    machine: new DriftStateMachine(),
    windows: 0,
    pending: 0,
    dropped: 0,
    busy: false,
    epoch: 0,
    last: undefined,
  };
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function isTokenTotals(v: unknown): v is TokenTotals {
  const t = v as TokenTotals | null;
  return !!t && typeof t === 'object' && [t.texts, t.tokens, t.unknown, t.truncated].every((x) => typeof x === 'number' && x >= 0);
}

function numbers(v: unknown): number[] {
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)) : [];
}

export class DriftMonitor {
  private readonly collections = new Map<string, CollectionState>();
  private readonly listeners = new Set<(e: WindowEvaluated) => void>();
  private readonly unsubscribe: (() => void)[];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly service: SearchService) {
    this.unsubscribe = [service.events.onQuery((e) => this.onQuery(e)), service.events.onDocuments((e) => this.onDocuments(e))];
  }

  private get store(): Store {
    return this.service.context.store;
  }

  /** Stops listening; pending evaluations are abandoned. */
  close(): void {
    this.closed = true;
    for (const u of this.unsubscribe) u();
  }

  /** Called after every evaluated window (the policy listens). */
  onEvaluated(listener: (e: WindowEvaluated) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when no window evaluation or reference work is pending. */
  flush(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Worst state over the collection's kinds. */
  state(collection: string): DriftState {
    const row = requireCollection(this.service.context, collection);
    const st = this.stateFor(row);
    return worstState(DRIFT_KINDS.map((k) => st.kinds[k].machine.state));
  }

  /** Each kind's state. */
  kindStates(collection: string): Record<DriftKind, DriftState> {
    const st = this.stateFor(requireCollection(this.service.context, collection));
    return { queries: st.kinds.queries.machine.state, documents: st.kinds.documents.machine.state };
  }

  // ---- events ----

  private onQuery(e: QueryObserved): void {
    if (this.closed || !e.queryVector) return;
    const row = this.store.getCollection(e.collection);
    if (!row || row.liveGeneration !== e.generation) return;
    const st = this.stateFor(row);
    const k = st.kinds.queries;
    if (k.busy) return;
    const config = driftConfigFrom(row.settings);
    if (k.reference && k.reference.generation !== e.generation) this.rebaseQueries(row, st, e.generation);
    if (k.busy) return;
    const item = (b: Buffer) => {
      b.vectors.push(e.queryVector!);
      if (e.topScore !== undefined && Number.isFinite(e.topScore)) b.top1.push(e.topScore);
      b.tokens = addTokens(b.tokens, { texts: 1, tokens: e.tokens ?? 0, unknown: e.unknownTokens ?? 0, truncated: e.truncated ? 1 : 0 });
    };
    if (!k.reference) {
      if (!k.collecting || k.collecting.generation !== e.generation) k.collecting = emptyBuffer(e.generation, k.epoch);
      item(k.collecting);
      if (k.collecting.vectors.length >= config.queries.referenceSize) {
        const c = k.collecting;
        k.collecting = undefined;
        this.installReference(row, st, 'queries', { generation: c.generation, vectors: c.vectors, top1: c.top1, tokens: c.tokens }, { source: 'observed', createdAt: new Date().toISOString() }, config);
      }
      return;
    }
    if (!k.window || k.window.generation !== e.generation || k.window.epoch !== k.epoch) k.window = emptyBuffer(e.generation, k.epoch);
    item(k.window);
    if (k.window.vectors.length >= config.queries.window) {
      const w = k.window;
      k.window = undefined;
      this.schedule(st, 'queries', w);
    }
  }

  private onDocuments(e: DocumentsObserved): void {
    if (this.closed || e.vectors.length === 0) return;
    const row = this.store.getCollection(e.collection);
    if (!row || row.liveGeneration !== e.generation) return;
    const st = this.stateFor(row);
    const k = st.kinds.documents;
    const config = driftConfigFrom(row.settings);
    const stored = this.store.countVectors(e.generation);
    const needs =
      !k.reference ||
      k.reference.generation !== e.generation ||
      (config.documents.refreshGrowth > 0 &&
        k.meta?.source === 'sampled' &&
        k.machine.state === 'ok' &&
        stored >= config.documents.refreshGrowth * (k.meta.documents ?? Infinity));
    if (needs) {
      if (stored >= config.documents.minReference) {
        const why = !k.reference ? 'first reference' : k.reference.generation !== e.generation ? 'new generation' : 'collection grew';
        this.sampleDocuments(row, st, e.generation, config, why);
      } else if (k.reference?.generation !== e.generation) {
        // Too few documents yet: this batch will be part of the reference.
        return;
      }
    }
    if (!k.window || k.window.generation !== e.generation || k.window.epoch !== k.epoch) k.window = emptyBuffer(e.generation, k.epoch);
    const w = k.window;
    for (let i = 0; i < e.vectors.length; i++) {
      w.vectors.push(e.vectors[i]!);
      w.tokens = addTokens(w.tokens, { texts: 1, tokens: e.tokens[i] ?? 0, unknown: e.unknownTokens[i] ?? 0, truncated: e.truncated[i] ? 1 : 0 });
      if (w.vectors.length >= config.documents.window) {
        // A batch can fill several windows; token totals go with the window that holds the text.
        this.schedule(st, 'documents', { ...w, vectors: w.vectors.slice() });
        w.vectors = [];
        w.tokens = NO_TOKENS;
      }
    }
  }

  // ---- references ----

  /** Samples the live generation's stored vectors as the document reference (e.g. after a re-embedding swap). */
  captureDocumentReference(collection: string): ReferenceSummary {
    const row = requireCollection(this.service.context, collection);
    const generation = liveGeneration(this.service.context, row);
    const st = this.stateFor(row);
    const config = driftConfigFrom(row.settings);
    if (this.store.countVectors(generation.id) < 2) throw new InvalidInputError(`collection '${collection}' has too few documents for a drift reference`);
    this.sampleDocuments(row, st, generation.id, config, 'requested');
    return this.summary(st.kinds.documents)!;
  }

  private sampleDocuments(row: CollectionRow, st: CollectionState, generation: number, config: DriftConfig, why: string): void {
    const started = performance.now();
    const ids = this.store.vectorIds(generation);
    const rng = mulberry32(SAMPLE_SEED ^ hashString(row.name));
    const chosen = sampleIndices(ids.length, config.documents.referenceSize, rng).map((i) => ids[i]!);
    const found = this.store.getVectors(generation, chosen);
    const vectors = chosen.map((id) => found.get(id)).filter((v): v is Float32Array => v !== undefined);
    if (vectors.length < 2) return;
    const k = st.kinds.documents;
    // Token statistics carry over within a generation (a refresh); a new generation calibrates again.
    const tokens = k.reference?.generation === generation ? k.reference.tokens : undefined;
    this.installReference(row, st, 'documents', { generation, vectors, top1: [], tokens }, { source: 'sampled', createdAt: new Date().toISOString(), documents: ids.length }, config, why);
    log.debug('drift document reference sampled', { collection: row.name, ms: Math.round(performance.now() - started) });
  }

  /**
   * Embeds `texts` with the live model as the query reference (their top-1 scores come from the
   * live index); the query windows and state start over.
   */
  async setReferenceQueries(collection: string, texts: readonly string[]): Promise<ReferenceSummary> {
    if (texts.length < 2) throw new InvalidInputError('a query reference needs at least 2 queries');
    if (texts.length > MAX_REFERENCE_QUERIES) throw new InvalidInputError(`a query reference holds at most ${MAX_REFERENCE_QUERIES} queries`);
    const row = requireCollection(this.service.context, collection);
    const st = this.stateFor(row);
    const k = st.kinds.queries;
    if (k.busy) throw new InvalidInputError(`collection '${collection}' is already building a query reference; try again shortly`);
    k.busy = true;
    this.inFlight++;
    try {
      return await this.embedQueryReference(row, st, texts);
    } finally {
      k.busy = false;
      this.settle();
    }
  }

  private async embedQueryReference(row: CollectionRow, st: CollectionState, texts: readonly string[]): Promise<ReferenceSummary> {
    const ctx = this.service.context;
    const generation = liveGeneration(ctx, row);
    const engine = await ctx.engines.get(generation.model);
    const index = await ctx.indexes.get(row, generation);
    const vectors: Float32Array[] = [];
    let tokens = NO_TOKENS;
    for (let i = 0; i < texts.length; i += EMBED_CHUNK) {
      const out = await engine.embed(texts.slice(i, i + EMBED_CHUNK), 'query');
      vectors.push(...out.vectors);
      for (let j = 0; j < out.vectors.length; j++) {
        tokens = addTokens(tokens, { texts: 1, tokens: out.tokenCounts[j]!, unknown: out.unknownTokens[j]!, truncated: out.truncated[j] ? 1 : 0 });
      }
    }
    const top1: number[] = [];
    for (const vector of vectors) {
      const hits = await index.search({ vector, k: 1, ef: row.hnsw.efSearch });
      if (hits[0]) top1.push(hits[0].score);
    }
    const keptChars = texts.reduce((n, t) => n + t.length, 0);
    const config = driftConfigFrom(row.settings);
    this.installReference(
      row,
      st,
      'queries',
      { generation: generation.id, vectors, top1, tokens },
      { source: 'supplied', createdAt: new Date().toISOString(), ...(keptChars <= MAX_KEPT_TEXT_CHARS ? { texts: [...texts] } : {}) },
      config,
      'supplied',
    );
    return this.summary(st.kinds.queries)!;
  }

  /** The live generation changed under the query reference: re-embed supplied texts, or gather anew. */
  private rebaseQueries(row: CollectionRow, st: CollectionState, generation: number): void {
    const k = st.kinds.queries;
    const texts = k.meta?.texts;
    k.reference = undefined;
    k.window = undefined;
    k.collecting = undefined;
    k.epoch++;
    k.machine.reset();
    if (texts && texts.length >= 2) {
      log.info('drift: live generation changed; re-embedding the supplied query reference', { collection: row.name, generation });
      k.busy = true;
      this.inFlight++;
      void this.embedQueryReference(row, st, texts)
        .catch((err: unknown) => {
          log.warn('drift: could not re-embed the query reference; gathering observed queries instead', { collection: row.name, error: err });
          k.meta = undefined;
          this.store.deleteDriftReference(row.name, 'queries');
        })
        .catch(() => undefined) // the store may be closed by now
        .finally(() => {
          k.busy = false;
          this.settle();
        });
    } else {
      log.info('drift: live generation changed; gathering a new query reference from observed queries', { collection: row.name, generation });
      this.store.deleteDriftReference(row.name, 'queries');
      k.meta = undefined;
    }
  }

  private installReference(
    row: CollectionRow,
    st: CollectionState,
    kind: DriftKind,
    ref: { generation: number; vectors: Float32Array[]; top1: number[]; tokens: TokenTotals | undefined },
    meta: ReferenceMeta,
    config: DriftConfig,
    why: string = meta.source,
  ): void {
    const k = st.kinds[kind];
    const sameBaseline = kind === 'documents' && k.reference?.generation === ref.generation && why === 'collection grew';
    this.store.putDriftReference({ collection: row.name, kind, generation: ref.generation, vectors: ref.vectors, scores: this.scoresJson(ref, meta) });
    k.reference = prepareReference({ kind, generation: ref.generation, vectors: ref.vectors, top1: ref.top1, tokens: ref.tokens && ref.tokens.texts > 0 ? ref.tokens : undefined }, config.maxPerSide);
    k.meta = meta;
    if (!sameBaseline) {
      // A new baseline: what was measured against the old one no longer applies.
      k.window = undefined;
      k.epoch++;
      k.machine.reset();
    }
    log.info('drift reference set', { collection: row.name, kind, source: meta.source, count: ref.vectors.length, generation: ref.generation, why });
  }

  private scoresJson(ref: { top1: readonly number[]; tokens: TokenTotals | undefined }, meta: ReferenceMeta): Record<string, unknown> {
    return {
      top1: ref.top1,
      tokens: ref.tokens ?? null,
      source: meta.source,
      ...(meta.documents !== undefined ? { documents: meta.documents } : {}),
      ...(meta.texts ? { texts: meta.texts } : {}),
    };
  }

  // ---- evaluation ----

  private schedule(st: CollectionState, kind: DriftKind, items: Buffer): void {
    const k = st.kinds[kind];
    if (k.pending >= MAX_PENDING) {
      k.dropped++;
      return;
    }
    k.pending++;
    this.inFlight++;
    setImmediate(() => {
      try {
        if (!this.closed) this.evaluatePending(st, kind, items);
      } catch (err) {
        log.warn('drift window evaluation failed', { collection: st.name, kind, error: err });
      } finally {
        k.pending--;
        this.settle();
      }
    });
  }

  private settle(): void {
    this.inFlight--;
    if (this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private evaluatePending(st: CollectionState, kind: DriftKind, items: Buffer): void {
    const row = this.store.getCollection(st.name);
    if (!row || row.createdAt !== st.createdAt) return;
    const k = st.kinds[kind];
    const ref = k.reference;
    if (!ref || ref.generation !== items.generation || k.epoch !== items.epoch) return;
    const config = driftConfigFrom(row.settings);
    const index = k.windows + 1;
    const evaluation = evaluateWindow(ref, items, kind, config, (hashString(`${st.name}/${kind}`) + index * 7919) >>> 0);
    if (!ref.tokens && items.tokens.texts > 0) {
      // A sampled reference has no token statistics: this first window sets them.
      k.reference = { ...ref, tokens: items.tokens };
      const stored = this.store.getDriftReference(st.name, kind);
      if (stored) this.store.putDriftReference({ ...stored, scores: { ...stored.scores, tokens: items.tokens } });
    }
    const previous = k.machine.state;
    const state = k.machine.step(evaluation.alert, config.persist, config.recover);
    k.windows = index;
    const evaluatedAt = new Date().toISOString();
    k.last = { index, size: items.vectors.length, generation: items.generation, evaluatedAt, evaluation, state };
    this.store.appendDriftHistory(
      {
        collection: st.name,
        kind,
        state,
        metrics: {
          alert: evaluation.alert,
          reasons: evaluation.reasons,
          window: { index, size: items.vectors.length, generation: items.generation },
          consecutive: { alerts: k.machine.alerts, clean: k.machine.cleans },
          metrics: evaluation.metrics,
          ms: evaluation.ms,
          bandwidth: evaluation.bandwidth,
        },
      },
      config.history,
    );
    if (state !== previous) {
      const fields = { collection: st.name, kind, from: previous, to: state, window: index, reasons: evaluation.reasons };
      if (state === 'ok') log.info('drift cleared', fields);
      else log.warn(state === 'drifted' ? 'drift detected' : 'drift warning', fields);
    }
    const collectionState = worstState(DRIFT_KINDS.map((kk) => st.kinds[kk].machine.state));
    for (const l of this.listeners) {
      try {
        l({ collection: st.name, kind, state, previous, collectionState, evaluation });
      } catch (err) {
        log.warn('drift listener failed', { error: err });
      }
    }
  }

  /**
   * Evaluates `items` against the collection's current reference of `kind` without recording
   * anything or changing state (what-if analysis, tests). Undefined when there is no reference.
   */
  evaluate(collection: string, kind: DriftKind, items: WindowItems, seed = 1): WindowEvaluation | undefined {
    const row = requireCollection(this.service.context, collection);
    const ref = this.stateFor(row).kinds[kind].reference;
    if (!ref) return undefined;
    return evaluateWindow(ref, items, kind, driftConfigFrom(row.settings), seed);
  }

  // ---- state ----

  private stateFor(row: CollectionRow): CollectionState {
    const cached = this.collections.get(row.name);
    if (cached && cached.createdAt === row.createdAt) return cached;
    const st: CollectionState = { name: row.name, createdAt: row.createdAt, kinds: { queries: emptyKind(), documents: emptyKind() } };
    this.collections.set(row.name, st);
    const config = driftConfigFrom(row.settings);
    for (const kind of DRIFT_KINDS) {
      const k = st.kinds[kind];
      try {
        const stored = this.store.getDriftReference(row.name, kind);
        if (stored && stored.generation !== null && stored.vectors.length >= 2) {
          const s = stored.scores ?? {};
          const tokens = isTokenTotals(s.tokens) ? s.tokens : undefined;
          k.reference = prepareReference({ kind, generation: stored.generation, vectors: stored.vectors, top1: numbers(s.top1), tokens }, config.maxPerSide);
          const texts = Array.isArray(s.texts) ? s.texts.filter((t): t is string => typeof t === 'string') : undefined;
          k.meta = {
            source: s.source === 'supplied' || s.source === 'observed' || s.source === 'sampled' ? s.source : kind === 'documents' ? 'sampled' : 'observed',
            createdAt: stored.createdAt,
            ...(typeof s.documents === 'number' ? { documents: s.documents } : {}),
            ...(texts ? { texts } : {}),
          };
        }
      } catch (err) {
        log.warn('drift: could not load the stored reference; a new one will be taken', { collection: row.name, kind, error: err });
      }
      // State and streaks from the newest history rows.
      const rows = this.store.listDriftHistory(row.name, { kind, limit: Math.max(config.persist, config.recover) + 1 });
      const newest = rows[0];
      if (newest && (newest.state === 'ok' || newest.state === 'warning' || newest.state === 'drifted')) {
        const consecutive = newest.metrics.consecutive as { alerts?: unknown; clean?: unknown } | undefined;
        k.machine = new DriftStateMachine(newest.state, Number(consecutive?.alerts) || 0, Number(consecutive?.clean) || 0);
        const window = newest.metrics.window as { index?: unknown } | undefined;
        k.windows = Number(window?.index) || 0;
      }
    }
    return st;
  }

  private summary(k: KindState): ReferenceSummary | undefined {
    if (!k.reference || !k.meta) return undefined;
    return { kind: k.reference.kind, source: k.meta.source, count: k.reference.vectors.length, generation: k.reference.generation, created_at: k.meta.createdAt };
  }

  /** Everything GET /drift shows. */
  status(collection: string, historyLimit = 50): DriftStatus {
    const row = requireCollection(this.service.context, collection);
    const generation = liveGeneration(this.service.context, row);
    const st = this.stateFor(row);
    const config = driftConfigFrom(row.settings);
    const metrics: DriftMetricView[] = [];
    const kinds = {} as Record<DriftKind, KindStatusView>;
    for (const kind of DRIFT_KINDS) {
      const k = st.kinds[kind];
      if (k.last) metrics.push(...this.metricViews(kind, k.last));
      const summary = this.summary(k);
      kinds[kind] = {
        state: k.machine.state,
        reference: summary ? { ...summary, stale: summary.generation !== generation.id } : null,
        collecting: k.collecting?.vectors.length ?? 0,
        buffered: k.window?.vectors.length ?? 0,
        windows: k.windows,
        dropped_windows: k.dropped,
        consecutive_alerts: k.machine.alerts,
        consecutive_clean: k.machine.cleans,
      };
    }
    return {
      collection: row.name,
      state: worstState(DRIFT_KINDS.map((k) => st.kinds[k].machine.state)),
      generation: generation.id,
      model: generation.model,
      metrics,
      kinds,
      history: this.store.listDriftHistory(row.name, { limit: historyLimit }).map(historyView),
      config: driftConfigView(config),
    };
  }

  private metricViews(kind: DriftKind, last: LastWindow): DriftMetricView[] {
    const window = { index: last.index, size: last.size, generation: last.generation, evaluated_at: last.evaluatedAt };
    return last.evaluation.metrics.map((m) => ({ name: m.name, kind, value: m.value, threshold: m.threshold, exceeded: m.exceeded, window }));
  }

  /** Samples for /metrics: collections this monitor has seen. */
  gauges(): { states: { collection: string; kind: DriftKind | 'all'; state: DriftState }[]; metrics: { collection: string; kind: DriftKind; metric: string; value: number }[] } {
    const states: { collection: string; kind: DriftKind | 'all'; state: DriftState }[] = [];
    const metrics: { collection: string; kind: DriftKind; metric: string; value: number }[] = [];
    for (const st of [...this.collections.values()]) {
      const row = this.store.getCollection(st.name);
      if (!row || row.createdAt !== st.createdAt) {
        this.collections.delete(st.name);
        continue;
      }
      states.push({ collection: st.name, kind: 'all', state: worstState(DRIFT_KINDS.map((k) => st.kinds[k].machine.state)) });
      for (const kind of DRIFT_KINDS) {
        const k = st.kinds[kind];
        states.push({ collection: st.name, kind, state: k.machine.state });
        for (const m of k.last?.evaluation.metrics ?? []) if (m.value !== null && Number.isFinite(m.value)) metrics.push({ collection: st.name, kind, metric: m.name, value: m.value });
      }
    }
    return { states, metrics };
  }
}

function historyView(r: DriftHistoryRow): DriftHistoryView {
  const m = r.metrics;
  const values: Record<string, number | null> = {};
  for (const metric of (Array.isArray(m.metrics) ? m.metrics : []) as MetricValue[]) values[metric.name] = metric.value;
  return {
    kind: r.kind,
    state: r.state,
    alert: m.alert === true,
    reasons: Array.isArray(m.reasons) ? (m.reasons as string[]) : [],
    window: m.window ?? null,
    metrics: values,
    ms: typeof m.ms === 'number' ? m.ms : null,
    created_at: r.createdAt,
  };
}
