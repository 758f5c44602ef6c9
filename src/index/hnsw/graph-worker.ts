/**
 * The graph worker: owns every hnswlib graph of the process. hnswlib-node's search is synchronous
 * (0.1 ms at 3k x 512, 0.5 ms at 100k, several ms for a filtered walk), so running it here
 * keeps it off the server's event loop. Requests are answered in arrival order except reads and
 * writes of index files, which run on libuv's pool; the owner never mutates a graph meanwhile.
 */
import { parentPort } from 'node:worker_threads';
import hnswlib from 'hnswlib-node';
import type { HierarchicalNSW } from 'hnswlib-node';
import { serveRpc } from '../../util/worker-rpc.ts';
import { QuantizedVectors } from './quantized-vectors.ts';
import { GRAPH_SPACE, type GraphFailureDetail, type GraphHits, type GraphReply, type ToGraphWorker } from './graph-protocol.ts';

const port = parentPort!;
interface Graph {
  readonly index: HierarchicalNSW;
  readonly dimensions: number;
  /** label -> document id; undefined for a free label. */
  readonly ids: (string | undefined)[];
  /** Int8 rows for exact scans (quantized-vectors.ts). */
  readonly quantized: QuantizedVectors;
}

/**
 * An exact scan scores every label on its int8 row, then rescores from hnswlib's float32 vectors
 * only the labels whose int8 score could still place them in the top k: those within the two
 * scores' error bounds (QuantizedVectors.errorBound) of the k-th best. Each rescore is a getPoint,
 * which builds a JS array (~110 us at 512 dims, 2 busy cores: ten of them cost as much as an int8
 * scan over 1,000 matches), so rescoring a fixed 2k + 16 made the rescore, not the scan, most of
 * an exact search. At most RERANK_FACTOR * k + RERANK_EXTRA are rescored when many labels tie
 * within the bounds (they are then near-ties, ~1e-3 apart).
 */
const RERANK_FACTOR = 2;
const RERANK_EXTRA = 16;

const graphs = new Map<number, Graph>();

serveRpc<ToGraphWorker, GraphReply, GraphFailureDetail>(port, handle, {
  errorDetail: (err) => (err instanceof PartialAdd ? err.applied : undefined),
});

class PartialAdd extends Error {
  constructor(
    message: string,
    readonly applied: number,
  ) {
    super(message);
  }
}

async function handle(m: ToGraphWorker): Promise<GraphReply> {
  switch (m.op) {
    case 'create': {
      const index = new hnswlib.HierarchicalNSW(GRAPH_SPACE, m.settings.dimensions);
      // allowReplaceDeleted stays false: a freed label is reused by addPoint(vector, sameLabel),
      // which unmarks that slot and rewrites it in place (replaceDeleted would relabel a slot).
      index.initIndex({ maxElements: m.settings.maxElements, m: m.settings.M, efConstruction: m.settings.efConstruction, randomSeed: 100, allowReplaceDeleted: false });
      graphs.set(m.graph, { index, dimensions: m.settings.dimensions, ids: [], quantized: new QuantizedVectors(m.settings.dimensions) });
      return { capacity: index.getMaxElements(), count: index.getCurrentCount() };
    }
    case 'read': {
      const index = new hnswlib.HierarchicalNSW(GRAPH_SPACE, m.dimensions);
      await index.readIndex(m.path, false);
      graphs.set(m.graph, { index, dimensions: m.dimensions, ids: m.ids.map((id) => id ?? undefined), quantized: new QuantizedVectors(m.dimensions) });
      return { capacity: index.getMaxElements(), count: index.getCurrentCount() };
    }
    case 'release':
      graphs.delete(m.graph);
      return null;
  }
  const g = graph(m.graph);
  const { index, dimensions } = g;
  switch (m.op) {
    case 'add':
      for (let i = 0; i < m.labels.length; i++) {
        const point = m.points.subarray(i * dimensions, (i + 1) * dimensions);
        try {
          index.addPoint(Array.from(point), m.labels[i]!);
        } catch (err) {
          throw new PartialAdd((err as Error).message, i);
        }
        g.ids[m.labels[i]!] = m.ids[i];
        g.quantized.set(m.labels[i]!, point);
      }
      return null;
    case 'delete':
      for (const label of m.labels) {
        index.markDelete(label);
        g.ids[label] = undefined;
      }
      return null;
    case 'resize':
      index.resizeIndex(m.capacity);
      return null;
    case 'search': {
      index.setEf(m.ef);
      const allowed = m.allowed;
      const { distances, neighbors } = index.searchKnn(Array.from(m.point), m.k, allowed ? (label) => allowed[label] === 1 : undefined);
      return hits(g, neighbors, distances);
    }
    case 'exact':
      return exact(g, m.point, m.labels, m.k);
    case 'write':
      await index.writeIndex(m.path);
      return null;
  }
}

