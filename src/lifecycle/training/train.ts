/**
 * Training a model version on one collection (issue 13): label-free, from the collection's own
 * documents (pseudo-queries) and its user feedback, by the recipes of
 * /work/shared/research/label-free-training.md.
 *
 *   1. Options are checked, then the live generation, its documents with stored vectors, the
 *      feedback and the registered evaluation set are read (nothing is embedded or written yet).
 *   2. Pseudo-queries (seeded) are split by document into training and validation (data.ts);
 *      feedback items add training pairs (query -> each relevant document still present), a
 *      seeded third held out once there are >= 10 usable items.
 *   3. Training and validation queries are embedded by the parent (the live generation's model),
 *      shortest first, in its inference worker; meanwhile this thread reads each held-out query's
 *      BM25 candidates (in slices, yielding to searches).
 *   4. 'adapter': a residual linear adapter, both sides, in a training worker (src/training/client.ts);
 *      'static': a token table distilled from the parent, then contrastive (src/training/static.ts),
 *      on this thread between yields.
 *   5. Validation before (parent) and after (trained) on held-out pseudo-queries, held-out feedback
 *      and the evaluation set (validation.ts; exact top-k as ORT runs); 6. the gate (gate.ts), with
 *      the fairness check (fairness.ts) on the same rankings when `fairness` names a field (its
 *      groups are read in step 1, so a field no document has is refused before any work).
 *   7. The version is written with its lineage whether or not the gate passed (a failed version
 *      stays in the registry, unused; the result says why). A cancelled run writes nothing.
 */
import { join } from 'node:path';
import { InvalidInputError } from '../../errors.ts';
import type { EmbeddingEngine, EmbedKind } from '../../embedding/engine.ts';
import type { Lineage } from '../../models/manifest.ts';
import { primaryOnnx, type ModelVersion } from '../../models/registry.ts';
import { writeAdapterModel } from '../../models/trained/adapter.ts';
import { tokenizerIdCount, writeStaticModel } from '../../models/trained/static.ts';
import { requireCollection } from '../../search/context.ts';
import { ADAPTER_DEFAULTS, packRows } from '../../training/adapter.ts';
import { TrainingWorker } from '../../training/client.ts';
import { mapByAdapter } from '../../training/dense.ts';
import { TrainingCancelledError } from '../../training/errors.ts';
import { SessionCache } from '../../training/sessions.ts';
import { onnxTokenEmbedder, STATIC_DEFAULTS, staticVectors, trainStatic } from '../../training/static.ts';
import { groupDocuments } from '../audit/groups.ts';
import { getEvalSet } from '../eval/eval-set.ts';
import { readEvalDataset } from '../eval/dataset.ts';
import {
  assembleTrainingData,
  FEEDBACK_HOLDOUT_FRACTION,
  FEEDBACK_HOLDOUT_MIN,
  PSEUDO_VALIDATION_FRACTION,
  readAllFeedback,
  readCollectionData,
  type CollectionData,
  type JudgedQuery,
  type TrainingData,
} from './data.ts';
import type { TrainingDeps } from './deps.ts';
import { DEFAULT_TRAINING_MARGIN, trainingGate, type GateMode, type GateOutcome } from './gate.ts';
import { checkFairnessOptions, fairnessCheck, type CheckedFairness, type FairnessGateOptions, type FairnessOutcome } from './fairness.ts';
import { flattenFigures, scoreQueries, withKeywordHits, type Figures, type RankedIds, type ValidationQuery } from './validation.ts';

export type TrainingKind = 'adapter' | 'static';
export const TRAINING_KINDS: readonly TrainingKind[] = ['adapter', 'static'];
export const GATE_MODES: readonly GateMode[] = ['dense', 'hybrid'];
export const MAX_EPOCHS = 100;

export type TrainingStage = 'embedding' | 'training' | 'validating' | 'writing';

