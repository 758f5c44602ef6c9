import { describe, expect, it } from 'vitest';
import { MicroBatcher } from '../../../src/embedding/batcher.ts';
import { OverloadedError } from '../../../src/errors.ts';

interface Item {
  readonly length: number;
  readonly tag: string;
}

function recordingBatcher(options: { maxBatchTokens: number; maxWaitMs?: number; maxQueued?: number; batchOverheadTokens?: number }) {
  const batches: { tags: string[]; width: number }[] = [];
  const batcher = new MicroBatcher<Item, string>(
    async (items, width) => {
      batches.push({ tags: items.map((i) => i.tag), width });
      await new Promise((r) => setTimeout(r, 5));
      return { results: items.map((i) => `result:${i.tag}`), ms: 5 };
    },
    { maxWaitMs: options.maxWaitMs ?? 5, maxQueued: options.maxQueued ?? 1000, ...options },
  );
  return { batcher, batches };
}

describe('MicroBatcher', () => {
  it('returns each caller exactly its own results, in its order', async () => {
    const { batcher } = recordingBatcher({ maxBatchTokens: 1000 });
    const calls = Array.from({ length: 20 }, (_, c) =>
      batcher.submit(Array.from({ length: 1 + (c % 4) }, (_, i) => ({ length: 1 + ((c * 7 + i) % 30), tag: `${c}.${i}` }))),
    );
    const results = await Promise.all(calls);
    results.forEach((r, c) => expect(r).toEqual(Array.from({ length: 1 + (c % 4) }, (_, i) => `result:${c}.${i}`)));
    await batcher.close();
  });

  it('keeps short and long texts in separate batches instead of padding the short ones', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchTokens: 10_000, batchOverheadTokens: 64 });
    const short = Array.from({ length: 30 }, (_, i) => ({ length: 10, tag: `s${i}` }));
    const long = Array.from({ length: 2 }, (_, i) => ({ length: 128, tag: `l${i}` }));
    await Promise.all([batcher.submit([...short.slice(0, 15), long[0]!]), batcher.submit([...short.slice(15), long[1]!])]);
    expect(batches).toHaveLength(2);
    expect(batches.map((b) => b.width).sort((a, b) => a - b)).toEqual([10, 128]);
    const padded = batches.reduce((n, b) => n + b.tags.length * b.width, 0);
    expect(padded).toBe(30 * 10 + 2 * 128); // one mixed batch would cost 32 * 128 = 4096
    await batcher.close();
  });

  it('respects the token budget and still runs a single item larger than it', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchTokens: 100 });
    await batcher.submit([...Array.from({ length: 8 }, (_, i) => ({ length: 20, tag: `m${i}` })), { length: 500, tag: 'huge' }]);
    for (const b of batches) expect(b.tags.length === 1 || b.tags.length * b.width <= 100).toBe(true);
    expect(batches.flatMap((b) => b.tags).sort()).toEqual(['huge', 'm0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    await batcher.close();
  });

  it('does not starve long texts while short ones keep arriving', async () => {
    const { batcher } = recordingBatcher({ maxBatchTokens: 400, batchOverheadTokens: 8 });
    let stop = false;
    const stream = (async () => {
      let i = 0;
      while (!stop) await batcher.submit([{ length: 4, tag: `q${i++}` }, { length: 4, tag: `q${i++}` }]);
    })();
    const long = await Promise.race([batcher.submit([{ length: 200, tag: 'long' }]), new Promise((r) => setTimeout(() => r('starved'), 2000))]);
    stop = true;
    await stream;
    expect(long).toEqual(['result:long']);
    await batcher.close();
  });

  it('hands a round to the runner at once, and texts that arrive meanwhile wait for the next round', async () => {
    const started: string[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const batcher = new MicroBatcher<Item, string>(
      async (items) => {
        started.push(items.map((i) => i.tag));
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        return { results: items.map((i) => i.tag), ms: 20 };
      },
      { maxBatchTokens: 10_000, batchOverheadTokens: 8, maxWaitMs: 5, maxQueued: 100 },
    );
    const first = batcher.submit([{ length: 128, tag: 'long' }, ...Array.from({ length: 4 }, (_, i) => ({ length: 8, tag: `s${i}` }))]);
    await new Promise((r) => setTimeout(r, 10)); // the first round is running now
    const late = batcher.submit([{ length: 8, tag: 'late' }]);
    await Promise.all([first, late]);
    // Round one: two batches (the long text alone, oldest first), both handed over together.
    expect(started).toEqual([['long'], ['s0', 's1', 's2', 's3'], ['late']]);
    expect(maxInFlight).toBe(2);
    await batcher.close();
  });

  it('refuses work beyond maxQueued without queueing any of it', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchTokens: 100, maxQueued: 3 });
    await expect(batcher.submit(Array.from({ length: 4 }, (_, i) => ({ length: 1, tag: `${i}` })))).rejects.toBeInstanceOf(OverloadedError);
    await batcher.close();
    expect(batches).toHaveLength(0);
  });

  it('waits for company no longer than its recent batches took to run', async () => {
    // A runner that reports 0.1 ms per batch (a static model): after a few batches a lone text
    // no longer waits out the 400 ms maxWaitMs.
    const fast = new MicroBatcher<Item, string>(async (items) => ({ results: items.map((i) => i.tag), ms: 0.1 }), { maxBatchTokens: 100, maxWaitMs: 400, maxQueued: 100 });
    const t0 = performance.now();
    await fast.submit([{ length: 1, tag: 'first' }]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(350); // the first round still waits: nothing measured yet
    for (let i = 0; i < 30; i++) await fast.submit([{ length: 1, tag: `warm${i}` }]);
    const t1 = performance.now();
    await fast.submit([{ length: 1, tag: 'lone' }]);
    expect(performance.now() - t1).toBeLessThan(100);
    await fast.close();

    // A runner whose batches take longer than maxWaitMs keeps the whole wait: texts 30 ms apart share a batch.
    const batches: string[][] = [];
    const slow = new MicroBatcher<Item, string>(
      async (items) => {
        batches.push(items.map((i) => i.tag));
        return { results: items.map((i) => i.tag), ms: 500 };
      },
      { maxBatchTokens: 100, maxWaitMs: 120, maxQueued: 100 },
    );
    for (let i = 0; i < 10; i++) await slow.submit([{ length: 1, tag: `w${i}` }]);
    batches.length = 0;
    const a = slow.submit([{ length: 1, tag: 'a' }]);
    await new Promise((r) => setTimeout(r, 30));
    await Promise.all([a, slow.submit([{ length: 1, tag: 'b' }])]);
    expect(batches).toEqual([['a', 'b']]);
    await slow.close();
  });
});
