/** The re-embedding policy with injected state, target and job starter. */
import { beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from '../../../src/log.ts';
import type { DriftState } from '../../../src/lifecycle/drift/evaluate.ts';
import { DriftPolicy, policyModeOf, schedulePolicyReviews, type LastTraining, type PolicyMode } from '../../../src/lifecycle/policy.ts';
import { DEFAULT_TRAINING_SETTINGS, trainingSettingsFrom, type TrainingSettings } from '../../../src/lifecycle/training/settings.ts';

function harness(init: { mode?: PolicyMode; state?: DriftState; active?: string; target?: string; start?: (c: string, r: string) => Promise<unknown> }) {
  const world = { mode: init.mode ?? 'notify', state: init.state ?? 'ok', active: init.active ?? 'm@1', target: init.target ?? 'm@1', now: 1_000_000 };
  const calls: { collection: string; reason: string }[] = [];
  const policy = new DriftPolicy({
    startReembed: async (collection, reason) => {
      calls.push({ collection, reason });
      return init.start?.(collection, reason);
    },
    resolveTarget: async () => world.target,
    activeModel: () => world.active,
    driftState: () => world.state,
    mode: () => world.mode,
    cooldownMs: 60_000,
    now: () => world.now,
  });
  return { world, calls, policy };
}

describe('drift policy', () => {
  beforeAll(() => setLogLevel('silent'));
  it('does nothing while there is no drift and the target is active', async () => {
    const { policy, calls } = harness({ mode: 'auto' });
    const d = await policy.review('c');
    expect(d.decision).toBe('none');
    expect(d.reason).toMatch(/no drift/);
    expect(calls).toEqual([]);
  });

  it('notify reports a moved target or drift without starting anything', async () => {
    const { policy, calls, world } = harness({ target: 'm@2' });
    let d = await policy.review('c');
    expect(d).toMatchObject({ mode: 'notify', decision: 'notify', trigger: 'target-changed', active: 'm@1', target: 'm@2' });
    world.state = 'drifted';
    d = await policy.review('c');
    expect(d).toMatchObject({ decision: 'notify', trigger: 'drift' });
    expect(calls).toEqual([]);
  });

  it('auto starts a re-embedding to a moved target once, then waits for the cooldown', async () => {
    const { policy, calls, world } = harness({ mode: 'auto', target: 'm@2' });
    expect((await policy.assess('c')).decision).toBe('reembed');
    expect(calls).toEqual([]); // assess never acts
    expect((await policy.review('c')).decision).toBe('reembed');
    expect(calls).toEqual([{ collection: 'c', reason: 'target-changed' }]);
    expect((await policy.review('c')).decision).toBe('suppressed');
    world.now += 61_000;
    expect((await policy.review('c')).decision).toBe('reembed');
    expect(calls).toHaveLength(2);
    expect(policy.lastActionOf('c')?.decision).toBe('reembed');
  });

  it('timed reviews act on a target moved on an idle collection (no drift windows)', async () => {
    const { policy, calls, world } = harness({ mode: 'auto' });
    world.now = Date.now();
    const stop = schedulePolicyReviews(policy, () => ['c'], 20);
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(calls).toEqual([]); // the target is active: nothing to do
      world.target = 'm@2'; // moved, and no window will ever close
      for (let i = 0; i < 100 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(calls).toEqual([{ collection: 'c', reason: 'target-changed' }]);
    } finally {
      stop();
    }
    const before = calls.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toHaveLength(before); // stopped
    expect(schedulePolicyReviews(policy, () => ['c'], 0)).toBeTypeOf('function'); // 0: off
  });

  it('auto re-embeds on drift when the target differs (reason drift)', async () => {
    const { policy, calls } = harness({ mode: 'auto', state: 'drifted', target: 'm@2' });
    const [a, b] = await Promise.all([policy.review('c'), policy.review('c')]);
    expect(a.decision).toBe('reembed');
    expect(b.decision).toBe('suppressed'); // reviews of a collection are serialised
    expect(calls).toEqual([{ collection: 'c', reason: 'drift' }]);
  });

  it('drift with target = active: a new model is needed, in either mode', async () => {
    for (const mode of ['auto', 'notify'] as const) {
      const { policy, calls } = harness({ mode, state: 'drifted' });
      const d = await policy.review('c');
      expect(d.decision).toBe('new_model_needed');
      expect(d.reason).toMatch(/new model version is needed/);
      expect(calls).toEqual([]);
    }
  });

  it('a running job counts as started; other failures are reported and retried', async () => {
    const conflict = Object.assign(new Error('already has a job'), { code: 'conflict' });
    const { policy } = harness({ mode: 'auto', target: 'm@2', start: async () => Promise.reject(conflict) });
    expect((await policy.review('c')).decision).toBe('suppressed');

    let fail = true;
    const h = harness({ mode: 'auto', target: 'm@2', start: async () => (fail ? Promise.reject(new Error('disk full')) : undefined) });
    const failed = await h.policy.review('c');
    expect(failed.decision).toBe('failed');
    expect(failed.reason).toMatch(/disk full/);
    fail = false;
    expect((await h.policy.review('c')).decision).toBe('reembed');
  });

  it('reads the mode from settings.policy (default notify)', () => {
    expect(policyModeOf({})).toBe('notify');
    expect(policyModeOf({ policy: 'auto' })).toBe('auto');
    expect(policyModeOf({ policy: { mode: 'auto' } })).toBe('auto');
    expect(policyModeOf({ policy: 'sometimes' })).toBe('notify');
  });
});

/** The policy with training on: injected settings, lineage, last training job and starters. */
function trainingHarness(init: {
  state?: DriftState;
  active?: string;
  target?: string;
  settings?: Partial<TrainingSettings>;
  count?: number;
  last?: LastTraining;
  start?: () => Promise<void>;
}) {
  const world = {
    state: init.state ?? 'ok',
    active: init.active ?? 'm@1',
    target: init.target ?? 'm@1',
    settings: { ...DEFAULT_TRAINING_SETTINGS, auto: true, ...init.settings } as TrainingSettings,
    count: init.count ?? 1000,
    last: init.last,
    now: 10_000_000,
    mode: 'auto' as PolicyMode,
  };
  // c-adapter@1 was trained from m@1; c-adapter@2 from c-adapter@1.
  const parents: Record<string, string> = { 'c-adapter@1': 'm@1', 'c-adapter@2': 'c-adapter@1', 'n-adapter@1': 'n@1' };
  const trained: string[] = [];
  const reembeds: string[] = [];
  const policy = new DriftPolicy({
    startReembed: async (_c, reason) => reembeds.push(reason),
    resolveTarget: async () => world.target,
    activeModel: () => world.active,
    driftState: () => world.state,
    mode: () => world.mode,
    cooldownMs: 60_000,
    now: () => world.now,
    training: {
      settings: () => world.settings,
      documentCount: () => world.count,
      ancestors: async (model) => {
        const out: string[] = [];
        for (let m = parents[model]; m; m = parents[m]) out.push(m);
        return out;
      },
      lastTraining: () => world.last,
      startTraining: async (_c, reason) => {
        await init.start?.();
        trained.push(reason);
        world.last = { createdAt: world.now, parent: world.active, documents: null };
      },
    },
  });
  return { world, policy, trained, reembeds };
}

describe('drift policy with training', () => {
  beforeAll(() => setLogLevel('silent'));

  it('persistent drift on the target trains (activate) instead of reporting new_model_needed, once per cooldown', async () => {
    const { policy, trained, world } = trainingHarness({ state: 'drifted' });
    expect((await policy.assess('c')).decision).toBe('train');
    expect(trained).toEqual([]);
    const d = await policy.review('c');
    expect(d).toMatchObject({ decision: 'train', trigger: 'drift' });
    expect(d.reason).toMatch(/adapter training job on m@1 with activate started/);
    expect(trained).toEqual(['drift']);
    const again = await policy.review('c');
    expect(again.decision).toBe('suppressed');
    expect(again.reason).toMatch(/training job on m@1 was started 0s ago/);
    world.now += 61_000;
    expect((await policy.review('c')).decision).toBe('train');
    expect(trained).toHaveLength(2);
    expect(policy.lastActionOf('c')?.decision).toBe('train');
  });

  it('without training.auto, or under notify, drift on the target still reports new_model_needed', async () => {
    const off = trainingHarness({ state: 'drifted', settings: { auto: false } });
    expect((await off.policy.review('c')).decision).toBe('new_model_needed');
    const notify = trainingHarness({ state: 'drifted' });
    notify.world.mode = 'notify';
    expect((await notify.policy.review('c')).decision).toBe('new_model_needed');
    expect([...off.trained, ...notify.trained]).toEqual([]);
  });

  it('a model trained from the target follows it: never flipped back, and it trains again on drift', async () => {
    const { policy, trained, reembeds, world } = trainingHarness({ active: 'c-adapter@2' });
    const ok = await policy.review('c');
    expect(ok.decision).toBe('none');
    expect(ok.reason).toMatch(/c-adapter@2 was trained from the target m@1/);
    world.state = 'drifted';
    expect((await policy.review('c')).decision).toBe('train');
    expect(trained).toEqual(['drift']);
    expect(reembeds).toEqual([]);
  });

  it('growth by retrain_growth since the last training trains again; below it nothing', async () => {
    const last = { createdAt: 0, parent: 'm@1', documents: 1000 };
    const { policy, trained, world } = trainingHarness({ active: 'c-adapter@1', settings: { retrainGrowth: 0.5 }, count: 1499, last });
    expect((await policy.review('c')).decision).toBe('none');
    world.count = 1500;
    const d = await policy.review('c');
    expect(d).toMatchObject({ decision: 'train', trigger: 'growth' });
    expect(d.reason).toMatch(/1500 documents, 50% or more than the 1000/);
    expect(trained).toEqual(['growth']);
    const never = trainingHarness({ settings: { retrainGrowth: 0 }, count: 100_000, last });
    expect((await never.policy.review('c')).decision).toBe('none');
  });

  it('below min_documents no training starts', async () => {
    const { policy, trained } = trainingHarness({ state: 'drifted', count: 150, settings: { minDocuments: 200 } });
    const d = await policy.review('c');
    expect(d.decision).toBe('new_model_needed');
    expect(d.reason).toMatch(/150 documents, fewer than training.min_documents \(200\)/);
    expect(trained).toEqual([]);
  });

  it('a target moved to another base: re-embeds to it, then trains again on the new base', async () => {
    const last = { createdAt: 9_990_000, parent: 'm@1', documents: 1000 };
    const { policy, trained, reembeds, world } = trainingHarness({ active: 'c-adapter@1', target: 'n@1', last });
    expect((await policy.review('c')).decision).toBe('reembed');
    expect(reembeds).toEqual(['target-changed']);
    world.active = 'n@1'; // the re-embedding swapped
    const d = await policy.review('c');
    expect(d).toMatchObject({ decision: 'train', trigger: 'new-base' });
    expect(d.reason).toMatch(/last training was on m@1 and the target moved to n@1/);
    expect(trained).toEqual(['new-base']);
    world.active = 'n-adapter@1'; // the new training swapped: it follows n@1, nothing more to do
    expect((await policy.review('c')).decision).toBe('none');
    expect(trained).toHaveLength(1);
  });

  it('a training job already running counts as started', async () => {
    const conflict = Object.assign(new Error('already has a training job'), { code: 'conflict' });
    const { policy: p, trained } = trainingHarness({ state: 'drifted', start: () => Promise.reject(conflict) });
    const d = await p.review('c');
    expect(d.decision).toBe('suppressed');
    expect(d.reason).toMatch(/already has a training job/);
    expect(trained).toEqual([]);
  });

  it('reads training settings with defaults (auto off, adapter, 200 documents, doubled)', () => {
    expect(trainingSettingsFrom({})).toEqual({ auto: false, kind: 'adapter', minDocuments: 200, retrainGrowth: 1 });
    expect(trainingSettingsFrom({ training: { auto: true, kind: 'static', min_documents: 10, retrain_growth: 0.25 } })).toEqual({ auto: true, kind: 'static', minDocuments: 10, retrainGrowth: 0.25 });
    expect(trainingSettingsFrom({ training: { kind: 'huge' } })).toEqual(DEFAULT_TRAINING_SETTINGS);
  });
});
