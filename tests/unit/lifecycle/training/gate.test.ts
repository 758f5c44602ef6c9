// Tests src/lifecycle/training/gate.ts: trainingGate's rules on given figures (pure; trainCollection's use of it is in train.test.ts).
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRAINING_MARGIN, NOT_WORSE_TOLERANCE, trainingGate } from '../../../../src/lifecycle/training/gate.ts';
import type { Figures, SetFigures } from '../../../../src/lifecycle/training/validation.ts';

const set = (dense: number, hybrid = dense): SetFigures => ({ dense: { 'ndcg@10': dense, 'mrr@10': dense }, hybrid: { 'ndcg@10': hybrid, 'mrr@10': hybrid } });
const counts = { mode: 'dense' as const, margin: DEFAULT_TRAINING_MARGIN, pseudoQueries: 50 };

describe('trainingGate', () => {
  it('passes when held-out pseudo-queries gain at least the margin, naming the numbers', () => {
    const out = trainingGate({ pseudo: set(0.5) }, { pseudo: set(0.51) }, counts);
    expect(out).toEqual({ passed: true, reason: 'gate passed: held-out pseudo-queries (50 queries) dense nDCG@10 0.5000 -> 0.5100 (+0.0100) >= margin 0.005' });
  });

  it('fails below the margin, and on the mode asked for', () => {
    expect(trainingGate({ pseudo: set(0.5) }, { pseudo: set(0.504) }, counts).passed).toBe(false);
    // Dense gains, hybrid does not: the hybrid gate fails.
    const hybrid = trainingGate({ pseudo: set(0.5, 0.6) }, { pseudo: set(0.6, 0.6) }, { ...counts, mode: 'hybrid' });
    expect(hybrid.passed).toBe(false);
    expect(hybrid.reason).toContain('hybrid nDCG@10 0.6000 -> 0.6000 (+0.0000) < margin 0.005');
  });

  it('fails when the evaluation set or held-out feedback is worse by more than the tolerance', () => {
    const before: Figures = { pseudo: set(0.5), feedback: set(0.4), eval_set: set(0.3) };
    const ok = trainingGate(before, { pseudo: set(0.6), feedback: set(0.4 - NOT_WORSE_TOLERANCE / 2), eval_set: set(0.3) }, { ...counts, feedbackQueries: 4, evalSetQueries: 10 });
    expect(ok.passed).toBe(true);
    expect(ok.reason).toContain('held-out feedback (4 queries) dense nDCG@10 0.4000 -> 0.3995 (-0.0005) not worse');
    expect(ok.reason).toContain('evaluation set (10 queries) dense nDCG@10 0.3000 -> 0.3000 (+0.0000) not worse');
    const evalWorse = trainingGate(before, { pseudo: set(0.6), feedback: set(0.4), eval_set: set(0.29) }, { ...counts, feedbackQueries: 4, evalSetQueries: 10 });
    expect(evalWorse.passed).toBe(false);
    expect(evalWorse.reason).toMatch(/^gate failed: evaluation set \(10 queries\) dense nDCG@10 0\.3000 -> 0\.2900 \(-0\.0100\) worse by more than 0\.001; \(ok: held-out pseudo-queries/);
    const feedbackWorse = trainingGate(before, { pseudo: set(0.6), feedback: set(0.3), eval_set: set(0.3) }, { ...counts, feedbackQueries: 4, evalSetQueries: 10 });
    expect(feedbackWorse.passed).toBe(false);
    expect(feedbackWorse.reason).toContain('held-out feedback (4 queries) dense nDCG@10 0.4000 -> 0.3000 (-0.1000) worse by more than 0.001');
  });

  it('fails without held-out pseudo-queries', () => {
    const out = trainingGate({ pseudo: set(0) }, { pseudo: set(0) }, { ...counts, pseudoQueries: 0 });
    expect(out.passed).toBe(false);
    expect(out.reason).toMatch(/no held-out pseudo-queries/);
  });
});
