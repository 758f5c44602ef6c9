// Tests src/lifecycle/training/train.ts: trainCollection through runtime.lifecycle (deps built by the composition root), with a tiny BERT and a synthetic 60-document collection.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/config.ts';
import { CollectionNotFoundError, InvalidInputError } from '../../../../src/errors.ts';
import { registerEvalSet } from '../../../../src/lifecycle/eval/eval-set.ts';
import { evaluateCollection } from '../../../../src/lifecycle/eval/run.ts';
import { DEFAULT_FAIRNESS_MARGIN } from '../../../../src/lifecycle/training/fairness.ts';
import { addFeedback } from '../../../../src/lifecycle/training/feedback.ts';
import type { TrainOptions, TrainResult, TrainingProgress } from '../../../../src/lifecycle/training/train.ts';
import { setLogLevel } from '../../../../src/log.ts';
import { ModelRegistry } from '../../../../src/models/registry.ts';
import { openRuntime, type Runtime } from '../../../../src/runtime.ts';
import { TrainingCancelledError } from '../../../../src/training/errors.ts';
import { mulberry32 } from '../../../../src/util/random.ts';
import { writeBeir } from '../../../helpers/eval-fixture.ts';
import { importTinyBert, TINY_TOPICS } from '../../../helpers/tiny-models.ts';

const PARENT = 'tiny-a@1';

const TOPICS = TINY_TOPICS;
const FILLER = ['the', 'of', 'and', 'with', 'about', 'some', 'many', 'little', 'old', 'new', 'good', 'great', 'very', 'big', 'small'];

interface SyntheticDoc {
  readonly id: string;
  readonly title: string;
  readonly text: string;
}

/** doc-00 .. doc-59: document i is on topic i % 10; a title of four words, then three sentences of 6-8 words. */
function corpus(count = 60): SyntheticDoc[] {
  const r = mulberry32(11);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const words = TOPICS[i % TOPICS.length]!;
    const sentence = () => {
      const n = 6 + Math.floor(r() * 3);
      return Array.from({ length: n }, (_, j) => (j % 2 === 0 ? pick(words) : pick(FILLER))).join(' ') + ' .';
    };
    return {
      id: `doc-${String(i).padStart(2, '0')}`,
      title: `${pick(words)} ${pick(FILLER)} ${pick(words)} ${pick(words)}`,
      text: [sentence(), sentence(), sentence()].join(' '),
    };
  });
}

let root: string;
let runtime: Runtime;
let modelsDir: string;
let n = 0;