export interface TrainingProgress {
  readonly stage: TrainingStage;
  /** Work done and in all within the stage (texts embedded, training steps); each stage opens with done 0. */
  readonly done: number;
  readonly total: number;
  /** The training step's loss (stage 'training'). */
  readonly loss?: number;
}

export interface TrainOptions {
  /** Default 'adapter'. */
  readonly kind?: TrainingKind;
  /** Epochs (for 'static': of each phase); default the recipe's (adapter 4, static 3 + 3). Integer in [1, 100]. */
  readonly epochs?: number;
  /** Seeds pseudo-queries, splits and training (default 7, the research note's). */
  readonly seed?: number;
  /** Which mode's figures the gate reads (default 'dense'). */
  readonly gate?: GateMode;
  /** Held-out pseudo-query nDCG@10 gain the gate asks for (default DEFAULT_TRAINING_MARGIN). */
  readonly margin?: number;
  /** Also refuse a version that moves a group of documents (by a metadata field) further from exposure parity (fairness.ts). */
  readonly fairness?: FairnessGateOptions;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: TrainingProgress) => void;
}

export interface TrainResult {
  /** The new version, `<collection>-<kind>@N`. */
  readonly model: string;
  readonly kind: TrainingKind;
  readonly parent: string;
  readonly collection: string;
  /** The generation whose documents and vectors it was trained on. */
  readonly generation: number;
  readonly validation: { readonly before: Figures; readonly after: Figures };
  readonly gate: GateOutcome & { readonly mode: GateMode; readonly margin: number; readonly fairness?: FairnessOutcome };
  readonly data: TrainingData['counts'] & { readonly evalSetQueries: number };
  readonly lineage: Lineage;
}

/** Default seed: the research note's. */
export const DEFAULT_TRAINING_SEED = 7;
/**
 * Texts per engine call when embedding training and validation queries: one call is one batcher
 * round, sorted by length and cut by the token budget, so larger calls pad less. Well below the
 * default queue bound (queueMax 4096); calls run one after another, so a run's batches do not
 * depend on timing (the same inputs give the same vectors, hence the same figures).
 */
const EMBED_BATCH = 256;

interface Checked {
  readonly kind: TrainingKind;
  readonly epochs: number | undefined;
  readonly seed: number;
  readonly gate: GateMode;
  readonly margin: number;
  readonly fairness: CheckedFairness | undefined;
}

/** Every option checked before anything is read; throws InvalidInputError naming the option. */
export function checkTrainOptions(options: TrainOptions): Checked {
  const kind = options.kind ?? 'adapter';
  if (!TRAINING_KINDS.includes(kind)) throw new InvalidInputError(`unknown kind '${String(kind)}'; use ${TRAINING_KINDS.join(' or ')}`);
  const epochs = options.epochs;
  if (epochs !== undefined && !(Number.isInteger(epochs) && epochs >= 1 && epochs <= MAX_EPOCHS)) {
    throw new InvalidInputError(`epochs must be an integer from 1 to ${MAX_EPOCHS}, got ${String(epochs)}`);
  }
  const seed = options.seed ?? DEFAULT_TRAINING_SEED;
  if (!Number.isSafeInteger(seed)) throw new InvalidInputError(`seed must be an integer, got ${String(seed)}`);
  const gate = options.gate ?? 'dense';
  if (!GATE_MODES.includes(gate)) throw new InvalidInputError(`unknown gate mode '${String(gate)}'; use ${GATE_MODES.join(' or ')}`);
  const margin = options.margin ?? DEFAULT_TRAINING_MARGIN;
  if (typeof margin !== 'number' || !(margin >= 0 && margin <= 1)) throw new InvalidInputError(`margin must be a number from 0 to 1, got ${String(margin)}`);
  const fairness = checkFairnessOptions(options.fairness);
  return { kind, epochs, seed, gate, margin, fairness };
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new TrainingCancelledError();
}

function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const r = Math.sqrt(s) || 1;
  return Float32Array.from(v, (x) => x / r);
}

