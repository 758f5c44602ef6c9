/**
 * Rows and operations of the SQLite store — the source of truth from which every index can be
 * rebuilt. One repository interface per table group, each implemented in its own file; `Store`
 * is all of them together, implemented by `SqliteStore` (sqlite-store.ts).
 */
import type { Filter, Metadata } from '../values/filter.ts';
import type { BackendKind, HnswSettings } from '../values/backend.ts';

export type GenerationState = 'building' | 'live' | 'retired';

export interface CollectionRow {
  readonly name: string;
  /** Alias or name@version the collection should follow. */
  readonly modelTarget: string;
  readonly backend: BackendKind;
  readonly hnsw: HnswSettings;
  /** Dense weight of hybrid search (0 = keyword only, 1 = dense only). */
  readonly hybridAlpha: number;
  /** Generation searches use; null only transiently while a collection is created. */
  readonly liveGeneration: number | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Free-form per-collection settings later features add (drift, policy, eval set). */
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface GenerationRow {
  readonly id: number;
  readonly collection: string;
  /** Concrete name@version that made this generation's vectors. */
  readonly model: string;
  readonly dimensions: number;
  readonly backend: BackendKind;
  readonly state: GenerationState;
  readonly createdAt: string;
  readonly retiredAt: string | null;
}

export interface DocumentRow {
  readonly id: string;
  readonly title: string | null;
  readonly text: string;
  readonly metadata: Metadata;
  readonly contentHash: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The fields a search hit shows; `title` and `text` only when asked for. */
export interface HitDocument {
  readonly metadata: Metadata;
  readonly title?: string | null;
  readonly text?: string;
}

export interface DocumentWrite {
  readonly id: string;
  readonly title?: string | null;
  readonly text: string;
  readonly metadata?: Metadata;
  readonly contentHash: string;
  /** Vector per generation id; every generation listed receives the document. */
  readonly vectors: ReadonlyMap<number, Float32Array>;
}

export interface Change {
  readonly seq: number;
  readonly docId: string;
  readonly op: 'upsert' | 'delete';
}

export interface KeywordHit {
  readonly id: string;
  /** BM25 score, higher is better. */
  readonly score: number;
}

/** One query term's part of a document's BM25 score. */
export interface KeywordTermContribution {
  readonly term: string;
  /** Documents of the collection that contain the term. */
  readonly df: number;
  /** Occurrences of the term in this document (title and text, after stemming). */
  readonly tf: number;
  readonly contribution: number;
}

/** A document's BM25 score as the sum of its query terms' contributions. */
export interface KeywordExplanation {
  readonly score: number;
  readonly terms: readonly KeywordTermContribution[];
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export type JobKind = 'reembed' | 'train';

export interface JobRow {
  readonly id: string;
  readonly kind: JobKind;
  readonly collection: string;
  readonly state: JobState;
  /** Concrete name@version the job embeds with. */
  readonly model: string;
  /** The generation being built (null until created). */
  readonly generation: number | null;
  readonly previousGeneration: number | null;
  readonly done: number;
  readonly total: number;
  /** Last document id embedded (documents are processed in id order). */
  readonly cursor: string | null;
  /** Why the job started: 'manual', 'drift', 'target-changed'. */
  readonly reason: string;
  readonly error: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string;
  /** What the job was asked, as stored JSON (training jobs; absent for re-embedding, whose rows are as before). */
  readonly params?: Record<string, unknown>;
  /** What the job produced, as stored JSON (training jobs, once finished; absent otherwise). */
  readonly result?: Record<string, unknown>;
}

export type JobPatch = Partial<Pick<JobRow, 'state' | 'model' | 'generation' | 'previousGeneration' | 'done' | 'total' | 'cursor' | 'error' | 'startedAt' | 'finishedAt' | 'result'>>;

/** Kinds of drift reference and history rows. */
export type DriftKindRow = 'documents' | 'queries';

/** A drift reference sample (one per collection and kind). */
export interface DriftReferenceRow {
  readonly collection: string;
  readonly kind: DriftKindRow;
  /** Generation whose embeddings the sample holds. */
  readonly generation: number | null;
  readonly dimensions: number;
  readonly vectors: Float32Array[];
  /** JSON kept beside the vectors (the `scores` column): reference top-1 scores and what drift detection needs with them. */
  readonly scores: Readonly<Record<string, unknown>> | null;
  readonly createdAt: string;
}

/** One evaluated drift window. */
export interface DriftHistoryRow {
  readonly id: number;
  readonly collection: string;
  readonly kind: DriftKindRow;
  /** The kind's state after this window. */
  readonly state: string;
  readonly metrics: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

/** One feedback item: a query and the documents a user judged relevant (and not relevant) for it. */
export interface FeedbackRow {
  readonly id: number;
  readonly collection: string;
  readonly query: string;
  readonly relevant: readonly string[];
  readonly notRelevant: readonly string[];
  readonly createdAt: string;
}

export type FeedbackWrite = Pick<FeedbackRow, 'query' | 'relevant' | 'notRelevant'>;

export interface NewCollection {
  readonly name: string;
  readonly modelTarget: string;
  readonly model: string;
  readonly dimensions: number;
  readonly backend: BackendKind;
  readonly hnsw: HnswSettings;
  readonly hybridAlpha: number;
}

/** Collections and their index generations (collections.ts). */
export interface CollectionsRepository {
  createCollection(spec: NewCollection): { collection: CollectionRow; generation: GenerationRow };
  getCollection(name: string): CollectionRow | undefined;
  listCollections(): CollectionRow[];
  updateCollection(name: string, patch: Partial<Pick<CollectionRow, 'modelTarget' | 'hnsw' | 'hybridAlpha' | 'settings'>>): CollectionRow;
  /** Removes the collection with its documents, vectors, generations, changes, keyword index, drift rows and feedback. */
  deleteCollection(name: string): boolean;

