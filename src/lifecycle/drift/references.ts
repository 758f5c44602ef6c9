/**
 * Reference samples: per collection and kind, what the windows are compared with.
 *
 * - `observed` (queries): the first `queries.reference_size` embedded text queries seen on the
 *   live generation (gathered by windows.ts, installed here);
 * - `supplied` (queries): texts given to `setQueries` (POST /drift/reference), embedded with the
 *   live model, their top-1 scores taken from the live index. The texts are kept (up to
 *   MAX_KEPT_TEXT_CHARS) so that a new live generation re-embeds them (`rebaseQueries`);
 *   otherwise a generation change starts gathering observed queries again;
 * - `sampled` (documents): a seeded sample of the live generation's stored vectors, taken when a
 *   document batch arrives and the generation holds at least `documents.min_reference`
 *   documents, again after a generation change, when the collection has grown
 *   `documents.refresh_growth`-fold while its document drift is ok (`documentSampleReason`), or on
 *   request (`captureDocuments`). Token statistics of a sampled reference are unknown until the
 *   first window calibrates them (`calibrateTokens`).
 *
 * Installing a reference persists it (the drift_references row, with top-1 scores, token totals,
 * source, document count and kept texts in `scores`; `load` reads it back) and, unless it only
 * refreshes the same baseline, bumps the kind's epoch and starts the kind over
 * (`ReferenceTarget.startOver`). A reference of another generation than the live one is stale.
 */
import { InvalidInputError } from '../../errors.ts';
import { log } from '../../log.ts';
import { liveGeneration } from '../../search/context.ts';
import type { CollectionRow } from '../../store/types.ts';
import type { DriftDeps, DriftStore } from './deps.ts';
import { mulberry32 } from '../../util/random.ts';
import { driftConfigFrom, type DriftConfig, type DriftKind } from './config.ts';
import { addTokens, NO_TOKENS, prepareReference, type DriftState, type PreparedReference, type TokenTotals } from './evaluate.ts';
import { hashString, sampleIndices } from './stats.ts';
import type { FullWindow } from './windows.ts';

/** Queries a supplied reference may hold. */
export const MAX_REFERENCE_QUERIES = 2000;
/** Supplied reference texts are kept (for re-embedding after a generation change) up to this many characters. */
const MAX_KEPT_TEXT_CHARS = 1_000_000;
/** Seed of document reference sampling. */
const SAMPLE_SEED = 20_261_126;
/** Embedding chunk when a supplied reference is embedded. */
const EMBED_CHUNK = 128;

export type ReferenceSource = 'observed' | 'supplied' | 'sampled';

export interface ReferenceMeta {
  readonly source: ReferenceSource;
  readonly createdAt: string;
  /** Documents the generation held when the sample was taken (documents). */
  readonly documents?: number;
  /** Supplied query texts (kept to re-embed after a generation change). */
  readonly texts?: readonly string[];
}

export interface ReferenceSummary {
  readonly kind: DriftKind;
  readonly source: ReferenceSource;
  readonly count: number;
  readonly generation: number;
  readonly createdAt: string;
}

export interface ReferenceStatus extends ReferenceSummary {
  /** The reference is of another generation than the live one. */
  readonly stale: boolean;
}

/** One collection's reference of one kind. */
export class KindReference {
  sample: PreparedReference | undefined = undefined;
  meta: ReferenceMeta | undefined = undefined;
  /** A reference is being built asynchronously (re-embedding supplied texts): events are ignored. */
  busy = false;
  /** Bumped when a new baseline is installed. */
  epoch = 0;

  summary(): ReferenceSummary | undefined {
    if (!this.sample || !this.meta) return undefined;
    return { kind: this.sample.kind, source: this.meta.source, count: this.sample.vectors.length, generation: this.sample.generation, createdAt: this.meta.createdAt };
  }

  /** The summary and whether it is stale against the live generation. */
  status(liveGenerationId: number): ReferenceStatus | undefined {
    const summary = this.summary();
    return summary ? { ...summary, stale: summary.generation !== liveGenerationId } : undefined;
  }
}

/** What reference work needs of a collection's kind: its reference, and a way to start the kind over. */
export interface ReferenceTarget {
  readonly reference: KindReference;
  /** A new baseline: drops the current window (and, with `gathered`, queries gathered toward a reference) and resets the state. */
  startOver(gathered: boolean): void;
}

/** Counts asynchronous reference work, so that `flush` waits for it. */
export interface PendingWork {
  hold(): void;
  release(): void;
}

