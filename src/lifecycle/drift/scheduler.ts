/**
 * Evaluation scheduling: full windows (windows.ts) are queued per collection and kind and
 * evaluated later, one at a time in the drift evaluation worker (evaluator.ts), at most
 * MAX_PENDING waiting; beyond that a window is dropped and counted. An evaluation compares the
 * window with the kind's current reference (evaluate.ts, stats.ts; seeded per collection, kind
 * and window index), steps the kind's state machine (ok → warning on an alert window, drifted
 * after `persist` consecutive ones, ok again after `recover` clean ones), appends a drift_history
 * row, logs state changes and tells the `onEvaluated` listeners. A window of an older generation
 * or reference epoch, or of a collection since deleted (also while its evaluation ran), is skipped. `restore` recovers a kind's state, streaks and window
 * count from its newest history rows.
 *
 * `flush` resolves when nothing is in flight: queued evaluations, and reference work that holds
 * the scheduler (`hold`/`release`, references.ts).
 */
import { log } from '../../log.ts';
import type { CollectionRow } from '../../store/types.ts';
import type { DriftDeps, DriftStore } from './deps.ts';
import { DRIFT_KINDS, driftConfigFrom, type DriftConfig, type DriftKind } from './config.ts';
import { DriftStateMachine, worstState, type DriftState, type WindowEvaluation } from './evaluate.ts';
import { evaluateWindowOffThread } from './evaluator.ts';
import { calibrateTokens, type KindReference, type PendingWork } from './references.ts';
import { hashString } from './stats.ts';
import type { FullWindow } from './windows.ts';

/** Windows waiting for evaluation per collection and kind; more are dropped. */
const MAX_PENDING = 4;

export interface LastWindow {
  readonly index: number;
  readonly size: number;
  readonly generation: number;
  readonly evaluatedAt: string;
  readonly evaluation: WindowEvaluation;
  readonly state: DriftState;
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

/** One collection's evaluations of one kind. */
export class KindEvaluation {
  machine = new DriftStateMachine();
  /** Windows evaluated so far (the last one's index). */
  windows = 0;
  /** Windows waiting for evaluation. */
  pending = 0;
  /** Windows dropped because MAX_PENDING were waiting. */
  dropped = 0;
  last: LastWindow | undefined = undefined;
}

/** What an evaluation needs of a collection: its identity, and each kind's reference and evaluations. */
export interface EvaluatedCollection {
  readonly name: string;
  readonly createdAt: string;
  readonly kinds: Readonly<Record<DriftKind, { readonly reference: KindReference; readonly evaluation: KindEvaluation }>>;
}

export class DriftScheduler implements PendingWork {
  private readonly listeners = new Set<(e: WindowEvaluated) => void>();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  /** The evaluations in flight, chained in window order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly deps: DriftDeps) {}

  private get store(): DriftStore {
    return this.deps.store;
  }

  /** Queued evaluations are abandoned. */
  close(): void {
    this.closed = true;
  }

  /** Called after every evaluated window. */
  onEvaluated(listener: (e: WindowEvaluated) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when no window evaluation or reference work is pending. */
  flush(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Counts work that `flush` waits for. */
  hold(): void {
    this.inFlight++;
  }

  /** Ends work counted by `hold`; wakes `flush` waiters when nothing is left. */
  release(): void {
    this.inFlight--;
    if (this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Queues a full window of `kind` for evaluation, or drops it when MAX_PENDING are waiting. */
  schedule(st: EvaluatedCollection, kind: DriftKind, window: FullWindow): void {
    const k = st.kinds[kind].evaluation;
    if (k.pending >= MAX_PENDING) {
      k.dropped++;
      return;
    }
    k.pending++;
    this.hold();
    // One evaluation at a time, in the order the windows filled: each steps its kind's state
    // machine, and its seed depends on the window's index. The statistics run in the drift
    // evaluation worker (evaluator.ts); the rest waits a turn of the event loop, so none of it
    // runs on the request that filled the window.
    this.queue = this.queue
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(async () => {
        try {
          if (!this.closed) await this.evaluatePending(st, kind, window);
        } catch (err) {
          log.warn('drift window evaluation failed', { collection: st.name, kind, err });
        } finally {
          k.pending--;
          this.release();
        }
      });
  }

  private async evaluatePending(st: EvaluatedCollection, kind: DriftKind, items: FullWindow): Promise<void> {
    const r = st.kinds[kind].reference;
    const k = st.kinds[kind].evaluation;
    const current = () => {
      const row = this.store.getCollection(st.name);
      const live = row !== undefined && row.createdAt === st.createdAt && r.sample !== undefined && r.sample.generation === items.generation && r.epoch === items.epoch;
      return live ? { row, ref: r.sample! } : undefined;
    };
    const before = current();
    if (!before) return;
    const config = driftConfigFrom(before.row.settings);
    const index = k.windows + 1;
    const evaluation = await evaluateWindowOffThread(before.ref, items, kind, config, (hashString(`${st.name}/${kind}`) + index * 7919) >>> 0);
    // The collection may have been deleted, or its reference replaced, meanwhile: then this window
    // belongs to what was, like a window of an older epoch.
    if (this.closed || !current()) return;
    calibrateTokens(this.store, st.name, kind, r, items.tokens);
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
    const collectionState = worstState(DRIFT_KINDS.map((kk) => st.kinds[kk].evaluation.machine.state));
    for (const l of this.listeners) {
      try {
        l({ collection: st.name, kind, state, previous, collectionState, evaluation });
      } catch (err) {
        log.warn('drift listener failed', { err });
      }
    }
  }

  /** The kind's state, streaks and window count from its newest history rows. */
  restore(row: CollectionRow, kind: DriftKind, k: KindEvaluation, config: DriftConfig): void {
    const rows = this.store.listDriftHistory(row.name, { kind, limit: Math.max(config.persist, config.recover) + 1 });
    const newest = rows[0];
    if (newest && (newest.state === 'ok' || newest.state === 'warning' || newest.state === 'drifted')) {
      const consecutive = newest.metrics.consecutive as { alerts?: unknown; clean?: unknown } | undefined;
      k.machine = new DriftStateMachine(newest.state, Number(consecutive?.alerts) || 0, Number(consecutive?.clean) || 0);
      const window = newest.metrics.window as { index?: unknown } | undefined;
      k.windows = Number(window?.index) || 0;
    }
  }
}
