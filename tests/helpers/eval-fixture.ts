/**
 * What the evaluation unit tests (tests/unit/lifecycle/eval/) share: two tiny generated BERTs, a
 * runtime built by the composition root over a temporary data directory, a synthetic 40-document
 * corpus in ten topics with BEIR folders written from it, and ranking metrics, ANN recall and
 * hybrid fusion computed here from scratch (never through src/search/metrics.ts), so the
 * evaluation's figures can be checked against searches the test makes itself.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { loadConfig, type Config } from '../../src/config.ts';
import type { VectorIndex, VectorQuery } from '../../src/index/types.ts';
import type { EvalDeps } from '../../src/lifecycle/eval/deps.ts';
import type { JobStatus } from '../../src/lifecycle/reembed/jobs.ts';
import { setLogLevel } from '../../src/log.ts';
import { ModelRegistry } from '../../src/models/registry.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import type { QueryObserved } from '../../src/search/events.ts';
import type { SearchMode } from '../../src/search/query.ts';
import type { SearchService } from '../../src/search/service.ts';
import { importTinyBert } from './tiny-models.ts';

/** The first model (32-d) and a second one with other weights and 48 dimensions. */
export const MODEL_A = 'tiny-a@1';
export const MODEL_B = 'tiny-b@1';

/** Ten topics of four in-vocabulary words each (scripts/make-tiny-bert.ts). */
const TOPICS: readonly (readonly string[])[] = [
  ['river', 'water', 'sea', 'rain'],
  ['music', 'song', 'play', 'hear'],
  ['computer', 'machine', 'learning', 'language'],
  ['food', 'eat', 'plant', 'tree'],
  ['mother', 'father', 'family', 'children'],
  ['city', 'country', 'land', 'state'],
  ['sun', 'moon', 'star', 'light'],
  ['dog', 'cat', 'animal', 'house'],
  ['book', 'read', 'letter', 'story'],
  ['car', 'fast', 'slow', 'run'],
];
const FILLER = ['the', 'of', 'and', 'with', 'about', 'some', 'many', 'little', 'old', 'new', 'good', 'great'];

export interface Doc {
  readonly id: string;
  readonly text: string;
}

/**
 * doc-00 .. doc-39: document 4t+n is on topic t and holds its words n and n+1 (mod 4), two filler
 * words and one word of the next topic (so keyword search also finds documents off the topic).
 */
export const DOCS: readonly Doc[] = TOPICS.flatMap((words, t) =>
  [0, 1, 2, 3].map((n) => {
    const i = t * 4 + n;
    const next = TOPICS[(t + 1) % TOPICS.length]![(n + 2) % 4]!;
    const text = `${FILLER[i % FILLER.length]} ${words[n]} ${FILLER[(i * 5 + 3) % FILLER.length]} ${words[(n + 1) % 4]} ${next}`;
    return { id: `doc-${String(i).padStart(2, '0')}`, text };
  }),
);

export interface Query {
  readonly id: string;
  readonly text: string;
  /** Judged document id -> grade (> 0 relevant; 0 and negative are written but not relevant). */
  readonly qrels: Readonly<Record<string, number>>;
}

/**
 * q01 .. q10, one per topic, asking for its words 0 and 1: the topic's document holding both is
 * graded 2, the two holding one of them 1, the last one 0 (judged, not relevant). q10 also judges
 * a document the corpus does not hold ('ghost'), so one judged id is missing.
 */
export const QUERIES: readonly Query[] = TOPICS.map((words, t) => {
  const doc = (n: number) => `doc-${String(t * 4 + n).padStart(2, '0')}`;
  const qrels: Record<string, number> = { [doc(0)]: 2, [doc(1)]: 1, [doc(3)]: 1, [doc(2)]: 0 };
  if (t === 9) qrels.ghost = 1;
  return { id: `q${String(t + 1).padStart(2, '0')}`, text: `${words[0]} ${words[1]}`, qrels };
});

