/**
 * The training data of one collection, assembled from what it holds: its documents (title + text,
 * as the model sees them) with their stored vectors in the live generation, pseudo-queries made
 * from them and split by document into training and validation, and its user feedback as extra
 * training pairs (a seeded third held out for validation once there are enough items).
 */
import { createHash } from 'node:crypto';
import { InvalidInputError } from '../../errors.ts';
import { liveGeneration, requireCollection } from '../../search/context.ts';
import { embeddingText } from '../../search/documents.ts';
import type { CollectionRow, FeedbackRow, GenerationRow } from '../../store/types.ts';
import { pseudoQueries, splitByDocument, type SourceDocument } from '../../training/pseudo-queries.ts';
import { seededShuffle } from '../../util/random.ts';
import type { Metadata } from '../../values/filter.ts';
import type { TrainingDeps } from './deps.ts';

/** Documents read per page. */
const DOCUMENT_PAGE = 1000;
/** Feedback items read per page (the repository's own cursor, oldest first). */
const FEEDBACK_PAGE = 1000;
/** Share of the documents whose pseudo-queries are held out for validation (the research note's 10%). */
export const PSEUDO_VALIDATION_FRACTION = 0.1;
/** From this many usable feedback items on, a share of them is held out for validation... */
export const FEEDBACK_HOLDOUT_MIN = 10;
/** ...namely a third (seeded), so at 10 items 3 are held out and 7 train. */
export const FEEDBACK_HOLDOUT_FRACTION = 1 / 3;
/**
 * Feedback pairs are repeated so that, per epoch, they weigh about as much as the pseudo-queries
 * (repeat = pseudo pairs / feedback pairs, rounded), at most this many times. Once each, Cranfield's
 * 225 queries' feedback (~1,100 pairs) was a sixth of the ~5,000 pseudo-query pairs: feedback marking
 * random documents relevant then still left the evaluation set better than use-lite@1 (0.195 ->
 * 0.208; the pseudo-queries outweighed it), so the gate could not tell bad feedback from good. 5 is
 * the research note's feedback recipe (20 epochs) over our 4 epochs: more overfits few queries.
 */
export const FEEDBACK_MAX_REPEAT = 5;

export interface CollectionData {
  readonly collection: CollectionRow;
  readonly generation: GenerationRow;
  /** Documents that have a vector in the live generation, in id order. */
  readonly documents: readonly SourceDocument[];
  readonly docIds: readonly string[];
  /** Unit stored vectors, aligned with `documents`. */
  readonly vectors: readonly Float32Array[];
  /** What the parent embedded for each document (title, newline, text). */
  readonly texts: readonly string[];
  /** Each document's metadata, aligned with `documents` (the fairness gate groups by it). */
  readonly metadata: readonly Metadata[];
  readonly index: ReadonlyMap<string, number>;
}

function unit(v: ArrayLike<number>): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const r = Math.sqrt(s) || 1;
  return Float32Array.from(v, (x) => x / r);
}

/** The collection's documents with stored vectors of its live generation; refuses a collection with none. */
export function readCollectionData(deps: TrainingDeps, name: string): CollectionData {
  const collection = requireCollection(deps, name);
  const generation = liveGeneration(deps, collection);
  const stored = new Map<string, { vector: Float32Array; metadata: Metadata }>();
  for (const { id, vector, metadata } of deps.store.iterateVectors(generation.id)) stored.set(id, { vector: unit(vector), metadata });
  const documents: SourceDocument[] = [];
  const vectors: Float32Array[] = [];
  const texts: string[] = [];
  const metadata: Metadata[] = [];
  for (let after: string | null = null; ; ) {
    const page = deps.store.documentsAfter(collection.name, after, DOCUMENT_PAGE);
    for (const row of page) {
      const v = stored.get(row.id);
      if (!v) continue; // not embedded into the live generation (yet): nothing to train against
      documents.push({ id: row.id, title: row.title, text: row.text });
      vectors.push(v.vector);
      texts.push(embeddingText(row));
      metadata.push(v.metadata);
    }
    if (page.length < DOCUMENT_PAGE) break;
    after = page[page.length - 1]!.id;
  }
  if (documents.length === 0) {
    throw new InvalidInputError(`collection '${collection.name}' holds no documents with vectors: index documents before training a model on it`, { collection: collection.name });
  }
  const docIds = documents.map((d) => d.id);
  return { collection, generation, documents, docIds, vectors, texts, metadata, index: new Map(docIds.map((id, i) => [id, i])) };
}

/** A query with its positive document (a training pair). */
export interface TrainingPair {
  readonly text: string;
  readonly doc: number;
}

/** A held-out query with its relevant documents (id -> grade > 0). */
export interface JudgedQuery {
  readonly text: string;
  readonly relevant: ReadonlyMap<string, number>;
}

