export { SqliteStore, DB_FILE } from './sqlite-store.ts';
export { toFtsQuery } from './keyword.ts';
export { encodeVector, decodeVector } from './vector-codec.ts';
export { SCHEMA_VERSION } from './schema.ts';
export type {
  Change,
  ChangeLogRepository,
  CollectionRow,
  CollectionsRepository,
  DocumentRow,
  DocumentsRepository,
  DocumentWrite,
  DriftRepository,
  FeedbackRepository,
  FeedbackRow,
  FeedbackWrite,
  GenerationRow,
  GenerationState,
  JobsRepository,
  KeywordHit,
  KeywordRepository,
  NewCollection,
  Store,
} from './types.ts';