/** A query of queries.jsonl without judgements (counted as unjudged, not evaluated). */
export const UNJUDGED_QUERY = { id: 'q-unjudged', text: 'green blue red' };

export interface BeirSpec {
  readonly queries: readonly { readonly id: string | number; readonly text: string }[];
  readonly qrels: readonly (readonly [string | number, string, number])[];
  readonly corpus?: readonly Doc[];
  /** 'qrels.tsv' (default) or 'qrels/test.tsv'. */
  readonly qrelsFile?: string;
  /** Write the BEIR header line "query-id\tcorpus-id\tscore" first (default true). */
  readonly header?: boolean;
}

/** Writes a BEIR folder (corpus.jsonl, queries.jsonl, qrels) at `dir`; returns `dir`. */
export function writeBeir(dir: string, spec: BeirSpec): string {
  mkdirSync(dir, { recursive: true });
  const corpus = spec.corpus ?? DOCS;
  writeFileSync(join(dir, 'corpus.jsonl'), corpus.map((d) => JSON.stringify({ _id: d.id, title: '', text: d.text })).join('\n') + '\n');
  writeFileSync(join(dir, 'queries.jsonl'), spec.queries.map((q) => JSON.stringify({ _id: q.id, text: q.text })).join('\n') + '\n');
  const qrelsPath = join(dir, spec.qrelsFile ?? 'qrels.tsv');
  mkdirSync(dirname(qrelsPath), { recursive: true });
  const lines = spec.qrels.map(([q, d, s]) => `${q}\t${d}\t${s}`);
  writeFileSync(qrelsPath, [...(spec.header === false ? [] : ['query-id\tcorpus-id\tscore']), ...lines].join('\n') + '\n');
  return dir;
}

/** The qrels rows of `queries`, in order. */
export function qrelsRows(queries: readonly Query[]): [string, string, number][] {
  return queries.flatMap((q) => Object.entries(q.qrels).map(([d, s]) => [q.id, d, s] as [string, string, number]));
}

/** The main evaluation set: QUERIES and UNJUDGED_QUERY over DOCS. */
export function writeMainDataset(dir: string): string {
  return writeBeir(dir, { queries: [...QUERIES, UNJUDGED_QUERY], qrels: qrelsRows(QUERIES) });
}

/** Relevant documents (grade > 0) of a query as a map, what the evaluation reads from qrels. */
export function relevantOf(q: Query): Map<string, number> {
  return new Map(Object.entries(q.qrels).filter(([, g]) => g > 0));
}

// ---- metrics, from scratch ----

function dedupe(ranked: readonly string[], k: number): string[] {
  const out: string[] = [];
  for (const id of ranked) if (!out.includes(id) && out.length < k) out.push(id);
  return out;
}

/** nDCG@k, linear gains, log2(rank + 1) discount; ideal over every judged grade > 0. */
export function ndcg(ranked: readonly string[], relevant: ReadonlyMap<string, number>, k = 10): number {
  const grades = [...relevant.values()].filter((g) => g > 0).sort((a, b) => b - a);
  let ideal = 0;
  for (let i = 0; i < Math.min(k, grades.length); i++) ideal += grades[i]! / Math.log2(i + 2);
  if (ideal === 0) return 0;
  let dcg = 0;
  dedupe(ranked, k).forEach((id, i) => (dcg += Math.max(0, relevant.get(id) ?? 0) / Math.log2(i + 2)));
  return dcg / ideal;
}

export function mrr(ranked: readonly string[], relevant: ReadonlyMap<string, number>, k = 10): number {
  const top = dedupe(ranked, k);
  for (let i = 0; i < top.length; i++) if ((relevant.get(top[i]!) ?? 0) > 0) return 1 / (i + 1);
  return 0;
}

export function recall(ranked: readonly string[], relevant: ReadonlyMap<string, number>, k: number): number {
  const rel = [...relevant.entries()].filter(([, g]) => g > 0).map(([id]) => id);
  if (rel.length === 0) return 0;
  const top = dedupe(ranked, k);
  return rel.filter((id) => top.includes(id)).length / rel.length;
}