export interface TrainingData {
  /** Pseudo-query pairs, then feedback pairs (one per relevant document of a training item), `feedbackRepeat` times. */
  readonly train: readonly TrainingPair[];
  readonly pseudoTrain: number;
  readonly feedbackPairs: number;
  /** How many times the feedback pairs appear in `train` (FEEDBACK_MAX_REPEAT); 0 without feedback. */
  readonly feedbackRepeat: number;
  /** Held-out pseudo-queries (each with its one source document). */
  readonly pseudoValidation: readonly TrainingPair[];
  /** Held-out feedback items; absent below FEEDBACK_HOLDOUT_MIN usable items. */
  readonly feedbackValidation?: readonly JudgedQuery[];
  readonly counts: {
    readonly documents: number;
    readonly pseudoQueries: number;
    readonly pseudoValidation: number;
    /** Feedback items stored, used for training, held out, and dropped (no relevant document left). */
    readonly feedbackItems: number;
    readonly feedbackTrain: number;
    readonly feedbackHeldOut: number;
    readonly feedbackDropped: number;
    /** Judged ids (relevant) that are no longer documents with vectors, skipped. */
    readonly feedbackSkippedIds: number;
  };
  /** sha256 fingerprints of the training data (hex). */
  readonly hashes: Readonly<Record<string, string>>;
}

function sha256(lines: readonly string[]): string {
  const h = createHash('sha256');
  for (const line of lines) h.update(line).update('\n');
  return h.digest('hex');
}

export function readAllFeedback(deps: TrainingDeps, collection: string): FeedbackRow[] {
  const out: FeedbackRow[] = [];
  for (let afterId = 0; ; ) {
    const page = deps.store.listFeedback(collection, { afterId, limit: FEEDBACK_PAGE });
    out.push(...page);
    if (page.length < FEEDBACK_PAGE) return out;
    afterId = page[page.length - 1]!.id;
  }
}

/** Pseudo-queries (seeded) split by document, and feedback split into training pairs and held-out items. */
export function assembleTrainingData(data: CollectionData, feedback: readonly FeedbackRow[], seed: number): TrainingData {
  const pseudo = pseudoQueries(data.documents, { seed });
  const split = splitByDocument(pseudo, { seed, validationFraction: PSEUDO_VALIDATION_FRACTION });
  if (split.train.length === 0) {
    throw new InvalidInputError(`collection '${data.collection.name}' gives no training queries: its documents need titles of 3 or more words or some text`);
  }
  const toPair = (q: { text: string; docId: string }): TrainingPair => ({ text: q.text, doc: data.index.get(q.docId)! });

  let skippedIds = 0;
  const usable: { query: string; relevant: string[] }[] = [];
  for (const item of feedback) {
    const relevant = item.relevant.filter((id) => data.index.has(id));
    skippedIds += item.relevant.length - relevant.length;
    if (relevant.length > 0) usable.push({ query: item.query, relevant });
  }
  const held = new Set<number>();
  if (usable.length >= FEEDBACK_HOLDOUT_MIN) {
    const order = seededShuffle(
      usable.map((_, i) => i),
      seed,
    );
    for (const i of order.slice(0, Math.round(usable.length * FEEDBACK_HOLDOUT_FRACTION))) held.add(i);
  }
  const feedbackTrain = usable.filter((_, i) => !held.has(i));
  const feedbackPairs = feedbackTrain.flatMap((item) => item.relevant.map((id) => ({ text: item.query, doc: data.index.get(id)! })));
  const feedbackValidation =
    held.size > 0 ? usable.filter((_, i) => held.has(i)).map((item) => ({ text: item.query, relevant: new Map(item.relevant.map((id) => [id, 1])) })) : undefined;

  const pseudoTrain = split.train.map(toPair);
  const feedbackRepeat = feedbackPairs.length === 0 ? 0 : Math.min(FEEDBACK_MAX_REPEAT, Math.max(1, Math.round(pseudoTrain.length / feedbackPairs.length)));
  return {
    train: [...pseudoTrain, ...Array.from({ length: feedbackRepeat }, () => feedbackPairs).flat()],
    pseudoTrain: pseudoTrain.length,
    feedbackPairs: feedbackPairs.length,
    feedbackRepeat,
    pseudoValidation: split.validation.map(toPair),
    ...(feedbackValidation ? { feedbackValidation } : {}),
    counts: {
      documents: data.documents.length,
      pseudoQueries: pseudoTrain.length,
      pseudoValidation: split.validation.length,
      feedbackItems: feedback.length,
      feedbackTrain: feedbackTrain.length,
      feedbackHeldOut: held.size,
      feedbackDropped: feedback.length - usable.length,
      feedbackSkippedIds: skippedIds,
    },
    hashes: {
      documents: sha256(data.docIds),
      pseudoQueries: sha256(split.train.map((q) => q.text)),
      ...(feedbackTrain.length > 0 ? { feedback: sha256(feedbackTrain.map((f) => `${f.query}\t${f.relevant.join(',')}`)) } : {}),
    },
  };
}