  createGeneration(collection: string, spec: { model: string; dimensions: number; backend: BackendKind }): GenerationRow;
  getGeneration(id: number): GenerationRow | undefined;
  listGenerations(collection: string): GenerationRow[];
  /** Makes `id` live and the previous live generation retired, in one transaction. */
  promoteGeneration(collection: string, id: number): void;
  /** Deletes a generation's vectors and row. */
  dropGeneration(id: number): void;
}

/** Documents and their vectors per generation (documents.ts). */
export interface DocumentsRepository {
  /** One transaction: documents, their vectors and change-log rows. Returns the last change seq. */
  upsertDocuments(collection: string, docs: readonly DocumentWrite[]): { seq: number };
  /** One transaction; ids that do not exist are ignored. Returns the ids actually deleted. */
  deleteDocuments(collection: string, ids: readonly string[]): { deleted: string[]; seq: number };
  getDocument(collection: string, id: string): DocumentRow | undefined;
  getDocuments(collection: string, ids: readonly string[]): Map<string, DocumentRow>;
  /** What search results show of those ids that exist: fewer columns than getDocuments, read on every search. */
  hitDocuments(collection: string, ids: readonly string[], options: { text: boolean }): Map<string, HitDocument>;
  /** Content hashes of those ids that exist (bulk indexing skips unchanged documents). */
  contentHashes(collection: string, ids: readonly string[]): Map<string, string>;
  countDocuments(collection: string): number;
  /** Whether a document holds `field` (top-level) with a string, number or boolean value (a fairness group). */
  hasGroupableField(collection: string, field: string): boolean;
  /** Ids whose metadata matches, in id order. */
  idsMatching(collection: string, filter: Filter): string[];
  /** Pages through documents in id order (re-embedding, export). */
  documentsAfter(collection: string, afterId: string | null, limit: number): DocumentRow[];

  getVectors(generation: number, ids: readonly string[]): Map<string, Float32Array>;
  /** Every vector of a generation with its document's metadata (index rebuilds). */
  iterateVectors(generation: number): IterableIterator<{ id: string; vector: Float32Array; metadata: Metadata }>;
  countVectors(generation: number): number;
  /** Vectors of ids that exist, with metadata (exact search over a filtered set). */
  vectorsWithMetadata(generation: number, ids: readonly string[]): { id: string; vector: Float32Array; metadata: Metadata }[];

