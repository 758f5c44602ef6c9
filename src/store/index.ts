export { SqliteStore, DB_FILE, toFtsQuery, encodeVector, decodeVector } from './sqlite-store.ts';
export { SCHEMA_VERSION } from './schema.ts';
export type {
  Change,
  CollectionRow,
  DocumentRow,
  DocumentWrite,
  GenerationRow,
  GenerationState,
  KeywordHit,
  NewCollection,
  Store,
} from './types.ts';