function isTokenTotals(v: unknown): v is TokenTotals {
  const t = v as TokenTotals | null;
  return !!t && typeof t === 'object' && [t.texts, t.tokens, t.unknown, t.truncated].every((x) => typeof x === 'number' && x >= 0);
}

function numbers(v: unknown): number[] {
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)) : [];
}

/** Rejects a supplied query reference that is too small or too big. */
export function checkReferenceQueries(texts: readonly string[]): void {
  if (texts.length < 2) throw new InvalidInputError('a query reference needs at least 2 queries');
  if (texts.length > MAX_REFERENCE_QUERIES) throw new InvalidInputError(`a query reference holds at most ${MAX_REFERENCE_QUERIES} queries`);
}

/**
 * Why a document batch of `generation` should (re)sample the document reference: none yet, a new
 * generation, or the collection grew `refresh_growth`-fold while ok. Undefined when it should not.
 */
export function documentSampleReason(k: KindReference, state: DriftState, generation: number, stored: number, config: DriftConfig): string | undefined {
  const needs =
    !k.sample ||
    k.sample.generation !== generation ||
    (config.documents.refreshGrowth > 0 && k.meta?.source === 'sampled' && state === 'ok' && stored >= config.documents.refreshGrowth * (k.meta.documents ?? Infinity));
  if (!needs) return undefined;
  return !k.sample ? 'first reference' : k.sample.generation !== generation ? 'new generation' : 'collection grew';
}

/** A sampled reference has no token statistics: the first window with texts sets them (in memory and stored). */
export function calibrateTokens(store: DriftStore, collection: string, kind: DriftKind, k: KindReference, tokens: TokenTotals): void {
  const ref = k.sample;
  if (!ref || ref.tokens || tokens.texts <= 0) return;
  k.sample = { ...ref, tokens };
  const stored = store.getDriftReference(collection, kind);
  if (stored) store.putDriftReference({ ...stored, scores: { ...stored.scores, tokens } });
}

export class DriftReferences {
  constructor(
    private readonly deps: DriftDeps,
    private readonly work: PendingWork,
  ) {}

  private get store(): DriftStore {
    return this.deps.store;
  }

  /** Reads the stored reference of `kind` back; one that cannot be read is logged and a new one will be taken. */
  load(row: CollectionRow, kind: DriftKind, k: KindReference, config: DriftConfig): void {
    try {
      const stored = this.store.getDriftReference(row.name, kind);
      if (stored && stored.generation !== null && stored.vectors.length >= 2) {
        const s = stored.scores ?? {};
        const tokens = isTokenTotals(s.tokens) ? s.tokens : undefined;
        k.sample = prepareReference({ kind, generation: stored.generation, vectors: stored.vectors, top1: numbers(s.top1), tokens }, config.maxPerSide);
        const texts = Array.isArray(s.texts) ? s.texts.filter((t): t is string => typeof t === 'string') : undefined;
        k.meta = {
          source: s.source === 'supplied' || s.source === 'observed' || s.source === 'sampled' ? s.source : kind === 'documents' ? 'sampled' : 'observed',
          createdAt: stored.createdAt,
          ...(typeof s.documents === 'number' ? { documents: s.documents } : {}),
          ...(texts ? { texts } : {}),
        };
      }
    } catch (err) {
      log.warn('drift: could not load the stored reference; a new one will be taken', { collection: row.name, kind, err });
    }
  }

  /** Installs queries gathered by the windows as the observed query reference. */
  installObserved(row: CollectionRow, target: ReferenceTarget, gathered: FullWindow, config: DriftConfig): void {
    const c = gathered;
    this.install(row, target, 'queries', { generation: c.generation, vectors: c.vectors, top1: c.top1, tokens: c.tokens }, { source: 'observed', createdAt: new Date().toISOString() }, config);
  }

  /** Samples generation `generation`'s stored vectors as the document reference on request (e.g. after a re-embedding swap). */
  captureDocuments(collection: string, row: CollectionRow, target: ReferenceTarget, generation: number, config: DriftConfig): ReferenceSummary {
    if (this.store.countVectors(generation) < 2) throw new InvalidInputError(`collection '${collection}' has too few documents for a drift reference`);
    this.sampleDocuments(row, target, generation, config, 'requested');
    return target.reference.summary()!;
  }

