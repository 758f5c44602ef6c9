/** Drift statistics on synthetic data: known values, null behaviour, power, determinism, cost. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_DRIFT_CONFIG, driftConfigFrom, mergeDriftSettings } from '../../../../src/lifecycle/drift/config.ts';
import { DriftStateMachine, evaluateWindow, prepareReference, worstState } from '../../../../src/lifecycle/drift/evaluate.ts';
import {
  centroidCosineDistance,
  median,
  mmdPermutationTest,
  psi,
  sampleIndices,
  selfSquaredDistances,
} from '../../../../src/lifecycle/drift/stats.ts';
import { mulberry32 } from '../../../../src/util/random.ts';

function gaussian(rng: () => number): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Unit vectors around `center` (spread: noise scale per dimension). */
function cloud(rng: () => number, n: number, center: Float32Array, spread: number): Float32Array[] {
  return Array.from({ length: n }, () => {
    const v = new Float32Array(center.length);
    let norm = 0;
    for (let i = 0; i < v.length; i++) {
      v[i] = center[i]! + spread * gaussian(rng);
      norm += v[i]! * v[i]!;
    }
    for (let i = 0; i < v.length; i++) v[i] = v[i]! / Math.sqrt(norm);
    return v;
  });
}

function direction(rng: () => number, d: number): Float32Array {
  return Float32Array.from({ length: d }, () => gaussian(rng));
}

