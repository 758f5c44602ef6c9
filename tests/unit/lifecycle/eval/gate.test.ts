// Tests src/lifecycle/eval/gate.ts: compareForGate and evalSetGate, the re-embedding quality gate, directly and as runtime.lifecycle.jobs' default gate.
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerEvalSet } from '../../../../src/lifecycle/eval/eval-set.ts';
import { compareForGate, evalSetGate, type GateCheck } from '../../../../src/lifecycle/eval/gate.ts';
import {
  MODEL_A,
  MODEL_B,
  observeQueries,
  openEvalFixture,
  QUERIES,
  serviceFigures,
  writeBeir,
  type EvalFixture,
  type Query,
} from '../../../helpers/eval-fixture.ts';

let fx: EvalFixture;
/**
 * The gate's evaluation set: each query of QUERIES judges the top 3 of MODEL_A's dense text
 * search graded 3, 2, 1, so MODEL_A's dense nDCG@10 is 1 and MODEL_B (other random weights)
 * ranks clearly worse.
 */
let gateSet: string;
let gateQueries: Query[];
let n = 0;

beforeAll(async () => {
  fx = await openEvalFixture('gate');
  await fx.collection('reference');
  gateQueries = [];
  for (const q of QUERIES) {
    const top = await fx.runtime.service.search('reference', { mode: 'dense', query: q.text, k: 3 });
    gateQueries.push({ id: q.id, text: q.text, qrels: Object.fromEntries(top.results.map((r, i) => [r.id, 3 - i])) });
  }
  gateSet = writeBeir(fx.path('gate'), { queries: gateQueries, qrels: gateQueries.flatMap((q) => Object.entries(q.qrels).map(([d, s]) => [q.id, d, s] as [string, string, number])) });
});
afterAll(async () => {
  await fx?.close();
});

/** A new collection on MODEL_A, re-embedded to MODEL_B by a job (no evaluation set yet: it swaps). */
async function twoGenerations(): Promise<{ name: string; a: number; b: number }> {
  const name = `c${++n}`;
  const a = await fx.collection(name, MODEL_A);
  const job = await fx.reembed(name, MODEL_B);
  expect(job.state, job.error ?? '').toBe('succeeded');
  return { name, a, b: job.generation! };
}

/** Dense and hybrid nDCG@10 of a generation's text searches on the gate set. */
async function figures(name: string, generation: number): Promise<{ dense: number; hybrid: number }> {
  const dense = await serviceFigures(fx.runtime.service, name, gateQueries, { mode: 'dense', k: 10, generation });
  const hybrid = await serviceFigures(fx.runtime.service, name, gateQueries, { mode: 'hybrid', k: 10, generation });
  return { dense: dense['ndcg@10'], hybrid: hybrid['ndcg@10'] };
}

function expectFigures(check: GateCheck, live: { dense: number; hybrid: number }, candidate: { dense: number; hybrid: number }): void {
  expect(check.evaluated).toBe(true);
  expect(check.live).toBeCloseTo(live.dense, 12);
  expect(check.candidate).toBeCloseTo(candidate.dense, 12);
  expect(Object.keys(check.modes!)).toEqual(['dense', 'hybrid']);
  expect(check.modes!.dense!.live).toBeCloseTo(live.dense, 12);
  expect(check.modes!.dense!.candidate).toBeCloseTo(candidate.dense, 12);
  expect(check.modes!.hybrid!.live).toBeCloseTo(live.hybrid, 12);
  expect(check.modes!.hybrid!.candidate).toBeCloseTo(candidate.hybrid, 12);
}

const f4 = (x: number) => x.toFixed(4).replace('.', '\\.');

