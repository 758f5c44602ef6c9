/**
 * nDCG@10 of a BEIR query set through a server's search API: each query sent as a client would,
 * a few at once (their embeddings batch together; no query's figure depends on another's).
 */
import { expect } from 'vitest';
import { ndcgAt } from '../../src/search/metrics.ts';
import { api, type ApiTarget } from './server.ts';

export interface JudgedQuery {
  readonly id: string;
  readonly text: string;
  /** Document id -> graded relevance. */
  readonly qrels: ReadonlyMap<string, number>;
}

export interface HttpNdcg {
  readonly mean: number;
  /** Query id -> the ranked ids the server returned. */
  readonly ranked: ReadonlyMap<string, readonly string[]>;
  /** Every response's generation. */
  readonly generations: ReadonlySet<number>;
}

/** Searches in flight at once. */
const CLIENTS = 4;

export async function httpNdcg(
  target: ApiTarget,
  collection: string,
  queries: readonly JudgedQuery[],
  mode: 'dense' | 'keyword' | 'hybrid',
): Promise<HttpNdcg> {
  let sum = 0;
  let next = 0;
  const ranked = new Map<string, string[]>();
  const generations = new Set<number>();
  const client = async () => {
    for (let i = next++; i < queries.length; i = next++) {
      const q = queries[i]!;
      const res = await api<{ results: { id: string }[]; generation: number }>(target, 'POST', `/v1/collections/${collection}/search`, { mode, query: q.text, k: 10 });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const ids = res.body.results.map((r) => r.id);
      ranked.set(q.id, ids);
      generations.add(res.body.generation);
      sum += ndcgAt(10, ids, q.qrels);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return { mean: sum / queries.length, ranked, generations };
}
