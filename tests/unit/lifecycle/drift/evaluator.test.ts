// Tests src/lifecycle/drift/evaluator.ts: window evaluations in the drift evaluation worker equal evaluateWindow's on the main thread, including after the worker dropped a reference's samples.
import { describe, expect, it } from 'vitest';
import { DEFAULT_DRIFT_CONFIG } from '../../../../src/lifecycle/drift/config.ts';
import { evaluateWindow, prepareReference, type PreparedReference, type WindowItems } from '../../../../src/lifecycle/drift/evaluate.ts';
import { evaluateWindowOffThread } from '../../../../src/lifecycle/drift/evaluator.ts';
import { unitVectors } from '../../../helpers/vectors.ts';

const DIM = 32;
const tokens = { texts: 20, tokens: 200, unknown: 1, truncated: 0 };

function reference(seed: number): PreparedReference {
  const top1 = Array.from({ length: 40 }, (_, i) => 0.4 + i / 100);
  return prepareReference({ kind: 'queries', generation: 1, vectors: unitVectors(40, DIM, seed), top1, tokens }, DEFAULT_DRIFT_CONFIG.maxPerSide);
}

function window(seed: number): WindowItems {
  return { vectors: unitVectors(25, DIM, seed), top1: Array.from({ length: 25 }, (_, i) => 0.5 + i / 80), tokens };
}

/** The evaluation without its timing, which differs from run to run. */
const figures = ({ ms: _ms, ...rest }: { ms: number }) => rest;

describe('evaluateWindowOffThread', () => {
  it('gives evaluateWindow figures, for a reference it was sent before and for one it dropped', async () => {
    const first = reference(1);
    const w = window(2);
    const expected = figures(evaluateWindow(first, w, 'queries', DEFAULT_DRIFT_CONFIG, 17));
    expect(figures(await evaluateWindowOffThread(first, w, 'queries', DEFAULT_DRIFT_CONFIG, 17))).toEqual(expected);
    // A copy with other token totals shares the samples (calibration makes such copies).
    const calibrated = { ...first, tokens: { texts: 5, tokens: 50, unknown: 0, truncated: 0 } };
    expect(figures(await evaluateWindowOffThread(calibrated, w, 'queries', DEFAULT_DRIFT_CONFIG, 17))).toEqual(figures(evaluateWindow(calibrated, w, 'queries', DEFAULT_DRIFT_CONFIG, 17)));
    // More references than the worker keeps: the first one's samples are dropped there and sent again.
    for (let seed = 100; seed < 170; seed++) await evaluateWindowOffThread(reference(seed), w, 'queries', DEFAULT_DRIFT_CONFIG, seed);
    expect(figures(await evaluateWindowOffThread(first, w, 'queries', DEFAULT_DRIFT_CONFIG, 17))).toEqual(expected);
    // A shifted window alerts there as it does here.
    const shifted = { ...w, vectors: w.vectors.map((v) => v.map((x, i) => (i < 4 ? x + 1 : x))) };
    const alert = await evaluateWindowOffThread(first, shifted, 'queries', DEFAULT_DRIFT_CONFIG, 18);
    expect(figures(alert)).toEqual(figures(evaluateWindow(first, shifted, 'queries', DEFAULT_DRIFT_CONFIG, 18)));
    expect(alert.alert).toBe(true);
  });
});