describe('compareForGate', () => {
  it('passes unevaluated when the collection has no evaluation set; evalSetGate has no opinion then', async () => {
    const name = `c${++n}`;
    const a = await fx.collection(name);
    const check = await compareForGate(fx.deps, name, a, a);
    expect(check).toEqual({ ok: true, live: NaN, candidate: NaN, margin: 0, reason: 'no evaluation set registered', evaluated: false });
    expect(await evalSetGate(fx.deps)(name, { id: a }, { id: a })).toBeUndefined();
  });

  it('fails, unevaluated, when the registered set can no longer be read', async () => {
    const name = `c${++n}`;
    const a = await fx.collection(name);
    const moved = fx.path(`moved-${name}`);
    cpSync(gateSet, moved, { recursive: true });
    registerEvalSet(fx.deps, name, moved, 0.05);
    writeFileSync(join(moved, 'queries.jsonl'), '{broken\n');
    const broken = await compareForGate(fx.deps, name, a, a);
    expect(broken).toMatchObject({ ok: false, margin: 0.05, evaluated: false });
    expect(broken.reason).toMatch(/^evaluation set unreadable: .*queries\.jsonl line 1 is not valid JSON/);
    rmSync(moved, { recursive: true });
    const gone = await evalSetGate(fx.deps)(name, { id: a }, { id: a });
    expect(gone).toMatchObject({ ok: false, margin: 0.05, evaluated: false });
    expect(gone!.live).toBeNaN();
    expect(gone!.candidate).toBeNaN();
    expect(gone!.reason).toMatch(/^evaluation set unreadable: dataset folder .*moved-c\d+ does not exist/);
  });

  it('fails when the candidate loses more than the margin of nDCG@10, with the figures of both generations’ own searches', async () => {
    const { name, a, b } = await twoGenerations();
    const live = await figures(name, a);
    const candidate = await figures(name, b);
    // The set is made from MODEL_A's dense rankings; MODEL_B is clearly worse on it.
    expect(live.dense).toBeCloseTo(1, 12);
    expect(candidate.dense).toBeLessThan(live.dense - 0.1);
    registerEvalSet(fx.deps, name, gateSet, 0.01);
    const check = await compareForGate(fx.deps, name, a, b);
    expectFigures(check, live, candidate);
    expect(check.ok).toBe(false);
    expect(check.margin).toBe(0.01);
    const failing = ['dense', ...(candidate.hybrid < live.hybrid - 0.01 ? ['hybrid'] : [])].join(' and ');
    const dense = `dense nDCG@10 ${f4(live.dense)} -> ${f4(candidate.dense)} \\(-${f4(live.dense - candidate.dense)}\\)`;
    expect(check.reason).toMatch(new RegExp(`^${failing} nDCG@10 fell by more than the margin 0\\.01 on gate \\(10 queries\\), generation ${a} -> ${b}: ${dense}; hybrid nDCG@10 `));
  });

  it('passes when every mode stays within the margin', async () => {
    const { name, a, b } = await twoGenerations();
    const live = await figures(name, a);
    const candidate = await figures(name, b);
    registerEvalSet(fx.deps, name, gateSet, 1);
    const check = await compareForGate(fx.deps, name, a, b);
    expectFigures(check, live, candidate);
    expect(check.ok).toBe(true);
    expect(check.margin).toBe(1);
    expect(check.reason).toMatch(new RegExp(`^passed on gate \\(10 queries\\), generation ${a} -> ${b}: dense nDCG@10 ${f4(live.dense)} -> ${f4(candidate.dense)} .*; hybrid nDCG@10 .*; margin 1$`));
  });

  it('checks each mode against the margin: the better generation as candidate passes exactly when hybrid does not fall', async () => {
    const { name, a, b } = await twoGenerations();
    const worse = await figures(name, b);
    const better = await figures(name, a);
    registerEvalSet(fx.deps, name, gateSet, 0);
    const check = await compareForGate(fx.deps, name, b, a);
    expectFigures(check, worse, better);
    expect(check.ok).toBe(better.dense >= worse.dense && better.hybrid >= worse.hybrid);
    expect(check.reason).toMatch(check.ok ? /^passed on gate/ : /^hybrid nDCG@10 fell by more than the margin 0 /);
    expect(check.reason).toContain(`dense nDCG@10 ${worse.dense.toFixed(4)} -> ${better.dense.toFixed(4)} (+${(better.dense - worse.dense).toFixed(4)})`);
  });

  it('gate evaluations never feed drift detection', async () => {
    const { name, a, b } = await twoGenerations();
    registerEvalSet(fx.deps, name, gateSet, 0.5);
    const observed = observeQueries(fx.runtime.service);
    try {
      await compareForGate(fx.deps, name, a, b);
      expect(observed.events.length).toBeGreaterThan(0);
      expect(observed.events.filter((e) => e.queryVector !== undefined)).toEqual([]);
    } finally {
      observed.stop();
    }
  });
});

describe('evalSetGate', () => {
  it('with a set registered, is compareForGate of the generations it is handed', async () => {
    const { name, a, b } = await twoGenerations();
    registerEvalSet(fx.deps, name, gateSet, 0.01);
    const viaHook = await evalSetGate(fx.deps)(name, { id: a }, { id: b });
    expect(viaHook).toEqual(await compareForGate(fx.deps, name, a, b));
    expect(viaHook!.ok).toBe(false);
  });

  it('as the job runner’s default gate: a worse candidate fails the job and is dropped; within the margin it is swapped in', async () => {
    const name = `c${++n}`;
    const a = await fx.collection(name, MODEL_A);
    registerEvalSet(fx.deps, name, gateSet, 0.01);
    const observed = observeQueries(fx.runtime.service);
    let failed;
    try {
      failed = await fx.reembed(name, MODEL_B);
      expect(observed.events.filter((e) => e.queryVector !== undefined)).toEqual([]);
    } finally {
      observed.stop();
    }
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(new RegExp(`^quality gate failed: dense( and hybrid)? nDCG@10 fell by more than the margin 0\\.01 on gate \\(10 queries\\), generation ${a} -> ${failed.generation}: `));
    const store = fx.runtime.service.context.store;
    expect(store.listGenerations(name).map((g) => [g.id, g.state])).toEqual([[a, 'live']]);

    registerEvalSet(fx.deps, name, gateSet, 1);
    const passed = await fx.reembed(name, MODEL_B);
    expect(passed.state, passed.error ?? '').toBe('succeeded');
    expect(fx.runtime.service.info(name)).toMatchObject({ generation: passed.generation, model: MODEL_B });
  });
});
