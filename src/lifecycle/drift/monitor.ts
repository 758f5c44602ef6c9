/**
 * Drift monitor: the facade over drift detection. It subscribes to what the search service
 * reports (`SearchEvents`), keeps each collection's state per kind (queries, documents) and
 * wires the parts:
 *
 * - windows.ts: tumbling windows that buffer the observed embeddings until a window is full;
 * - references.ts: the reference samples windows are compared with (observed, supplied, sampled),
 *   taken, re-embedded after a generation change, persisted and read back;
 * - scheduler.ts: evaluation of full windows off the request path, the ok/warning/drifted state
 *   machine, drift_history rows and the `onEvaluated` listeners (the policy listens).
 *
 * It answers what the API, the policy and /metrics ask: `state`, `status` (domain objects; the
 * JSON shapes are src/api/views/drift.ts), `gauges`, and a what-if `evaluate`.
 *
 * Cost on the request path: an event appends to a buffer. Full windows are evaluated later
 * (setImmediate), at most MAX_PENDING per collection and kind; beyond that windows are dropped
 * and counted. A document-reference capture runs in the event (before the batch is committed,
 * so the sample holds only earlier documents); it is rare (see references.ts).
 */
import { liveGeneration, requireCollection } from '../../search/context.ts';
import type { DocumentsObserved, QueryObserved } from '../../search/events.ts';
import type { CollectionRow, DriftHistoryRow } from '../../store/types.ts';
import type { DriftDeps, DriftStore } from './deps.ts';
import { DRIFT_KINDS, driftConfigFrom, type DriftConfig, type DriftKind } from './config.ts';
import { evaluateWindow, worstState, type DriftState, type WindowEvaluation, type WindowItems } from './evaluate.ts';
import {
  checkReferenceQueries,
  documentSampleReason,
  DriftReferences,
  KindReference,
  type ReferenceStatus,
  type ReferenceSummary,
  type ReferenceTarget,
} from './references.ts';
import { DriftScheduler, KindEvaluation, type LastWindow, type WindowEvaluated } from './scheduler.ts';
import { KindWindows } from './windows.ts';

export { MAX_REFERENCE_QUERIES, type ReferenceSource, type ReferenceStatus, type ReferenceSummary } from './references.ts';
export type { LastWindow, WindowEvaluated } from './scheduler.ts';

/** One collection's drift detection of one kind: its reference, its windows and its evaluations. */
class KindState implements ReferenceTarget {
  readonly reference = new KindReference();
  readonly windows = new KindWindows();
  readonly evaluation = new KindEvaluation();

  startOver(gathered: boolean): void {
    if (gathered) this.windows.discardAll();
    else this.windows.discardWindow();
    this.evaluation.machine.reset();
  }
}

interface CollectionState {
  readonly name: string;
  readonly createdAt: string;
  readonly kinds: Record<DriftKind, KindState>;
}

export interface DriftKindStatus {
  readonly state: DriftState;
  readonly reference: ReferenceStatus | undefined;
  /** Queries gathered toward an observed reference. */
  readonly collecting: number;
  /** Items in the current, not yet full window. */
  readonly buffered: number;
  readonly windows: number;
  readonly droppedWindows: number;
  readonly consecutiveAlerts: number;
  readonly consecutiveClean: number;
  /** The last evaluated window (its metrics are the current ones). */
  readonly last: LastWindow | undefined;
}

/** Everything GET /drift shows but the policy (src/api/views/drift.ts makes the JSON). */
export interface DriftStatus {
  readonly collection: string;
  /** Worst state over the kinds. */
  readonly state: DriftState;
  /** The live generation. */
  readonly generation: number;
  readonly model: string;
  readonly kinds: Record<DriftKind, DriftKindStatus>;
  /** Newest first. */
  readonly history: DriftHistoryRow[];
  readonly config: DriftConfig;
}

export interface DriftGauges {
  readonly states: { collection: string; kind: DriftKind | 'all'; state: DriftState }[];
  readonly metrics: { collection: string; kind: DriftKind; metric: string; value: number }[];
}