/**
 * Unit vectors of `texts` by the engine, in their order. They are embedded shortest first, so that
 * each call holds texts of about one length and its batches pad little (Cranfield's pseudo-queries:
 * 7% padded tokens in input order, ~1% sorted; the order is fixed, so runs stay deterministic).
 */
async function embedQueries(engine: EmbeddingEngine, texts: readonly string[], options: TrainOptions): Promise<Float32Array[]> {
  const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length || a - b);
  const out: Float32Array[] = new Array(texts.length);
  options.onProgress?.({ stage: 'embedding', done: 0, total: texts.length });
  for (let i = 0; i < order.length; i += EMBED_BATCH) {
    throwIfCancelled(options.signal);
    const slice = order.slice(i, i + EMBED_BATCH);
    const { vectors } = await engine.embed(slice.map((k) => texts[k]!), 'query');
    vectors.forEach((v, j) => (out[slice[j]!] = unit(v)));
    options.onProgress?.({ stage: 'embedding', done: i + slice.length, total: texts.length });
  }
  return out;
}

/** The evaluation set's queries over the documents the collection holds (judged documents only; queries with none dropped). */
function evalSetQueries(deps: TrainingDeps, data: CollectionData): JudgedQuery[] | undefined {
  const set = getEvalSet(deps, data.collection.name);
  if (!set) return undefined;
  const dataset = readEvalDataset(set.dataset);
  const out: JudgedQuery[] = [];
  for (const q of dataset.queries) {
    const relevant = new Map([...q.relevant].filter(([id]) => data.index.has(id)));
    if (relevant.size > 0) out.push({ text: q.text, relevant });
  }
  return out;
}

/** The held-out sets with their keyword candidates, in a fixed order: pseudo, feedback, eval set. */
interface HeldOut {
  readonly pseudo: ValidationQuery[];
  readonly feedback?: ValidationQuery[];
  readonly eval_set?: ValidationQuery[];
}

/** Figures of the held-out sets, and every held-out query's top 10 per mode (pseudo, feedback, eval set, in order). */
interface Scored {
  readonly figures: Figures;
  readonly ranked: RankedIds;
}

/** Figures of each held-out set: its queries' vectors and the documents', row-major [rows, d]. */
async function figuresOf(sessions: SessionCache, held: HeldOut, vectorsOf: (set: keyof HeldOut) => Float32Array, docs: Float32Array, d: number, data: CollectionData): Promise<Scored> {
  const alpha = data.collection.hybridAlpha;
  const score = (set: keyof HeldOut) => scoreQueries(sessions, held[set]!, vectorsOf(set), docs, d, data.docIds, alpha);
  const pseudo = await score('pseudo');
  const feedback = held.feedback ? await score('feedback') : undefined;
  const evalSet = held.eval_set ? await score('eval_set') : undefined;
  const sets = [pseudo, feedback, evalSet].filter((x) => x !== undefined);
  return {
    figures: {
      pseudo: pseudo.figures,
      ...(feedback ? { feedback: feedback.figures } : {}),
      ...(evalSet ? { eval_set: evalSet.figures } : {}),
    },
    ranked: { dense: sets.flatMap((x) => x.ranked.dense), hybrid: sets.flatMap((x) => x.ranked.hybrid) },
  };
}

interface Trained {
  /** The documents' vectors after training, row-major [documents, d]. */
  readonly docsAfter: Float32Array;
  /** Query vectors after training (row-major), from the parent's (adapter) or the texts (static). */
  readonly queriesAfter: (texts: readonly string[], parentVectors: Float32Array) => Promise<Float32Array>;
  readonly hyperparameters: Record<string, number | string | boolean>;
  readonly write: (lineage: Parameters<typeof writeAdapterModel>[3]) => Promise<ModelVersion>;
}