describe('drift statistics', () => {
  it('mulberry32 is deterministic and sampleIndices draws distinct indices', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    for (let i = 0; i < 100; i++) expect(a()).toBe(b());
    const idx = sampleIndices(50, 20, mulberry32(1));
    expect(new Set(idx).size).toBe(20);
    expect(idx.every((i) => i >= 0 && i < 50)).toBe(true);
    expect(sampleIndices(5, 10, mulberry32(1)).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('median matches a sort', () => {
    const rng = mulberry32(3);
    for (const n of [1, 2, 5, 100, 101, 1000]) {
      const values = Array.from({ length: n }, () => Math.floor(rng() * 20));
      const sorted = [...values].sort((x, y) => x - y);
      const expected = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
      expect(median(values)).toBe(expected);
    }
    expect(median([])).toBeNaN();
  });

  it('centroid cosine distance: 0 for the same sample, ~1 for orthogonal clusters', () => {
    const rng = mulberry32(5);
    const d = 32;
    const e1 = new Float32Array(d);
    e1[0] = 1;
    const e2 = new Float32Array(d);
    e2[1] = 1;
    const a = cloud(rng, 50, e1, 0.01);
    expect(centroidCosineDistance(a, a)).toBeCloseTo(0, 10);
    expect(centroidCosineDistance(a, cloud(rng, 50, e2, 0.01))).toBeGreaterThan(0.99);
    expect(() => centroidCosineDistance([], a)).toThrow(RangeError);
  });

  it('MMD² under no change: small, p-values spread over (0, 1]', () => {
    const rng = mulberry32(11);
    const d = 64;
    const center = direction(rng, d);
    const reference = cloud(rng, 200, center, 0.6);
    const cache = selfSquaredDistances(reference);
    const ps: number[] = [];
    const mmds: number[] = [];
    for (let t = 0; t < 40; t++) {
      const window = cloud(rng, 25, center, 0.6);
      const r = mmdPermutationTest(window, reference, { permutations: 200, seed: t + 1, ySquaredDistances: cache });
      ps.push(r.pValue);
      mmds.push(r.mmd2);
    }
    const mean = ps.reduce((a, b) => a + b, 0) / ps.length;
    const small = ps.filter((p) => p < 0.05).length / ps.length;
    console.log(`MMD null: mean p ${mean.toFixed(3)}, share p < 0.05 ${small.toFixed(3)}, max MMD² ${Math.max(...mmds).toFixed(4)}`);
    expect(mean).toBeGreaterThan(0.3);
    expect(mean).toBeLessThan(0.7);
    expect(small).toBeLessThanOrEqual(0.15);
    expect(Math.max(...mmds)).toBeLessThan(0.05);
  });

  it('MMD² under a shift: large, smallest possible p-value', () => {
    const rng = mulberry32(12);
    const d = 64;
    const a = direction(rng, d);
    const b = Float32Array.from(a, (x, i) => x + 0.8 * direction(mulberry32(99), d)[i]!);
    const reference = cloud(rng, 200, a, 0.6);
    const window = cloud(rng, 25, b, 0.6);
    const r = mmdPermutationTest(window, reference, { permutations: 200, seed: 1 });
    expect(r.pValue).toBeCloseTo(1 / 201, 10);
    expect(r.mmd2).toBeGreaterThan(0.05);
    expect(r.bandwidth).toBeGreaterThan(0);
    expect(r.sizes).toEqual([25, 200]);
  });

  it('MMD is deterministic per seed, and the cached reference distances change nothing', () => {
    const rng = mulberry32(13);
    const center = direction(rng, 48);
    const reference = cloud(rng, 120, center, 0.5);
    const window = cloud(rng, 30, center, 0.5);
    const plain = mmdPermutationTest(window, reference, { seed: 7 });
    const again = mmdPermutationTest(window, reference, { seed: 7 });
    const cached = mmdPermutationTest(window, reference, { seed: 7, ySquaredDistances: selfSquaredDistances(reference) });
    expect(again).toEqual(plain);
    expect(cached.mmd2).toBeCloseTo(plain.mmd2, 10);
    expect(cached.pValue).toBe(plain.pValue);
    // Subsampling caps each side.
    expect(mmdPermutationTest(cloud(rng, 300, center, 0.5), reference, { maxPerSide: 100 }).sizes).toEqual([100, 100]);
    expect(() => mmdPermutationTest(window.slice(0, 1), reference)).toThrow(RangeError);
  });

  it('PSI: known values', () => {
    // Two bins at the reference median: 50/50 against 80/20.
    const reference = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9];
    const observed = [0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4, 0.9, 0.9];
    const expected = (0.8 - 0.5) * Math.log(0.8 / 0.5) + (0.2 - 0.5) * Math.log(0.2 / 0.5);
    expect(psi(reference, observed, 2)).toBeCloseTo(expected, 10);
    // Same distribution: 0.
    const uniform = Array.from({ length: 1000 }, (_, i) => i / 1000);
    expect(psi(uniform, uniform, 10)).toBeCloseTo(0, 10);
    // Everything in the top decile, epsilon for the nine empty bins.
    const top = Array.from({ length: 50 }, () => 0.99);
    const eps = 1e-4;
    const allTop = 9 * (eps - 0.1) * Math.log(eps / 0.1) + (1 - 0.1) * Math.log(1 / 0.1);
    expect(psi(uniform, top, 10, eps)).toBeCloseTo(allTop, 6);
    expect(psi([], top)).toBeNaN();
  });

  it('gives the same answer with cached reference distances as without (the cache the monitor keeps per reference)', () => {
    // What the cache saves is time (not a test's business); what must hold is that it changes nothing.
    const rng = mulberry32(21);
    const center = direction(rng, 512);
    const reference = cloud(rng, 200, center, 0.05);
    const cache = selfSquaredDistances(reference);
    for (const [i, window] of [cloud(rng, 50, center, 0.05), cloud(rng, 50, direction(rng, 512), 0.05)].entries()) {
      const cached = mmdPermutationTest(window, reference, { permutations: 200, seed: i + 1, ySquaredDistances: cache });
      const uncached = mmdPermutationTest(window, reference, { permutations: 200, seed: i + 1 });
      expect(cached.pValue).toBe(uncached.pValue);
      expect(cached.mmd2).toBeCloseTo(uncached.mmd2, 12);
    }
  });
});

describe('window evaluation and state', () => {
  it('alerts on a shifted window, not on one from the reference distribution', () => {
    const rng = mulberry32(31);
    const a = direction(rng, 64);
    const b = direction(rng, 64);
    const config = DEFAULT_DRIFT_CONFIG;
    const refVectors = cloud(rng, 100, a, 0.3);
    const reference = prepareReference(
      { kind: 'queries', generation: 1, vectors: refVectors, top1: Array.from({ length: 100 }, () => 0.7 + 0.1 * rng()), tokens: { texts: 100, tokens: 2000, unknown: 0, truncated: 0 } },
      config.maxPerSide,
    );
    const same = evaluateWindow(
      reference,
      { vectors: cloud(rng, 25, a, 0.3), top1: Array.from({ length: 25 }, () => 0.7 + 0.1 * rng()), tokens: { texts: 25, tokens: 500, unknown: 0, truncated: 0 } },
      'queries',
      config,
      1,
    );
    expect(same.alert).toBe(false);
    expect(same.metrics.map((m) => m.name)).toEqual(['centroid_distance', 'mmd2', 'mmd_p_value', 'score_psi', 'unknown_token_rate', 'truncation_rate']);
    const shifted = evaluateWindow(
      reference,
      { vectors: cloud(rng, 25, b, 0.3), top1: Array.from({ length: 25 }, () => 0.4 + 0.1 * rng()), tokens: { texts: 25, tokens: 500, unknown: 50, truncated: 20 } },
      'queries',
      config,
      1,
    );
    expect(shifted.alert).toBe(true);
    expect(shifted.reasons.join(' ')).toMatch(/embeddings moved.*PSI|embeddings moved/);
    const byName = Object.fromEntries(shifted.metrics.map((m) => [m.name, m]));
    expect(byName.score_psi!.exceeded).toBe(true);
    expect(byName.unknown_token_rate!.exceeded).toBe(true);
    expect(byName.unknown_token_rate!.threshold).toBeCloseTo(0.01, 10);
    expect(byName.truncation_rate!.exceeded).toBe(true);
    // Unknown reference token statistics: rates are reported, not compared.
    const noTokens = evaluateWindow({ ...reference, tokens: undefined }, { vectors: cloud(rng, 25, a, 0.3), top1: [], tokens: { texts: 25, tokens: 500, unknown: 50, truncated: 25 } }, 'queries', config, 1);
    expect(noTokens.alert).toBe(false);
    expect(noTokens.metrics.find((m) => m.name === 'truncation_rate')!.threshold).toBeNull();
  });

  it('state machine: warning after one alert, drifted when it persists, ok after clean windows', () => {
    const m = new DriftStateMachine();
    const seq = [false, true, false, false, true, true, true, false, true, false, false].map((alert) => m.step(alert, 2, 2));
    expect(seq).toEqual(['ok', 'warning', 'warning', 'ok', 'warning', 'drifted', 'drifted', 'drifted', 'drifted', 'drifted', 'ok']);
    expect(worstState(['ok', 'warning'])).toBe('warning');
    expect(worstState(['drifted', 'warning'])).toBe('drifted');
    expect(worstState([])).toBe('ok');
  });

  it('per-collection settings overlay the defaults; bad settings fall back', () => {
    const c = driftConfigFrom({ drift: { queries: { window: 40 }, persist: 3 } });
    expect(c.queries.window).toBe(40);
    expect(c.queries.referenceSize).toBe(DEFAULT_DRIFT_CONFIG.queries.referenceSize);
    expect(c.persist).toBe(3);
    expect(driftConfigFrom({ drift: { queries: { window: -1 } } })).toEqual(DEFAULT_DRIFT_CONFIG);
    expect(driftConfigFrom(undefined)).toEqual(DEFAULT_DRIFT_CONFIG);
    expect(mergeDriftSettings({ queries: { window: 40 }, alpha: 0.05 }, { queries: { psi: 2 } })).toEqual({ queries: { window: 40, psi: 2 }, alpha: 0.05 });
  });
});