function graph(id: number): Graph {
  const g = graphs.get(id);
  if (!g) throw new Error(`graph ${id} is not open in the graph worker`);
  return g;
}

function hits(g: Graph, labels: ArrayLike<number>, distances: ArrayLike<number>): GraphHits {
  const ids: string[] = [];
  const kept: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const id = g.ids[labels[i]!];
    if (id === undefined) continue;
    ids.push(id);
    kept.push(distances[i]!);
  }
  return { ids, distances: Float32Array.from(kept) };
}

/**
 * Top-k by cosine similarity over `labels`, returned as distances like searchKnn's: the int8 rows
 * choose the candidates, hnswlib's float32 vectors score them (so the scores are exact).
 */
function exact(g: Graph, point: Float32Array, labels: Int32Array, k: number): GraphHits {
  let norm = 0;
  for (const x of point) norm += x * x;
  norm = Math.sqrt(norm);
  const q = new Float64Array(point.length);
  if (norm > 0) for (let i = 0; i < point.length; i++) q[i] = point[i]! / norm;
  const limit = RERANK_FACTOR * k + RERANK_EXTRA;
  let candidates: ArrayLike<number> = labels;
  if (labels.length > k) {
    const scores = new Float64Array(labels.length);
    g.quantized.scoreAll(labels, q, scores, (label) => g.index.getPoint(label));
    const rough = new TopK(limit);
    for (let j = 0; j < labels.length; j++) rough.push(scores[j]!, labels[j]!);
    candidates = withinReach(g.quantized, rough.entries(), k);
  }
  const heap = new TopK(k);
  for (let c = 0; c < candidates.length; c++) {
    const label = candidates[c]!;
    // getPoint returns the stored, already normalized vector.
    const v = g.index.getPoint(label);
    let s = 0;
    for (let i = 0; i < v.length; i++) s += q[i]! * v[i]!;
    heap.push(s, label);
  }
  const best = heap.entries().sort((a, b) => b.score - a.score || a.label - b.label);
  return hits(
    g,
    best.map((e) => e.label),
    best.map((e) => 1 - e.score),
  );
}

/**
 * The labels among `rough` (int8 scores) that may belong to the exact top k: each label's best
 * case (score + bound) reaches the k-th best worst case (score - bound) among them.
 */
function withinReach(quantized: QuantizedVectors, rough: readonly { score: number; label: number }[], k: number): number[] {
  if (rough.length <= k) return rough.map((e) => e.label);
  const bounded = rough.map((e) => ({ label: e.label, low: e.score - quantized.errorBound(e.label), high: e.score + quantized.errorBound(e.label) }));
  const kthLow = bounded.map((e) => e.low).sort((a, b) => b - a)[k - 1]!;
  return bounded.filter((e) => e.high >= kthLow).map((e) => e.label);
}

/** Bounded min-heap keeping the k best (score, label) pairs. */
class TopK {
  private readonly scores: number[] = [];
  private readonly labels: number[] = [];
  constructor(private readonly k: number) {}

  push(score: number, label: number): void {
    const s = this.scores;
    if (s.length < this.k) {
      s.push(score);
      this.labels.push(label);
      this.up(s.length - 1);
    } else if (score > s[0]!) {
      s[0] = score;
      this.labels[0] = label;
      this.down(0);
    }
  }

  entries(): { score: number; label: number }[] {
    return this.scores.map((score, i) => ({ score, label: this.labels[i]! }));
  }

  private swap(i: number, j: number): void {
    [this.scores[i], this.scores[j]] = [this.scores[j]!, this.scores[i]!];
    [this.labels[i], this.labels[j]] = [this.labels[j]!, this.labels[i]!];
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.scores[p]! <= this.scores[i]!) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.scores.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.scores[l]! < this.scores[m]!) m = l;
      if (r < n && this.scores[r]! < this.scores[m]!) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