export class DriftMonitor {
  private readonly collections = new Map<string, CollectionState>();
  private readonly scheduler: DriftScheduler;
  private readonly references: DriftReferences;
  private readonly unsubscribe: (() => void)[];
  private closed = false;

  constructor(private readonly deps: DriftDeps) {
    this.scheduler = new DriftScheduler(deps);
    this.references = new DriftReferences(deps, this.scheduler);
    this.unsubscribe = [deps.events.onQuery((e) => this.onQuery(e)), deps.events.onDocuments((e) => this.onDocuments(e))];
  }

  private get store(): DriftStore {
    return this.deps.store;
  }

  /** Stops listening; pending evaluations are abandoned. */
  close(): void {
    this.closed = true;
    this.scheduler.close();
    for (const u of this.unsubscribe) u();
  }

  /** Called after every evaluated window (the policy listens). */
  onEvaluated(listener: (e: WindowEvaluated) => void): () => void {
    return this.scheduler.onEvaluated(listener);
  }

  /** Resolves when no window evaluation or reference work is pending. */
  flush(): Promise<void> {
    return this.scheduler.flush();
  }

  /** Worst state over the collection's kinds. */
  state(collection: string): DriftState {
    const row = requireCollection(this.deps, collection);
    const st = this.stateFor(row);
    return worstState(DRIFT_KINDS.map((k) => st.kinds[k].evaluation.machine.state));
  }

  /** Each kind's state. */
  kindStates(collection: string): Record<DriftKind, DriftState> {
    const st = this.stateFor(requireCollection(this.deps, collection));
    return { queries: st.kinds.queries.evaluation.machine.state, documents: st.kinds.documents.evaluation.machine.state };
  }

  // ---- events ----

  private onQuery(e: QueryObserved): void {
    if (this.closed || !e.queryVector) return;
    const row = this.store.getCollection(e.collection);
    if (!row || row.liveGeneration !== e.generation) return;
    const st = this.stateFor(row);
    const k = st.kinds.queries;
    if (k.reference.busy) return;
    const config = driftConfigFrom(row.settings);
    if (k.reference.sample && k.reference.sample.generation !== e.generation) this.references.rebaseQueries(row, k, e.generation);
    if (k.reference.busy) return;
    if (!k.reference.sample) {
      const gathered = k.windows.collectQuery(e, k.reference.epoch, config.queries.referenceSize);
      if (gathered) this.references.installObserved(row, k, gathered, config);
      return;
    }
    const full = k.windows.addQuery(e, k.reference.epoch, config.queries.window);
    if (full) this.scheduler.schedule(st, 'queries', full);
  }

  private onDocuments(e: DocumentsObserved): void {
    if (this.closed || e.vectors.length === 0) return;
    const row = this.store.getCollection(e.collection);
    if (!row || row.liveGeneration !== e.generation) return;
    const st = this.stateFor(row);
    const k = st.kinds.documents;
    const config = driftConfigFrom(row.settings);
    const stored = this.store.countVectors(e.generation);
    const why = documentSampleReason(k.reference, k.evaluation.machine.state, e.generation, stored, config);
    if (why !== undefined) {
      if (stored >= config.documents.minReference) {
        this.references.sampleDocuments(row, k, e.generation, config, why);
      } else if (k.reference.sample?.generation !== e.generation) {
        // Too few documents yet: this batch will be part of the reference.
        return;
      }
    }
    for (const full of k.windows.addDocuments(e, k.reference.epoch, config.documents.window)) this.scheduler.schedule(st, 'documents', full);
  }

  // ---- references ----

  /** Samples the live generation's stored vectors as the document reference (e.g. after a re-embedding swap). */
  captureDocumentReference(collection: string): ReferenceSummary {
    const row = requireCollection(this.deps, collection);
    const generation = liveGeneration(this.deps, row);
    const st = this.stateFor(row);
    const config = driftConfigFrom(row.settings);
    return this.references.captureDocuments(collection, row, st.kinds.documents, generation.id, config);
  }