  sampleDocuments(row: CollectionRow, target: ReferenceTarget, generation: number, config: DriftConfig, why: string): void {
    const started = performance.now();
    const ids = this.store.vectorIds(generation);
    const rng = mulberry32(SAMPLE_SEED ^ hashString(row.name));
    const chosen = sampleIndices(ids.length, config.documents.referenceSize, rng).map((i) => ids[i]!);
    const found = this.store.getVectors(generation, chosen);
    const vectors = chosen.map((id) => found.get(id)).filter((v): v is Float32Array => v !== undefined);
    if (vectors.length < 2) return;
    const k = target.reference;
    // Token statistics carry over within a generation (a refresh); a new generation calibrates again.
    const tokens = k.sample?.generation === generation ? k.sample.tokens : undefined;
    this.install(row, target, 'documents', { generation, vectors, top1: [], tokens }, { source: 'sampled', createdAt: new Date().toISOString(), documents: ids.length }, config, why);
    log.debug('drift document reference sampled', { collection: row.name, ms: Math.round(performance.now() - started) });
  }

  /**
   * Embeds `texts` with the live model as the query reference (their top-1 scores come from the
   * live index); the query windows and state start over. `texts` has passed `checkReferenceQueries`.
   */
  async setQueries(collection: string, row: CollectionRow, target: ReferenceTarget, texts: readonly string[]): Promise<ReferenceSummary> {
    const k = target.reference;
    if (k.busy) throw new InvalidInputError(`collection '${collection}' is already building a query reference; try again shortly`);
    k.busy = true;
    this.work.hold();
    try {
      return await this.embedQueries(row, target, texts);
    } finally {
      k.busy = false;
      this.work.release();
    }
  }

  /** The live generation changed under the query reference: re-embed supplied texts, or gather anew. */
  rebaseQueries(row: CollectionRow, target: ReferenceTarget, generation: number): void {
    const k = target.reference;
    const texts = k.meta?.texts;
    k.sample = undefined;
    k.epoch++;
    target.startOver(true);
    if (texts && texts.length >= 2) {
      log.info('drift: live generation changed; re-embedding the supplied query reference', { collection: row.name, generation });
      k.busy = true;
      this.work.hold();
      void this.embedQueries(row, target, texts)
        .catch((err: unknown) => {
          log.warn('drift: could not re-embed the query reference; gathering observed queries instead', { collection: row.name, err });
          k.meta = undefined;
          this.store.deleteDriftReference(row.name, 'queries');
        })
        .catch(() => undefined) // the store may be closed by now
        .finally(() => {
          k.busy = false;
          this.work.release();
        });
    } else {
      log.info('drift: live generation changed; gathering a new query reference from observed queries', { collection: row.name, generation });
      this.store.deleteDriftReference(row.name, 'queries');
      k.meta = undefined;
    }
  }

  private async embedQueries(row: CollectionRow, target: ReferenceTarget, texts: readonly string[]): Promise<ReferenceSummary> {
    const ctx = this.deps;
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
    this.install(
      row,
      target,
      'queries',
      { generation: generation.id, vectors, top1, tokens },
      { source: 'supplied', createdAt: new Date().toISOString(), ...(keptChars <= MAX_KEPT_TEXT_CHARS ? { texts: [...texts] } : {}) },
      config,
      'supplied',
    );
    return target.reference.summary()!;
  }

  private install(
    row: CollectionRow,
    target: ReferenceTarget,
    kind: DriftKind,
    ref: { generation: number; vectors: Float32Array[]; top1: number[]; tokens: TokenTotals | undefined },
    meta: ReferenceMeta,
    config: DriftConfig,
    why: string = meta.source,
  ): void {
    const k = target.reference;
    const sameBaseline = kind === 'documents' && k.sample?.generation === ref.generation && why === 'collection grew';
    const stored = this.store.putDriftReference({ collection: row.name, kind, generation: ref.generation, vectors: ref.vectors, scores: scoresJson(ref, meta) });
    k.sample = prepareReference({ kind, generation: ref.generation, vectors: ref.vectors, top1: ref.top1, tokens: ref.tokens && ref.tokens.texts > 0 ? ref.tokens : undefined }, config.maxPerSide);
    // The row's own time, so the reference reads the same before and after a restart.
    k.meta = { ...meta, createdAt: stored.createdAt };
    if (!sameBaseline) {
      // A new baseline: what was measured against the old one no longer applies.
      k.epoch++;
      target.startOver(false);
    }
    log.info('drift reference set', { collection: row.name, kind, source: meta.source, count: ref.vectors.length, generation: ref.generation, why });
  }
}

function scoresJson(ref: { top1: readonly number[]; tokens: TokenTotals | undefined }, meta: ReferenceMeta): Record<string, unknown> {
  return {
    top1: ref.top1,
    tokens: ref.tokens ?? null,
    source: meta.source,
    ...(meta.documents !== undefined ? { documents: meta.documents } : {}),
    ...(meta.texts ? { texts: meta.texts } : {}),
  };
}