export interface ServiceFigures {
  readonly 'ndcg@10': number;
  readonly 'mrr@10': number;
  /** Mean Recall@k (k = the `k` asked for). */
  readonly recall: number;
  /** nDCG@10 of each query, in order. */
  readonly perQuery: readonly number[];
}

/**
 * Mean nDCG@10 and MRR@10 of plain top-10 text searches through the service, and Recall@k of
 * top-k text searches: the figures an evaluation must reproduce.
 */
export async function serviceFigures(
  service: Pick<SearchService, 'search'>,
  collection: string,
  queries: readonly Query[],
  opts: { mode: SearchMode; k?: number; ef?: number; generation?: number; alpha?: number },
): Promise<ServiceFigures> {
  const { mode, k = 100, ...rest } = opts;
  let n = 0;
  let m = 0;
  let r = 0;
  const perQuery: number[] = [];
  for (const q of queries) {
    const rel = relevantOf(q);
    const top = await service.search(collection, { mode, query: q.text, k: 10, ...rest });
    const ids = top.results.map((h) => h.id);
    const v = ndcg(ids, rel);
    perQuery.push(v);
    n += v;
    m += mrr(ids, rel);
    const deep = await service.search(collection, { mode, query: q.text, k, ...rest });
    r += recall(deep.results.map((h) => h.id), rel, k);
  }
  return { 'ndcg@10': n / queries.length, 'mrr@10': m / queries.length, recall: r / queries.length, perQuery };
}

// ---- vectors, from scratch ----

export function unit(v: ArrayLike<number>): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / Math.sqrt(s);
  return out;
}