  /**
   * Writes one generation's vectors for documents that still exist with the given content hash
   * (a re-embedding batch must not overwrite a vector a concurrent upsert just wrote), with
   * change-log rows so a crash replays them. Returns the ids written and the last seq.
   */
  putGenerationVectors(
    collection: string,
    generation: number,
    items: readonly { id: string; vector: Float32Array; contentHash: string }[],
  ): { written: string[]; seq: number };
  /** Ids of the collection's documents that have no vector in `generation`. */
  idsMissingVectors(collection: string, generation: number, limit: number): string[];
  /** Ids of the documents that have a vector in `generation` (drift reference sampling). */
  vectorIds(generation: number): string[];
}

/** The change log that replays writes into an index snapshot after a crash (change-log.ts). */
export interface ChangeLogRepository {
  /** Highest change seq overall (0 when none). */
  lastSeq(): number;
  /**
   * Changes of a collection after `seq`, in order, latest change per document only; with
   * `generation`, only changes that concern it (document writes and its own re-embedding).
   */
  changesSince(collection: string, seq: number, generation?: number): Change[];
  /**
   * Removes a collection's change rows up to and including `throughSeq` (once a snapshot holding
   * them is durable) and records the new start of its log. Returns the rows removed.
   */
  pruneChanges(collection: string, throughSeq: number): number;
  /** The seq through which a collection's log was pruned (0: never). */
  prunedThrough(collection: string): number;
  /**
   * A generation's index has a durable snapshot through `appliedSeq` (0: none): records it and
   * prunes the collection's log through the lowest seq any of its local generations still needs.
   */
  recordSnapshot(collection: string, generation: number, appliedSeq: number): number;
  /** Change rows held (of one collection when given). */
  countChanges(collection?: string): number;
}

/** BM25 keyword search, one FTS5 table per collection (keyword.ts). */
export interface KeywordRepository {
  /** BM25 over title and text with Porter stemming; `allowed` restricts to those ids. */
  keywordSearch(collection: string, query: string, k: number, allowed?: ReadonlySet<string>): KeywordHit[];
  /** Per query term BM25 contributions for those ids that exist (a document no term matches scores 0). */
  keywordExplain(collection: string, query: string, ids: readonly string[]): Map<string, KeywordExplanation>;
}

/** Re-embedding jobs (jobs.ts). */
export interface JobsRepository {
  createJob(job: Pick<JobRow, 'id' | 'collection' | 'model' | 'reason' | 'total'> & { readonly kind?: JobKind; readonly params?: Record<string, unknown> }): JobRow;
  getJob(id: string): JobRow | undefined;
  /** Newest first; one collection's when given. */
  listJobs(collection?: string): JobRow[];
  updateJob(id: string, patch: JobPatch): JobRow;
}

/** Drift references and the history of evaluated drift windows (drift.ts). */
export interface DriftRepository {
  /** Replaces the collection's reference of that kind. */
  putDriftReference(ref: Pick<DriftReferenceRow, 'collection' | 'kind' | 'generation' | 'vectors' | 'scores'>): DriftReferenceRow;
  getDriftReference(collection: string, kind: DriftKindRow): DriftReferenceRow | undefined;
  deleteDriftReference(collection: string, kind: DriftKindRow): void;
  /** Appends a window and keeps only the newest `keep` rows of that collection and kind. */
  appendDriftHistory(entry: Pick<DriftHistoryRow, 'collection' | 'kind' | 'state' | 'metrics'>, keep: number): DriftHistoryRow;
  /** Newest first; one kind's when given. */
  listDriftHistory(collection: string, options?: { kind?: DriftKindRow; limit?: number }): DriftHistoryRow[];
}

/** User feedback kept for training (feedback.ts). */
export interface FeedbackRepository {
  /**
   * Appends the items in one transaction (all or nothing) and returns their rows, in order. The
   * caller checks the collection and the document ids; this checks only each item's shape.
   */
  addFeedback(collection: string, items: readonly FeedbackWrite[]): FeedbackRow[];
  /** Oldest first: at most `limit` (default 100) rows with an id above `afterId` (default 0). */
  listFeedback(collection: string, options?: { afterId?: number; limit?: number }): FeedbackRow[];
  countFeedback(collection: string): number;
  /** Removes every feedback row of the collection; returns how many. */
  deleteFeedback(collection: string): number;
}

/**
 * Every repository behind one object (`SqliteStore`). New code should take the one repository it
 * needs; this interface stays until callers have moved.
 */
export interface Store
  extends CollectionsRepository,
    DocumentsRepository,
    ChangeLogRepository,
    KeywordRepository,
    JobsRepository,
    DriftRepository,
    FeedbackRepository {
  close(): void;
  /** A consistent copy of the whole database file (SQLite online backup) while it stays in use. */
  backup(destination: string): Promise<void>;
}
