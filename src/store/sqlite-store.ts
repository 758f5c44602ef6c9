/**
 * The SQLite store: every repository (collections.ts, documents.ts, change-log.ts, keyword.ts,
 * jobs.ts, drift.ts, feedback.ts) over one shared connection (database.ts). Each repository is a readonly
 * property, so a caller can be handed the one it needs; the store also implements `Store` by
 * delegation, one line per method, for callers not yet moved to a repository.
 *
 * Every write method is one transaction, and with WAL + synchronous=FULL a returned call has been
 * fsynced: it survives kill -9 and power loss.
 */
import type { Filter, Metadata } from '../values/filter.ts';
import type { BackendKind } from '../values/backend.ts';
import { SqliteChangeLog } from './change-log.ts';
import { SqliteCollections } from './collections.ts';
import { StoreDatabase } from './database.ts';
import { SqliteDocuments } from './documents.ts';
import { SqliteDrift } from './drift.ts';
import { SqliteFeedback } from './feedback.ts';
import { SqliteJobs } from './jobs.ts';
import { SqliteKeyword } from './keyword.ts';
import type {
  Change,
  ChangeLogRepository,
  CollectionRow,
  CollectionsRepository,
  DocumentRow,
  DocumentsRepository,
  DocumentWrite,
  DriftHistoryRow,
  DriftKindRow,
  DriftReferenceRow,
  DriftRepository,
  FeedbackRepository,
  FeedbackRow,
  FeedbackWrite,
  GenerationRow,
  HitDocument,
  JobPatch,
  JobRow,
  JobsRepository,
  KeywordExplanation,
  KeywordHit,
  KeywordRepository,
  NewCollection,
  Store,
} from './types.ts';

export { DB_FILE } from './database.ts';

export class SqliteStore implements Store {
  readonly collections: CollectionsRepository;
  readonly documents: DocumentsRepository;
  readonly changes: ChangeLogRepository;
  readonly keyword: KeywordRepository;
  readonly jobs: JobsRepository;
  readonly drift: DriftRepository;
  readonly feedback: FeedbackRepository;
  /** Path of the database file. */
  readonly path: string;

  private constructor(private readonly database: StoreDatabase) {
    this.path = database.path;
    const collections = new SqliteCollections(database);
    const changes = new SqliteChangeLog(database);
    this.collections = collections;
    this.changes = changes;
    this.documents = new SqliteDocuments(database, collections, changes);
    this.keyword = new SqliteKeyword(database, collections);
    this.jobs = new SqliteJobs(database);
    this.drift = new SqliteDrift(database);
    this.feedback = new SqliteFeedback(database);
  }

  static open(dataDir: string): SqliteStore {
    return new SqliteStore(StoreDatabase.open(dataDir));
  }

  close(): void {
    this.database.close();
  }

  backup(destination: string): Promise<void> {
    return this.database.backup(destination);
  }

  // ---- collections and generations ----

  createCollection(spec: NewCollection): { collection: CollectionRow; generation: GenerationRow } {
    return this.collections.createCollection(spec);
  }
  getCollection(name: string): CollectionRow | undefined {
    return this.collections.getCollection(name);
  }
  listCollections(): CollectionRow[] {
    return this.collections.listCollections();
  }
  updateCollection(name: string, patch: Partial<Pick<CollectionRow, 'modelTarget' | 'hnsw' | 'hybridAlpha' | 'settings'>>): CollectionRow {
    return this.collections.updateCollection(name, patch);
  }
  deleteCollection(name: string): boolean {
    return this.collections.deleteCollection(name);
  }
  createGeneration(collection: string, spec: { model: string; dimensions: number; backend: BackendKind }): GenerationRow {
    return this.collections.createGeneration(collection, spec);
  }
  getGeneration(id: number): GenerationRow | undefined {
    return this.collections.getGeneration(id);
  }
  listGenerations(collection: string): GenerationRow[] {
    return this.collections.listGenerations(collection);
  }
  promoteGeneration(collection: string, id: number): void {
    this.collections.promoteGeneration(collection, id);
  }
  dropGeneration(id: number): void {
    this.collections.dropGeneration(id);
  }

  // ---- documents and vectors ----