export function dotProduct(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Every stored vector of a generation, read once. */
export function storedVectors(runtime: Runtime, generation: number): { id: string; vector: Float32Array }[] {
  return [...runtime.service.context.store.iterateVectors(generation)].map(({ id, vector }) => ({ id, vector: Float32Array.from(vector) }));
}

/** Cosine of the query with every stored vector, best first (ties by id). */
export function bruteForce(query: Float32Array, vectors: readonly { id: string; vector: Float32Array }[]): { id: string; score: number }[] {
  return vectors.map(({ id, vector }) => ({ id, score: dotProduct(query, vector) })).sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
}

/** Share of the exact top-k (a returned id counts when its cosine reaches the exact k-th best). */
export function recallAgainstExact(query: Float32Array, returned: readonly string[], vectors: readonly { id: string; vector: Float32Array }[], k = 10): number {
  const exact = bruteForce(query, vectors);
  const kth = exact[Math.min(k, exact.length) - 1]!.score;
  const byId = new Map(exact.map((e) => [e.id, e.score]));
  const counted = new Set(returned.slice(0, k).filter((id) => (byId.get(id) ?? -Infinity) >= kth - 1e-6));
  return counted.size / Math.min(k, exact.length);
}

/** Query vectors of `texts` by `model`, normalised (what the index searches with). */
export async function queryUnits(runtime: Runtime, model: string, texts: readonly string[]): Promise<Float32Array[]> {
  const engine = await runtime.service.engines.get(model);
  const out: Float32Array[] = [];
  for (const t of texts) out.push(unit((await engine.embed([t], 'query')).vectors[0]!));
  return out;
}

// ---- hybrid fusion, from scratch ----

/** Min-max normalised convex combination of two candidate lists, ties by id (what hybrid search promises). */
export function fuseLists(dense: readonly { id: string; score: number }[], keyword: readonly { id: string; score: number }[], alpha: number, k: number): string[] {
  const norm = (list: readonly { id: string; score: number }[]) => {
    const scores = list.map((h) => h.score);
    const min = Math.min(...scores);
    const span = Math.max(...scores) - min;
    return new Map(list.map((h) => [h.id, span > 0 ? (h.score - min) / span : 1]));
  };
  const d = norm(dense);
  const w = norm(keyword);
  const ids = [...new Set([...dense.map((h) => h.id), ...keyword.map((h) => h.id)])];
  return ids
    .map((id) => ({ id, score: alpha * (d.get(id) ?? 0) + (1 - alpha) * (w.get(id) ?? 0) }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, k)
    .map((h) => h.id);
}

// ---- indexes that miss neighbours on purpose ----

/**
 * The deps with every index wrapped so that a search at `ef` returns its top `k - drop(ef)` hits
 * only: ANN recall@10 then falls by up to drop / 10.
 */
export function degradedDeps(deps: EvalDeps, drop: (ef: number | undefined) => number): EvalDeps {
  return {
    ...deps,
    indexes: {
      get: async (collection, generation) => {
        const inner = await deps.indexes.get(collection, generation);
        return new Proxy(inner, {
          get(target, prop) {
            if (prop !== 'search') return Reflect.get(target, prop, target);
            return async (q: VectorQuery) => (await target.search(q)).slice(0, Math.max(0, q.k - drop(q.ef)));
          },
        }) as VectorIndex;
      },
    },
  };
}

// ---- drift observation ----

/** Records the query events the search service publishes (what drift detection listens to). */
export function observeQueries(service: SearchService): { events: QueryObserved[]; stop: () => void } {
  const events: QueryObserved[] = [];
  const stop = service.events.onQuery((e) => events.push(e));
  return { events, stop };
}

// ---- the runtime ----

export interface EvalFixture {
  readonly root: string;
  readonly config: Config;
  readonly runtime: Runtime;
  /** runtime.lifecycle.eval: the deps the composition root builds. */
  readonly deps: EvalDeps;
  /** A folder under the fixture's root (not created). */
  path(name: string): string;
  /** Creates `name` on `model` holding `docs` (default DOCS); returns its live generation id. */
  collection(name: string, model?: string, docs?: readonly Doc[]): Promise<number>;
  /** Re-embeds `name` to `model` with a job of runtime.lifecycle.jobs and waits for it to finish. */
  reembed(name: string, model: string): Promise<JobStatus>;
  close(): Promise<void>;
}

async function waitForJob(runtime: Runtime, id: string): Promise<JobStatus> {
  for (let i = 0; ; i++) {
    const job = runtime.lifecycle.jobs.get(id);
    if (job.state !== 'queued' && job.state !== 'running') return job;
    if (i > 30_000) throw new Error(`job ${id} did not finish`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Two tiny BERTs in a models dir and a runtime (jobs not resumed) over a new data dir, as src/runtime.ts builds it. */
export async function openEvalFixture(prefix: string): Promise<EvalFixture> {
  setLogLevel('silent');
  const root = await mkdtemp(join(tmpdir(), `sextant-eval-${prefix}-`));
  try {
    const modelsDir = join(root, 'models');
    const registry = new ModelRegistry(modelsDir);
    await importTinyBert(registry, { name: 'tiny-a', seed: 1 });
    await importTinyBert(registry, { name: 'tiny-b', seed: 2, config: { hiddenSize: 48, intermediateSize: 96 } });
    const config = loadConfig({ modelsDir, dataDir: join(root, 'data'), threads: 1, reembedBatch: 16, reembedDuty: 1 }, {});
    const runtime = await openRuntime(config, { startJobs: false });
    return {
      root,
      config,
      runtime,
      deps: runtime.lifecycle.eval,
      path: (name) => join(root, name),
      async collection(name, model = MODEL_A, docs = DOCS) {
        await runtime.service.createCollection({ name, model });
        expect(await runtime.service.upsertDocuments(name, docs)).toEqual({ upserted: docs.length, unchanged: 0 });
        return runtime.service.info(name).generation;
      },
      async reembed(name, model) {
        const started = await runtime.lifecycle.jobs.start(name, { model });
        return waitForJob(runtime, started.id);
      },
      async close() {
        try {
          await runtime.close();
        } finally {
          await rm(root, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}
