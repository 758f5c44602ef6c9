// Tests src/index/hnsw/labels.ts with metadata-postings.ts: a filter's matches through the postings equal a scan of every document's metadata, under churn.
import { describe, expect, it } from 'vitest';
import { LabelMap } from '../../../../src/index/hnsw/labels.ts';
import { mulberry32 } from '../../../../src/util/random.ts';
import { matchesFilter, type Filter, type Metadata } from '../../../../src/values/filter.ts';

const COLORS = ['red', 'green', 'blue', '1'];

function randomMetadata(r: () => number): Metadata | undefined {
  if (r() < 0.1) return undefined;
  const m: Record<string, unknown> = {};
  if (r() < 0.9) m.color = COLORS[Math.floor(r() * COLORS.length)];
  if (r() < 0.8) m.n = Math.floor(r() * 10);
  if (r() < 0.5) m.tags = COLORS.filter(() => r() < 0.4);
  if (r() < 0.5) m.flag = r() < 0.3;
  if (r() < 0.1) m.nested = { color: 'red' };
  return m;
}

function randomFilter(r: () => number, depth = 0): Filter {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const leaf = (): Filter => {
    const field = pick(['color', 'n', 'tags', 'flag', 'missing']);
    const value = field === 'n' ? Math.floor(r() * 10) : field === 'flag' ? r() < 0.5 : pick([...COLORS, 1]);
    switch (Math.floor(r() * 7)) {
      case 0:
        return { [field]: value };
      case 1:
        return { [field]: { $eq: value } };
      case 2:
        return { [field]: { $in: [value, pick([...COLORS, 3, true])] } };
      case 3:
        return { [field]: { $ne: value } };
      case 4:
        return { [field]: { $nin: [value] } };
      case 5:
        return { n: { $gte: Math.floor(r() * 10), $lt: 8 } };
      default:
        return { [field]: { $in: [value], $ne: pick([...COLORS, 2]) } };
    }
  };
  if (depth >= 2 || r() < 0.4) return leaf();
  const parts = Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomFilter(r, depth + 1));
  const roll = r();
  return roll < 0.4 ? { $and: parts } : roll < 0.8 ? { $or: parts } : { ...leaf(), $or: parts };
}

describe('LabelMap.matching', () => {
  it('collects exactly the live documents the filter matches, ascending, and accepts exactly those ids, under churn', () => {
    const r = mulberry32(2026);
    const labels = new LabelMap();
    const live = new Map<string, { label: number; metadata: Metadata | undefined }>();
    let nextId = 0;
    for (let round = 0; round < 60; round++) {
      // Churn: new documents, updates of known ones (new metadata), deletions (labels reused).
      const ids = Array.from({ length: 40 }, () => (r() < 0.3 && live.size > 0 ? [...live.keys()][Math.floor(r() * live.size)]! : `doc-${nextId++}`));
      const unique = [...new Set(ids)];
      const { labels: assigned, reused } = labels.assign(unique);
      unique.forEach((id, i) => {
        const metadata = randomMetadata(r);
        labels.bind(id, assigned[i]!, metadata, reused[i]!);
        live.set(id, { label: assigned[i]!, metadata });
      });
      for (const id of [...live.keys()].filter(() => r() < 0.15)) {
        labels.unbind(id, live.get(id)!.label);
        live.delete(id);
      }
      for (let f = 0; f < 10; f++) {
        const filter = randomFilter(r);
        const expected = [...live.values()].filter((d) => matchesFilter(filter, d.metadata)).map((d) => d.label);
        expected.sort((a, b) => a - b);
        const matches = labels.matching(filter);
        expect([...matches.collect()], JSON.stringify(filter) + JSON.stringify([...live.values()].filter((d) => expected.includes(d.label)))).toEqual(expected);
        for (const [id, d] of live) expect(matches.accepts(id), `${id} ${JSON.stringify(filter)}`).toBe(matchesFilter(filter, d.metadata));
        expect(matches.accepts('never-indexed')).toBe(false);
        expect(matches.estimate).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('estimates an equality filter exactly from its posting, and a range filter from a sample', () => {
    const labels = new LabelMap();
    for (let i = 0; i < 10_000; i++) labels.bind(`d${i}`, i, { g: i % 20, n: i }, false);
    expect(labels.matching({ g: 3 }).estimate).toBe(500);
    expect(labels.matching({ g: { $in: [3, 4, 99] } }).estimate).toBe(1000);
    expect(labels.matching({ $and: [{ g: 3 }, { g: { $in: [3, 5] } }] }).estimate).toBeLessThanOrEqual(500);
    // Half the documents: the evenly spaced sample of 128 sees about half.
    const half = labels.matching({ n: { $lt: 5000 } }).estimate;
    expect(half).toBeGreaterThan(4000);
    expect(half).toBeLessThan(6000);
    expect(labels.matching({ g: 'unknown' }).estimate).toBe(0);
    // Updating a document's metadata moves it between postings; deleting removes it.
    labels.bind('d3', 3, { g: 7 }, false);
    expect(labels.matching({ g: 3 }).estimate).toBe(499);
    expect(labels.matching({ g: 7 }).estimate).toBe(501);
    labels.unbind('d7', 7);
    expect(labels.matching({ g: 7 }).estimate).toBe(500);
    expect(labels.matching({ g: 7 }).accepts('d3')).toBe(true);
    expect(labels.matching({ g: 7 }).accepts('d7')).toBe(false);
  });

  it('a snapshot restore rebuilds the postings', () => {
    const source = new LabelMap();
    for (let i = 0; i < 50; i++) source.bind(`d${i}`, i, i % 2 === 0 ? { even: true } : undefined, false);
    source.unbind('d10', 10);
    const restored = new LabelMap();
    restored.restore(source.capture());
    expect([...restored.matching({ even: true }).collect()]).toEqual([...source.matching({ even: true }).collect()]);
    expect(restored.matching({ even: true }).estimate).toBe(24);
  });
});