  /**
   * Embeds `texts` with the live model as the query reference (their top-1 scores come from the
   * live index); the query windows and state start over.
   */
  async setReferenceQueries(collection: string, texts: readonly string[]): Promise<ReferenceSummary> {
    checkReferenceQueries(texts);
    const row = requireCollection(this.deps, collection);
    const st = this.stateFor(row);
    return this.references.setQueries(collection, row, st.kinds.queries, texts);
  }

  // ---- evaluation ----

  /**
   * Evaluates `items` against the collection's current reference of `kind` without recording
   * anything or changing state (what-if analysis, tests). Undefined when there is no reference.
   */
  evaluate(collection: string, kind: DriftKind, items: WindowItems, seed = 1): WindowEvaluation | undefined {
    const row = requireCollection(this.deps, collection);
    const ref = this.stateFor(row).kinds[kind].reference.sample;
    if (!ref) return undefined;
    return evaluateWindow(ref, items, kind, driftConfigFrom(row.settings), seed);
  }

  // ---- state ----

  /** The collection's state (a collection recreated under the same name starts over), loaded from the store when first seen. */
  private stateFor(row: CollectionRow): CollectionState {
    const cached = this.collections.get(row.name);
    if (cached && cached.createdAt === row.createdAt) return cached;
    const st: CollectionState = { name: row.name, createdAt: row.createdAt, kinds: { queries: new KindState(), documents: new KindState() } };
    this.collections.set(row.name, st);
    const config = driftConfigFrom(row.settings);
    for (const kind of DRIFT_KINDS) {
      this.references.load(row, kind, st.kinds[kind].reference, config);
      this.scheduler.restore(row, kind, st.kinds[kind].evaluation, config);
    }
    return st;
  }

  /** Everything GET /drift shows but the policy; `historyLimit` newest history rows. */
  status(collection: string, historyLimit = 50): DriftStatus {
    const row = requireCollection(this.deps, collection);
    const generation = liveGeneration(this.deps, row);
    const st = this.stateFor(row);
    const config = driftConfigFrom(row.settings);
    const kinds = {} as Record<DriftKind, DriftKindStatus>;
    for (const kind of DRIFT_KINDS) {
      const k = st.kinds[kind];
      const { machine } = k.evaluation;
      kinds[kind] = {
        state: machine.state,
        reference: k.reference.status(generation.id),
        collecting: k.windows.collected,
        buffered: k.windows.buffered,
        windows: k.evaluation.windows,
        droppedWindows: k.evaluation.dropped,
        consecutiveAlerts: machine.alerts,
        consecutiveClean: machine.cleans,
        last: k.evaluation.last,
      };
    }
    return {
      collection: row.name,
      state: worstState(DRIFT_KINDS.map((k) => st.kinds[k].evaluation.machine.state)),
      generation: generation.id,
      model: generation.model,
      kinds,
      history: this.store.listDriftHistory(row.name, { limit: historyLimit }),
      config,
    };
  }

  /** Samples for /metrics: collections this monitor has seen. */
  gauges(): DriftGauges {
    const states: DriftGauges['states'] = [];
    const metrics: DriftGauges['metrics'] = [];
    for (const st of [...this.collections.values()]) {
      const row = this.store.getCollection(st.name);
      if (!row || row.createdAt !== st.createdAt) {
        this.collections.delete(st.name);
        continue;
      }
      states.push({ collection: st.name, kind: 'all', state: worstState(DRIFT_KINDS.map((k) => st.kinds[k].evaluation.machine.state)) });
      for (const kind of DRIFT_KINDS) {
        const k = st.kinds[kind];
        states.push({ collection: st.name, kind, state: k.evaluation.machine.state });
        for (const m of k.evaluation.last?.evaluation.metrics ?? []) if (m.value !== null && Number.isFinite(m.value)) metrics.push({ collection: st.name, kind, metric: m.name, value: m.value });
      }
    }
    return { states, metrics };
  }
}