beforeAll(async () => {
  setLogLevel('silent');
  root = await mkdtemp(join(tmpdir(), 'sextant-train-'));
  modelsDir = join(root, 'models');
  await importTinyBert(new ModelRegistry(modelsDir), { name: 'tiny-a', seed: 1 });
  const config = loadConfig({ modelsDir, dataDir: join(root, 'data'), threads: 1 }, {});
  runtime = await openRuntime(config, { startJobs: false });
});
afterAll(async () => {
  await runtime?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** A new collection on PARENT holding `docs` (default: the 60 synthetic documents). */
async function collection(docs: readonly SyntheticDoc[] = corpus()): Promise<string> {
  const name = `c${++n}`;
  await runtime.service.createCollection({ name, model: PARENT });
  if (docs.length > 0) await runtime.service.upsertDocuments(name, docs);
  return name;
}

/** Short runs: 2 epochs (the recipe's other settings). */
const train = (name: string, options: TrainOptions = {}): Promise<TrainResult> => runtime.lifecycle.train(name, { epochs: 2, ...options });

const folderOf = (name: string, kind = 'adapter') => join(modelsDir, `${name}-${kind}`);
const versionsOf = async (name: string, kind = 'adapter') => (await new ModelRegistry(modelsDir).list()).filter((v) => v.manifest.name === `${name}-${kind}`).map((v) => v.id);

function expectFigures(f: { 'ndcg@10': number; 'mrr@10': number }): void {
  for (const v of [f['ndcg@10'], f['mrr@10']]) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(1);
  }
}

describe('trainCollection (adapter)', () => {
  it('trains, validates, gates and writes <collection>-adapter@1 with its lineage; the engine serves it', async () => {
    const name = await collection();
    const stages = new Set<TrainingProgress['stage']>();
    const result = await train(name, { onProgress: (p) => stages.add(p.stage) });
    expect(result.model).toBe(`${name}-adapter@1`);
    expect(result).toMatchObject({ kind: 'adapter', parent: PARENT, collection: name, gate: { mode: 'dense', margin: 0.005 } });
    expect([...stages]).toEqual(['embedding', 'training', 'validating', 'writing']);
    for (const side of ['before', 'after'] as const) {
      const f = result.validation[side];
      expect(Object.keys(f)).toEqual(['pseudo']); // no feedback, no evaluation set
      expectFigures(f.pseudo.dense);
      expectFigures(f.pseudo.hybrid);
    }
    expect(typeof result.gate.passed).toBe('boolean');
    expect(result.gate.reason).toMatch(/held-out pseudo-queries \(\d+ queries\) dense nDCG@10 \d\.\d{4} -> \d\.\d{4}/);
    expect(result.data).toMatchObject({ documents: 60, feedbackItems: 0, feedbackTrain: 0, evalSetQueries: 0 });
    expect(result.data.pseudoValidation).toBeGreaterThan(0);

    // The lineage as written, read back from the registry.
    const version = await new ModelRegistry(modelsDir).resolve(result.model);
    expect(version.manifest.lineage).toEqual(result.lineage);
    const lineage = result.lineage;
    expect(lineage).toMatchObject({ parent: PARENT, kind: 'adapter', collection: name, seed: 7, data: { documents: 60, pseudoQueries: result.data.pseudoQueries, feedback: 0 } });
    expect(lineage.data.hashes?.documents).toMatch(/^[0-9a-f]{64}$/);
    expect(lineage.data.hashes?.pseudoQueries).toMatch(/^[0-9a-f]{64}$/);
    expect(lineage.hyperparameters).toMatchObject({ epochs: 2, sides: 'both', lr: 1e-3, temperature: 0.05, gate: 'dense', margin: 0.005, gatePassed: result.gate.passed });
    expect(lineage.validation.before['pseudo.dense.ndcg@10']).toBe(result.validation.before.pseudo.dense['ndcg@10']);
    expect(lineage.validation.after['pseudo.hybrid.mrr@10']).toBe(result.validation.after.pseudo.hybrid['mrr@10']);
    expect(Object.keys(lineage.validation.before).sort()).toEqual(['pseudo.dense.mrr@10', 'pseudo.dense.ndcg@10', 'pseudo.hybrid.mrr@10', 'pseudo.hybrid.ndcg@10']);
    expect(Number.isNaN(Date.parse(lineage.createdAt))).toBe(false);

    // Served: a unit vector of the parent's dimensions, not the parent's own.
    const served = (await (await runtime.service.engines.get(result.model)).embed(['river water sea'], 'query')).vectors[0]!;
    const parent = (await (await runtime.service.engines.get(PARENT)).embed(['river water sea'], 'query')).vectors[0]!;
    expect(served).toHaveLength(32);
    expect(Math.hypot(...served)).toBeCloseTo(1, 4);
    expect(Math.max(...served.map((x, i) => Math.abs(x - parent[i]!)))).toBeGreaterThan(1e-4);
  });

  it('gives the same figures for the same seed; the second version is @2', async () => {
    const name = await collection();
    const first = await train(name, { seed: 3 });
    const second = await train(name, { seed: 3 });
    expect(first.model).toBe(`${name}-adapter@1`);
    expect(second.model).toBe(`${name}-adapter@2`);
    expect(second.validation).toEqual(first.validation);
    expect(second.lineage.data).toEqual(first.lineage.data);
    expect(second.lineage.seed).toBe(3);
    expect(await versionsOf(name)).toEqual([`${name}-adapter@1`, `${name}-adapter@2`]);
  });

  it('refuses bad options, an unknown collection and an empty one, writing nothing', async () => {
    const name = await collection();
    const bad: TrainOptions[] = [
      { kind: 'lora' as never },
      { epochs: 0 },
      { epochs: 101 },
      { epochs: 1.5 },
      { seed: 1.5 },
      { seed: Number.NaN },
      { gate: 'keyword' as never },
      { margin: -0.1 },
      { margin: Number.NaN },
    ];
    for (const options of bad) await expect(runtime.lifecycle.train(name, options), JSON.stringify(options)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(runtime.lifecycle.train(name, { epochs: 0 })).rejects.toThrow(/epochs must be an integer from 1 to 100/);
    await expect(runtime.lifecycle.train(name, { kind: 'lora' as never })).rejects.toThrow(/unknown kind 'lora'/);
    await expect(runtime.lifecycle.train('no-such-collection')).rejects.toBeInstanceOf(CollectionNotFoundError);
    const empty = await collection([]);
    await expect(runtime.lifecycle.train(empty)).rejects.toThrow(/holds no documents/);
    await expect(runtime.lifecycle.train(empty)).rejects.toBeInstanceOf(InvalidInputError);
    expect(existsSync(folderOf(name))).toBe(false);
    expect(existsSync(folderOf(empty))).toBe(false);
  });

  it('writes nothing when cancelled, before or during training', async () => {
    const name = await collection();
    const aborted = new AbortController();
    aborted.abort();
    await expect(train(name, { signal: aborted.signal })).rejects.toBeInstanceOf(TrainingCancelledError);
    const controller = new AbortController();
    const run = train(name, { epochs: 4, signal: controller.signal, onProgress: (p) => p.stage === 'training' && controller.abort() });
    await expect(run).rejects.toBeInstanceOf(TrainingCancelledError);
    expect(existsSync(folderOf(name))).toBe(false);
    expect(await versionsOf(name)).toEqual([]);
  });

  it('uses feedback as training pairs with a held-out third, skipping ids that are no longer documents', async () => {
    const name = await collection();
    const items = Array.from({ length: 12 }, (_, t) => ({
      query: `${TOPICS[t % 10]![0]} ${TOPICS[t % 10]![1]}`,
      relevant: [`doc-${String(t).padStart(2, '0')}`, ...(t === 0 ? ['doc-58'] : [])],
    }));
    items.push({ query: 'star light night', relevant: ['doc-59'] });
    expect(addFeedback(runtime.lifecycle.feedback, name, items)).toEqual({ stored: 13 });
    await runtime.service.deleteDocuments(name, ['doc-58', 'doc-59']);

    const result = await train(name);
    if (process.env.SEXTANT_PRINT_TRAIN) console.log(JSON.stringify({ validation: result.validation, gate: result.gate }, null, 1));
    // 13 stored; doc-59's item has no document left (dropped); doc-58 skipped; 12 usable: 4 held out, 8 train.
    expect(result.data).toMatchObject({ documents: 58, feedbackItems: 13, feedbackDropped: 1, feedbackSkippedIds: 2, feedbackHeldOut: 4, feedbackTrain: 8 });
    expect(result.lineage.data.feedback).toBe(8);
    expect(result.lineage.hyperparameters).toMatchObject({ feedbackPairs: 8, feedbackHeldOut: 4 });
    expect(result.lineage.data.hashes?.feedback).toMatch(/^[0-9a-f]{64}$/);
    expect(result.validation.before.feedback).toBeDefined();
    expectFigures(result.validation.after.feedback!.dense);
    expect(result.lineage.validation.before['feedback.dense.ndcg@10']).toBe(result.validation.before.feedback!.dense['ndcg@10']);
    expect(result.gate.reason).toMatch(/held-out feedback \(4 queries\) dense nDCG@10/);
  });

  it('a failed gate still writes the version, and the reason names the figures', async () => {
    const name = await collection();
    const result = await train(name, { margin: 1 });
    expect(result.gate.passed).toBe(false);
    expect(result.gate.reason).toMatch(/^gate failed: held-out pseudo-queries \(\d+ queries\) dense nDCG@10 \d\.\d{4} -> \d\.\d{4} \([+-]\d\.\d{4}\) < margin 1/);
    expect(await versionsOf(name)).toEqual([result.model]);
    expect(result.lineage.hyperparameters.gatePassed).toBe(false);
  });

  it('validates on the registered evaluation set (judged documents only), figures as evaluation measures them', async () => {
    const name = await collection();
    const queries = TOPICS.map((words, t) => ({ id: `q${t}`, text: `${words[0]} ${words[2]}` }));
    // Each query judges the six documents of its topic (the first graded 2); q-ghost judges only a document the collection lacks.
    const qrels: [string, string, number][] = TOPICS.flatMap((_, t) => Array.from({ length: 6 }, (_, k) => [`q${t}`, `doc-${String(t + 10 * k).padStart(2, '0')}`, k === 0 ? 2 : 1] as [string, string, number]));
    const dir = writeBeir(join(root, `eval-${name}`), { queries, qrels });
    const withGhost = writeBeir(join(root, `eval-ghost-${name}`), { queries: [...queries, { id: 'q-ghost', text: 'river rain' }], qrels: [...qrels, ['q-ghost', 'ghost', 1]] });
    registerEvalSet(runtime.lifecycle.eval, name, withGhost);
    const result = await train(name, { gate: 'hybrid' });
    expect(result.data.evalSetQueries).toBe(10); // q-ghost has no judged document in the collection
    const before = result.validation.before.eval_set!;
    expectFigures(before.dense);
    expectFigures(result.validation.after.eval_set!.hybrid);
    expect(result.lineage.validation.after['eval_set.hybrid.ndcg@10']).toBe(result.validation.after.eval_set!.hybrid['ndcg@10']);
    expect(result.gate.reason).toMatch(/evaluation set \(10 queries\) hybrid nDCG@10/);
    expect(result.gate.reason).toMatch(/held-out pseudo-queries \(\d+ queries\) hybrid nDCG@10/);
    // The parent's figures are those of the collection's own searches (60 documents: the index is exact).
    const evaluated = await evaluateCollection(runtime.lifecycle.eval, name, dir, { modes: ['dense', 'hybrid'], annRecall: false, recall: false });
    expect(before.dense['ndcg@10']).toBeCloseTo(evaluated.modes.dense!['ndcg@10'], 6);
    expect(before.hybrid['ndcg@10']).toBeCloseTo(evaluated.modes.hybrid!['ndcg@10'], 6);
    expect(before.hybrid['mrr@10']).toBeCloseTo(evaluated.modes.hybrid!['mrr@10'], 6);
  });
});

describe('trainCollection with the fairness check', () => {
  /** The 60 documents by topic: `side` 'b' for topics 0-4, 'a' for 5-9 (document i is on topic i % 10). */
  const sided = () => corpus().map((d, i) => ({ ...d, metadata: { side: i % 10 < 5 ? 'b' : 'a', ...(i === 0 ? { note: 'x' } : {}) } }));

  it("refuses a version trained on feedback that favours one side, naming the group and both figures", async () => {
    const name = await collection(sided());
    // Biased feedback: queries on each 'a' topic (5-9) judge only documents of a 'b' topic (t - 5) relevant.
    const items = TOPICS.slice(5).flatMap((words, t) =>
      [[0, 1], [2, 3], [4, 5]].map(([x, y]) => ({ query: `${words[x!]} ${words[y!]}`, relevant: [0, 10, 20].map((k) => `doc-${String(t + k).padStart(2, '0')}`) })),
    );
    addFeedback(runtime.lifecycle.feedback, name, items);
    const result = await train(name, { epochs: 10, margin: 0, fairness: { groupBy: 'side' } }); // the default margin
    if (process.env.SEXTANT_PRINT_TRAIN) console.log(JSON.stringify(result.gate, null, 1));
    const fairness = result.gate.fairness!;
    expect(fairness).toMatchObject({ group_by: 'side', margin: DEFAULT_FAIRNESS_MARGIN, mode: 'dense', k: 10 });
    // Held-out pseudo-queries and held-out feedback, both sides.
    expect(fairness.queries.before).toBe(result.data.pseudoValidation + result.data.feedbackHeldOut);
    const b = fairness.groups.find((g) => g.value === 'b')!;
    expect(b.documents).toBe(30);
    expect(b.after.value).toBeGreaterThan(b.before.value); // the favoured side gained exposure
    expect(fairness.after).toMatchObject({ group: 'b' });
    expect(fairness.change).toBeCloseTo(fairness.after!.disparity - fairness.before!.disparity, 12);
    expect(fairness.change).toBeGreaterThan(DEFAULT_FAIRNESS_MARGIN);
    expect(fairness.passed).toBe(false);
    expect(result.gate.passed).toBe(false);
    expect(result.gate.reason).toMatch(/^gate failed: .*fairness by 'side' \(dense top 10\), \d+ queries, 2 groups: disparity .* \d\.\d{3} \(group 'b', 30 documents: exposure ÷ collection share \d\.\d{3}, 95% interval .*: \+\d\.\d{3} > margin 0\.05/);
    expect(result.lineage.hyperparameters).toMatchObject({ fairnessGroupBy: 'side', fairnessMargin: DEFAULT_FAIRNESS_MARGIN, gatePassed: false });

    // The same run with a margin wider than the move: the fairness line passes (and the figures are the same).
    const wide = await train(name, { epochs: 10, margin: 0, fairness: { groupBy: 'side', margin: 10 } });
    expect(wide.gate.fairness!.passed).toBe(true);
    expect(wide.gate.fairness!.groups).toEqual(fairness.groups);
    expect(wide.gate.reason).toContain('<= margin 10');
  });

  it('refuses a field no document has before any work, naming the fields they have', async () => {
    const name = await collection(sided());
    await expect(train(name, { fairness: { groupBy: 'colour' } })).rejects.toThrow(/no document of collection '.*' has metadata field 'colour' .*fields its documents have: note, side/);
    await expect(train(name, { fairness: { groupBy: '' } })).rejects.toThrow(/fairness\.group_by must name a metadata field/);
    await expect(train(name, { fairness: { groupBy: 'side', margin: -1 } })).rejects.toBeInstanceOf(InvalidInputError);
    expect(existsSync(folderOf(name))).toBe(false);
  });
});

describe('trainCollection (static)', () => {
  it('trains a static model from the parent and writes <collection>-static@1, served by the engine', async () => {
    const name = await collection();
    const result = await train(name, { kind: 'static', epochs: 1 });
    expect(result.model).toBe(`${name}-static@1`);
    expect(result.kind).toBe('static');
    expect(result.lineage).toMatchObject({ kind: 'static', parent: PARENT, collection: name, hyperparameters: { recipe: 'static-distill-contrastive', 'distill.epochs': 1, 'contrastive.epochs': 1 } });
    expectFigures(result.validation.after.pseudo.dense);
    const version = await new ModelRegistry(modelsDir).resolve(result.model);
    expect(version.manifest.lineage).toEqual(result.lineage);
    const served = (await (await runtime.service.engines.get(result.model)).embed(['river water sea'], 'query')).vectors[0]!;
    expect(served).toHaveLength(32);
    expect(Math.hypot(...served)).toBeCloseTo(1, 4);
    expect(existsSync(folderOf(name, 'adapter'))).toBe(false);
  });
});