  upsertDocuments(collection: string, docs: readonly DocumentWrite[]): { seq: number } {
    return this.documents.upsertDocuments(collection, docs);
  }
  deleteDocuments(collection: string, ids: readonly string[]): { deleted: string[]; seq: number } {
    return this.documents.deleteDocuments(collection, ids);
  }
  getDocument(collection: string, id: string): DocumentRow | undefined {
    return this.documents.getDocument(collection, id);
  }
  getDocuments(collection: string, ids: readonly string[]): Map<string, DocumentRow> {
    return this.documents.getDocuments(collection, ids);
  }
  hitDocuments(collection: string, ids: readonly string[], options: { text: boolean }): Map<string, HitDocument> {
    return this.documents.hitDocuments(collection, ids, options);
  }
  contentHashes(collection: string, ids: readonly string[]): Map<string, string> {
    return this.documents.contentHashes(collection, ids);
  }
  countDocuments(collection: string): number {
    return this.documents.countDocuments(collection);
  }
  hasGroupableField(collection: string, field: string): boolean {
    return this.documents.hasGroupableField(collection, field);
  }
  idsMatching(collection: string, filter: Filter): string[] {
    return this.documents.idsMatching(collection, filter);
  }
  documentsAfter(collection: string, afterId: string | null, limit: number): DocumentRow[] {
    return this.documents.documentsAfter(collection, afterId, limit);
  }
  getVectors(generation: number, ids: readonly string[]): Map<string, Float32Array> {
    return this.documents.getVectors(generation, ids);
  }
  iterateVectors(generation: number): IterableIterator<{ id: string; vector: Float32Array; metadata: Metadata }> {
    return this.documents.iterateVectors(generation);
  }
  countVectors(generation: number): number {
    return this.documents.countVectors(generation);
  }
  vectorsWithMetadata(generation: number, ids: readonly string[]): { id: string; vector: Float32Array; metadata: Metadata }[] {
    return this.documents.vectorsWithMetadata(generation, ids);
  }
  putGenerationVectors(
    collection: string,
    generation: number,
    items: readonly { id: string; vector: Float32Array; contentHash: string }[],
  ): { written: string[]; seq: number } {
    return this.documents.putGenerationVectors(collection, generation, items);
  }
  idsMissingVectors(collection: string, generation: number, limit: number): string[] {
    return this.documents.idsMissingVectors(collection, generation, limit);
  }
  vectorIds(generation: number): string[] {
    return this.documents.vectorIds(generation);
  }

  // ---- change log ----

  lastSeq(): number {
    return this.changes.lastSeq();
  }
  changesSince(collection: string, seq: number, generation?: number): Change[] {
    return this.changes.changesSince(collection, seq, generation);
  }
  pruneChanges(collection: string, throughSeq: number): number {
    return this.changes.pruneChanges(collection, throughSeq);
  }
  prunedThrough(collection: string): number {
    return this.changes.prunedThrough(collection);
  }
  recordSnapshot(collection: string, generation: number, appliedSeq: number): number {
    return this.changes.recordSnapshot(collection, generation, appliedSeq);
  }
  countChanges(collection?: string): number {
    return this.changes.countChanges(collection);
  }

  // ---- keyword search ----

  keywordSearch(collection: string, query: string, k: number, allowed?: ReadonlySet<string>): KeywordHit[] {
    return this.keyword.keywordSearch(collection, query, k, allowed);
  }

  keywordExplain(collection: string, query: string, ids: readonly string[]): Map<string, KeywordExplanation> {
    return this.keyword.keywordExplain(collection, query, ids);
  }

  // ---- jobs ----

  createJob(job: Pick<JobRow, 'id' | 'collection' | 'model' | 'reason' | 'total'>): JobRow {
    return this.jobs.createJob(job);
  }
  getJob(id: string): JobRow | undefined {
    return this.jobs.getJob(id);
  }
  listJobs(collection?: string): JobRow[] {
    return this.jobs.listJobs(collection);
  }
  updateJob(id: string, patch: JobPatch): JobRow {
    return this.jobs.updateJob(id, patch);
  }

  // ---- drift ----

  putDriftReference(ref: Pick<DriftReferenceRow, 'collection' | 'kind' | 'generation' | 'vectors' | 'scores'>): DriftReferenceRow {
    return this.drift.putDriftReference(ref);
  }
  getDriftReference(collection: string, kind: DriftKindRow): DriftReferenceRow | undefined {
    return this.drift.getDriftReference(collection, kind);
  }
  deleteDriftReference(collection: string, kind: DriftKindRow): void {
    this.drift.deleteDriftReference(collection, kind);
  }
  appendDriftHistory(entry: Pick<DriftHistoryRow, 'collection' | 'kind' | 'state' | 'metrics'>, keep: number): DriftHistoryRow {
    return this.drift.appendDriftHistory(entry, keep);
  }
  listDriftHistory(collection: string, options?: { kind?: DriftKindRow; limit?: number }): DriftHistoryRow[] {
    return this.drift.listDriftHistory(collection, options);
  }

  // ---- feedback ----

  addFeedback(collection: string, items: readonly FeedbackWrite[]): FeedbackRow[] {
    return this.feedback.addFeedback(collection, items);
  }
  listFeedback(collection: string, options?: { afterId?: number; limit?: number }): FeedbackRow[] {
    return this.feedback.listFeedback(collection, options);
  }
  countFeedback(collection: string): number {
    return this.feedback.countFeedback(collection);
  }
  deleteFeedback(collection: string): number {
    return this.feedback.deleteFeedback(collection);
  }
}