async function trainAdapterKind(
  deps: TrainingDeps,
  sessions: SessionCache,
  worker: TrainingWorker,
  parent: ModelVersion,
  data: CollectionData,
  pairs: { vectors: readonly Float32Array[]; docs: readonly number[] },
  checked: Checked,
  options: TrainOptions,
): Promise<Trained> {
  const epochs = checked.epochs ?? ADAPTER_DEFAULTS.epochs;
  const result = await worker.trainAdapter({
    queries: pairs.vectors,
    positives: pairs.docs,
    documents: data.vectors,
    epochs,
    seed: checked.seed,
    sides: 'both',
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (p) => options.onProgress?.({ stage: 'training', done: p.step, total: p.steps, loss: p.loss }),
  });
  const W = result.W;
  const d = data.vectors[0]!.length;
  return {
    docsAfter: await mapByAdapter(sessions, W, packRows(data.vectors, d), d),
    queriesAfter: (_texts, parentVectors) => mapByAdapter(sessions, W, parentVectors, d),
    hyperparameters: {
      recipe: 'adapter-infonce',
      sides: 'both',
      epochs,
      batchSize: ADAPTER_DEFAULTS.batchSize,
      lr: ADAPTER_DEFAULTS.lr,
      temperature: ADAPTER_DEFAULTS.temperature,
      l2: ADAPTER_DEFAULTS.l2,
      candidates: result.candidates,
      steps: result.steps,
    },
    write: (lineage) => writeAdapterModel(deps.modelsDir, parent, W, lineage),
  };
}

