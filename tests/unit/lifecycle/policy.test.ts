/** The re-embedding policy with injected state, target and job starter. */
import { beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from '../../../src/log.ts';
import type { DriftState } from '../../../src/lifecycle/drift/evaluate.ts';
import { DriftPolicy, policyModeOf, type PolicyMode } from '../../../src/lifecycle/policy.ts';

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
