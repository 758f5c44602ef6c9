/**
 * The write path. Embedding happens outside the collection lock (it is the slow part and
 * batches across requests); inside it: the generations to write are read again (embedding for
 * any that appeared meanwhile), then remote index first, then one SQLite transaction (the
 * acknowledgement), then the local index. A failure before the commit writes nothing.
 */
import { createHash } from 'node:crypto';
import { EmptyTextError, InvalidInputError, InvalidVectorError } from '../errors.ts';
import type { Filter, Metadata } from '../values/filter.ts';
import type { IndexedVector } from '../index/types.ts';
import type { DocumentRow, DocumentWrite, GenerationRow } from '../store/types.ts';
import { requireCollection, writableGenerations, type SearchContext } from './context.ts';
import { checkedVector } from './query.ts';
import { faultPoint } from '../util/fault-points.ts';

export interface DocumentInput {
  readonly id: string;
  readonly text: string;
  readonly title?: string | null;
  readonly metadata?: Metadata;
  /**
   * A precomputed vector from the collection's live model. The live generation stores it
   * (normalised) instead of embedding the text; any other generation (a re-embedding in
   * progress, a later model) embeds the text, which stays the source of truth.
   */
  readonly vector?: readonly number[];
}

export interface UpsertResult {
  /** Documents embedded and written. */
  readonly upserted: number;
  /** Documents whose content hash matched what is stored: nothing to do. */
  readonly unchanged: number;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function contentHash(doc: DocumentInput): string {
  // A supplied vector is content too (the same text with another vector must be written);
  // documents without one hash exactly as before vectors could be supplied.
  const content = doc.vector === undefined ? [doc.title ?? null, doc.text, doc.metadata ?? {}] : [doc.title ?? null, doc.text, doc.metadata ?? {}, doc.vector];
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/** What the model sees: the title (when there is one) leads the text. */
export function embeddingText(doc: Pick<DocumentInput, 'title' | 'text'>): string {
  return doc.title ? `${doc.title}\n${doc.text}` : doc.text;
}

function rejectDuplicates(docs: readonly DocumentInput[]): void {
  const seen = new Set<string>();
  docs.forEach((d, i) => {
    if (seen.has(d.id)) throw new InvalidInputError(`documents[${i}].id '${d.id}' appears more than once in the request`, { index: i });
    seen.add(d.id);
  });
}

/** Embeds `docs` for every generation and indexes them: all or nothing per request. */
export async function upsertDocuments(ctx: SearchContext, collectionName: string, docs: readonly DocumentInput[]): Promise<UpsertResult> {
  const collection = requireCollection(ctx, collectionName);
  rejectDuplicates(docs);
  docs.forEach((d, i) => {
    if (d.text.trim().length === 0) throw new EmptyTextError(`documents[${i}].text is empty or whitespace only`, { index: i });
  });
  const generations = writableGenerations(ctx, collection);
  const live = generations.find((g) => g.state === 'live');
  const supplied = docs.map((d, i) => {
    if (d.vector === undefined) return undefined;
    if (!live) throw new InvalidInputError(`documents[${i}].vector: collection '${collection.name}' has no live generation to hold it`, { index: i });
    try {
      return checkedVector(d.vector, live.dimensions);
    } catch (err) {
      throw new InvalidVectorError(`documents[${i}].${(err as Error).message}`, { index: i });
    }
  });
  const hashes = docs.map(contentHash);
  const ids = docs.map((d) => d.id);
  const stored = ctx.store.contentHashes(collection.name, ids);
  const withVectors = generations.map((g) => ctx.store.getVectors(g.id, ids.filter((id) => stored.has(id))));
  const changedIdx = docs
    .map((_, i) => i)
    .filter((i) => stored.get(ids[i]!) !== hashes[i] || withVectors.some((present) => !present.has(ids[i]!)));
  if (changedIdx.length === 0) return { upserted: 0, unchanged: docs.length };
  const changed = changedIdx.map((i) => docs[i]!);

  /** The changed documents' vectors for one generation: `suppliedHere[j]` where given, the rest embedded. */
  const vectorsFor = async (generation: GenerationRow, suppliedHere: readonly (Float32Array | undefined)[]): Promise<Float32Array[]> => {
    const engine = await ctx.engines.get(generation.model);
    if (engine.dimensions !== generation.dimensions) {
      throw new InvalidInputError(`model ${engine.id} makes ${engine.dimensions}-d vectors but generation ${generation.id} holds ${generation.dimensions}-d`);
    }
    const toEmbed = changed.filter((_, j) => suppliedHere[j] === undefined);
    const out = toEmbed.length > 0 ? await engine.embed(toEmbed.map(embeddingText), 'document') : { vectors: [], tokenCounts: [], unknownTokens: [], truncated: [] };
    // Drift windows see what the model embedded (supplied vectors have no token statistics).
    if (generation.state === 'live' && out.vectors.length > 0) {
      ctx.events.emitDocuments({
        collection: collection.name,
        generation: generation.id,
        vectors: out.vectors,
        tokens: out.tokenCounts,
        unknownTokens: out.unknownTokens,
        truncated: out.truncated,
      });
    }
    let next = 0;
    return suppliedHere.map((v) => v ?? out.vectors[next++]!);
  };

  const vectorsByGeneration = new Map<number, Float32Array[]>();
  for (const generation of generations) {
    // The live generation takes supplied vectors as they are; only the rest are embedded.
    vectorsByGeneration.set(generation.id, await vectorsFor(generation, changedIdx.map((i) => (generation.state === 'live' ? supplied[i] : undefined))));
  }

  await ctx.writes.run(collection.name, async () => {
    // The generations read above may be out of date by now: a re-embedding job may have made one
    // (and even verified and swapped it in) while this request embedded, or dropped one. A job
    // only fills documents committed before its last look for missing vectors, so the commit
    // must write to the generations that exist now: those that appeared are embedded here, under
    // the lock (rare), with their own model and from the text (supplied vectors belong to the
    // generation that was live when they were checked); those that went are left out.
    const row = requireCollection(ctx, collection.name);
    const current = writableGenerations(ctx, row);
    for (const g of current) {
      if (!vectorsByGeneration.has(g.id)) vectorsByGeneration.set(g.id, await vectorsFor(g, changed.map(() => undefined)));
    }
    const writes: DocumentWrite[] = changed.map((d, j) => ({
      id: d.id,
      title: d.title ?? null,
      text: d.text,
      metadata: d.metadata ?? {},
      contentHash: hashes[changedIdx[j]!]!,
      vectors: new Map(current.map((g) => [g.id, vectorsByGeneration.get(g.id)![j]!])),
    }));
    const indexes = await Promise.all(current.map(async (g) => ({ g, index: await ctx.indexes.get(row, g) })));
    const items = (g: GenerationRow): IndexedVector[] => writes.map((w) => ({ id: w.id, vector: w.vectors.get(g.id)!, metadata: w.metadata }));
    for (const { g, index } of indexes) if (index.remote) await index.upsert(items(g));
    const { seq } = ctx.store.upsertDocuments(collection.name, writes);
    // Crash tests: the batch is durable in SQLite, the local indexes do not have it yet.
    faultPoint('documents.upsert-committed');
    for (const { g, index } of indexes) {
      if (index.remote) continue;
      await index.upsert(items(g));
      index.markApplied?.(seq);
    }
  });
  return { upserted: changed.length, unchanged: docs.length - changed.length };
}

export async function deleteDocuments(ctx: SearchContext, collectionName: string, ids: readonly string[]): Promise<string[]> {
  const collection = requireCollection(ctx, collectionName);
  if (ids.length === 0) return [];
  return ctx.writes.run(collection.name, async () => {
    const generations = writableGenerations(ctx, collection);
    const indexes = await Promise.all(generations.map((g) => ctx.indexes.get(collection, g)));
    for (const index of indexes) if (index.remote) await index.delete(ids);
    const { deleted, seq } = ctx.store.deleteDocuments(collection.name, ids);
    for (const index of indexes) {
      if (index.remote) continue;
      await index.delete(deleted);
      index.markApplied?.(seq);
    }
    return deleted;
  });
}

export async function deleteByFilter(ctx: SearchContext, collectionName: string, filter: Filter): Promise<string[]> {
  const collection = requireCollection(ctx, collectionName);
  if (Object.keys(filter).length === 0) {
    // An empty filter matches everything; wiping a collection by accident is too easy that way.
    throw new InvalidInputError('filter is empty, which would delete every document; to empty a collection, delete it');
  }
  return deleteDocuments(ctx, collection.name, ctx.store.idsMatching(collection.name, filter));
}

export function getDocument(ctx: SearchContext, collectionName: string, id: string): DocumentRow | undefined {
  const collection = requireCollection(ctx, collectionName);
  return ctx.store.getDocument(collection.name, id);
}

/** Documents per page of `listDocuments` by default, and at most. */
export const DEFAULT_DOCUMENT_PAGE = 50;
export const MAX_DOCUMENT_PAGE = 1000;

export interface DocumentPage {
  /** Documents the collection holds in all (every page). */
  readonly count: number;
  /** In id order. */
  readonly items: readonly DocumentRow[];
  /** The `after` cursor of the next page (the last id of this one); null on the last page. */
  readonly next: string | null;
}

/** A page of the collection's documents in id order, after the document with id `after` (default: from the start). */
export function listDocuments(ctx: SearchContext, collectionName: string, options: { after?: string; limit?: number } = {}): DocumentPage {
  const limit = options.limit ?? DEFAULT_DOCUMENT_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DOCUMENT_PAGE) throw new InvalidInputError(`limit must be an integer from 1 to ${MAX_DOCUMENT_PAGE}`);
  const collection = requireCollection(ctx, collectionName);
  // One row more than the page tells whether another page follows.
  const rows = ctx.store.documentsAfter(collection.name, options.after ?? null, limit + 1);
  const items = rows.slice(0, limit);
  return { count: ctx.store.countDocuments(collection.name), items, next: rows.length > limit ? items[items.length - 1]!.id : null };
}