async function trainStaticKind(
  deps: TrainingDeps,
  parent: ModelVersion,
  engine: EmbeddingEngine,
  vocabulary: number,
  data: CollectionData,
  pairs: { texts: readonly string[]; vectors: readonly Float32Array[]; docs: readonly number[] },
  checked: Checked,
  options: TrainOptions,
): Promise<Trained> {
  const ids = (texts: readonly string[], kind: EmbedKind) => texts.map((t) => engine.tokenize(t, kind).ids);
  const documents = ids(data.texts, 'document');
  const distill = { ...STATIC_DEFAULTS.distill, ...(checked.epochs !== undefined ? { epochs: checked.epochs } : {}) };
  const contrastive = { ...STATIC_DEFAULTS.contrastive, ...(checked.epochs !== undefined ? { epochs: checked.epochs } : {}) };
  const onnx = await onnxTokenEmbedder(join(parent.dir, primaryOnnx(parent.manifest).path), parent.manifest, deps.threads);
  let result;
  try {
    result = await trainStatic({
      vocabulary,
      parent: onnx.embed,
      documents,
      documentVectors: data.vectors,
      queries: ids(pairs.texts, 'query'),
      queryVectors: pairs.vectors,
      positives: pairs.docs,
      distill,
      contrastive,
      seed: checked.seed,
      ...(deps.threads !== undefined ? { threads: deps.threads } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (p) => options.onProgress?.({ stage: 'training', done: p.step, total: p.steps, loss: p.loss }),
    });
  } finally {
    await onnx.release();
  }
  const { table, weights, dimensions } = result;
  return {
    docsAfter: staticVectors(table, weights, documents),
    queriesAfter: (texts) => Promise.resolve(staticVectors(table, weights, ids(texts, 'query'))),
    hyperparameters: {
      recipe: 'static-distill-contrastive',
      vocabulary,
      sifA: STATIC_DEFAULTS.sifA,
      'distill.epochs': distill.epochs,
      'distill.batchSize': distill.batchSize,
      'distill.lr': distill.lr,
      'contrastive.epochs': contrastive.epochs,
      'contrastive.batchSize': contrastive.batchSize,
      'contrastive.lr': contrastive.lr,
      'contrastive.temperature': contrastive.temperature,
      'contrastive.randomNegatives': contrastive.randomNegatives,
      steps: result.steps,
    },
    write: (lineage) => writeStaticModel(deps.modelsDir, parent, table, weights, lineage),
  };
}

interface Validated {
  readonly trained: Trained;
  readonly held: HeldOut;
  readonly before: Scored;
  readonly after: Scored;
}

/** Steps 3-5: the parent's query vectors and the keyword candidates, training, figures before and after. */
async function trainAndValidate(
  deps: TrainingDeps,
  sessions: SessionCache,
  worker: TrainingWorker | undefined,
  data: CollectionData,
  training: TrainingData,
  evalSet: JudgedQuery[] | undefined,
  parent: ModelVersion,
  engine: EmbeddingEngine,
  vocabulary: number,
  checked: Checked,
  options: TrainOptions,
): Promise<Validated> {
  // 3. Query vectors by the parent (training pairs, then each held-out set), in the inference
  //    worker, while this thread reads the held-out queries' keyword candidates.
  const judged = {
    pseudo: training.pseudoValidation.map((q) => ({ text: q.text, relevant: new Map([[data.docIds[q.doc]!, 1]]) })),
    ...(training.feedbackValidation ? { feedback: training.feedbackValidation } : {}),
    ...(evalSet && evalSet.length > 0 ? { eval_set: evalSet } : {}),
  };
  const heldSets = (['pseudo', 'feedback', 'eval_set'] as const).filter((s) => judged[s] !== undefined);
  const texts = [...training.train.map((p) => p.text), ...heldSets.flatMap((s) => judged[s]!.map((q) => q.text))];
  const [embedded, keywordLists] = await Promise.all([
    embedQueries(engine, texts, options),
    Promise.all(heldSets.map((s) => withKeywordHits(deps, data.collection.name, judged[s]!, options.signal))),
  ]);
  const held: HeldOut = {
    pseudo: keywordLists[heldSets.indexOf('pseudo')]!,
    ...(judged.feedback ? { feedback: keywordLists[heldSets.indexOf('feedback')]! } : {}),
    ...(judged.eval_set ? { eval_set: keywordLists[heldSets.indexOf('eval_set')]! } : {}),
  };
  const d = data.vectors[0]!.length;
  const trainVectors = embedded.slice(0, training.train.length);
  const parentVectors = new Map<keyof HeldOut, Float32Array>();
  let at = training.train.length;
  for (const s of heldSets) {
    parentVectors.set(s, packRows(embedded.slice(at, at + held[s]!.length), d));
    at += held[s]!.length;
  }
  throwIfCancelled(options.signal);

  // 4. Training (the stage opens before its step count is known: total 0).
  options.onProgress?.({ stage: 'training', done: 0, total: 0 });
  const pairs = { texts: training.train.map((p) => p.text), vectors: trainVectors, docs: training.train.map((p) => p.doc) };
  const trained =
    checked.kind === 'adapter'
      ? await trainAdapterKind(deps, sessions, worker!, parent, data, pairs, checked, options)
      : await trainStaticKind(deps, parent, engine, vocabulary, data, pairs, checked, options);
  throwIfCancelled(options.signal);

  // 5. Validation: the held-out sets' figures with the parent, then with the trained version.
  options.onProgress?.({ stage: 'validating', done: 0, total: 1 });
  const before = await figuresOf(sessions, held, (s) => parentVectors.get(s)!, packRows(data.vectors, d), d, data);
  const afterVectors = new Map<keyof HeldOut, Float32Array>();
  for (const s of heldSets) afterVectors.set(s, await trained.queriesAfter(held[s]!.map((q) => q.text), parentVectors.get(s)!));
  const after = await figuresOf(sessions, held, (s) => afterVectors.get(s)!, trained.docsAfter, d, data);
  return { trained, held, before, after };
}

/**
 * Trains a version of `kind` on the collection, validates it against its parent (the live
 * generation's model), gates it, and writes it with its lineage, gate passed or not.
 */
export async function trainCollection(deps: TrainingDeps, collection: string, options: TrainOptions = {}): Promise<TrainResult> {
  const checked = checkTrainOptions(options);
  throwIfCancelled(options.signal);
  requireCollection(deps, collection);

  // 1. Reads (nothing embedded or written yet).
  const data = readCollectionData(deps, collection);
  // The fairness check's groups, read first: a field no document has is refused before any work.
  const groups = checked.fairness ? groupDocuments(data.docIds.map((id, i) => ({ id, metadata: data.metadata[i]! })), checked.fairness.groupBy, data.collection.name) : undefined;
  const training = assembleTrainingData(data, readAllFeedback(deps, collection), checked.seed);
  const evalSet = evalSetQueries(deps, data);
  const parent = await deps.engines.resolve(data.generation.model);
  let vocabulary = 0;
  if (checked.kind === 'static') {
    const count = await tokenizerIdCount(parent.dir);
    if (count === undefined) throw new InvalidInputError(`cannot train a static model from ${parent.id}: the size of its tokenizer's vocabulary cannot be told from tokenizer.json`);
    vocabulary = count;
  }
  const engine = await deps.engines.get(parent.id);

  const threads = deps.threads !== undefined ? { threads: deps.threads } : {};
  const sessions = new SessionCache(threads);
  // The adapter's training thread starts now: it boots (modules, ONNX Runtime) while the parent embeds.
  const worker = checked.kind === 'adapter' ? TrainingWorker.start(threads) : undefined;
  let validated: Validated;
  try {
    validated = await trainAndValidate(deps, sessions, worker, data, training, evalSet, parent, engine, vocabulary, checked, options);
  } finally {
    await Promise.all([sessions.release(), worker?.close()]);
  }
  const { trained, held } = validated;
  const before = validated.before.figures;
  const after = validated.after.figures;

  // 6. The gate (with the fairness check, when asked for, on the gate mode's rankings).
  const fairness =
    checked.fairness && groups
      ? fairnessCheck(groups, validated.before.ranked[checked.gate], validated.after.ranked[checked.gate], { ...checked.fairness, mode: checked.gate, seed: checked.seed })
      : undefined;
  const gate = trainingGate(before, after, {
    mode: checked.gate,
    margin: checked.margin,
    pseudoQueries: held.pseudo.length,
    ...(held.feedback ? { feedbackQueries: held.feedback.length } : {}),
    ...(held.eval_set ? { evalSetQueries: held.eval_set.length } : {}),
    ...(fairness ? { fairness } : {}),
  });
  options.onProgress?.({ stage: 'validating', done: 1, total: 1 });
  throwIfCancelled(options.signal);

  // 7. The version, gate passed or not.
  options.onProgress?.({ stage: 'writing', done: 0, total: 1 });
  const version = await trained.write({
    collection: data.collection.name,
    data: { documents: training.counts.documents, pseudoQueries: training.counts.pseudoQueries, feedback: training.counts.feedbackTrain, hashes: { ...training.hashes } },
    hyperparameters: {
      ...trained.hyperparameters,
      generation: data.generation.id,
      validationFraction: PSEUDO_VALIDATION_FRACTION,
      feedbackHoldoutMin: FEEDBACK_HOLDOUT_MIN,
      feedbackHoldoutFraction: FEEDBACK_HOLDOUT_FRACTION,
      feedbackPairs: training.feedbackPairs,
      feedbackRepeat: training.feedbackRepeat,
      feedbackHeldOut: training.counts.feedbackHeldOut,
      gate: checked.gate,
      margin: checked.margin,
      ...(checked.fairness ? { fairnessGroupBy: checked.fairness.groupBy, fairnessMargin: checked.fairness.margin } : {}),
      // The outcome, so that the registry says why a version is unused.
      gatePassed: gate.passed,
      gateReason: gate.reason,
    },
    seed: checked.seed,
    validation: { before: flattenFigures(before), after: flattenFigures(after) },
  });
  options.onProgress?.({ stage: 'writing', done: 1, total: 1 });
  return {
    model: version.id,
    kind: checked.kind,
    parent: parent.id,
    collection: data.collection.name,
    generation: data.generation.id,
    validation: { before, after },
    gate: { ...gate, mode: checked.gate, margin: checked.margin, ...(fairness ? { fairness } : {}) },
    data: { ...training.counts, evalSetQueries: held.eval_set?.length ?? 0 },
    lineage: version.manifest.lineage!,
  };
}
