// src/training/adam.ts: Adam over named Float32Array parameters.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.ts';
import { Adam } from '../../../src/training/adam.ts';

describe('Adam', () => {
  it('matches a hand-computed two-step example', () => {
    const p = Float32Array.from([1, -2]);
    const adam = new Adam({ p }, { lr: 0.1 });
    // Step 1, g = [0.5, -1]: m = 0.1 g, v = 0.001 g^2, so mhat = g and vhat = g^2, and each entry
    // moves by lr * g / (|g| + 1e-8) = 0.1 against its gradient's sign.
    adam.step({ p: Float32Array.from([0.5, -1]) });
    expect(p[0]).toBeCloseTo(0.9, 6);
    expect(p[1]).toBeCloseTo(-1.9, 6);
    // Step 2, g = [0.1, 0.2]: m = [0.055, -0.07], v = [0.00025975, 0.001039];
    // mhat = m / (1 - 0.9^2) = [0.28947368, -0.36842105], vhat = v / (1 - 0.999^2) = [0.12993997, 0.51975988];
    // p -= 0.1 mhat / (sqrt(vhat) + 1e-8) = [0.9 - 0.08030410, -1.9 + 0.05110261].
    adam.step({ p: Float32Array.from([0.1, 0.2]) });
    expect(p[0]).toBeCloseTo(0.8196959, 6);
    expect(p[1]).toBeCloseTo(-1.8488974, 6);
    expect(adam.steps).toBe(2);
  });

  it('updates every named parameter from its own gradient', () => {
    const a = new Float32Array(3);
    const b = new Float32Array(2);
    const adam = new Adam({ a, b }, { lr: 0.01 });
    adam.step({ a: Float32Array.from([1, 0, -1]), b: Float32Array.from([0, 2]) });
    expect([...a].map((x) => Math.round(x * 1000) / 1000)).toEqual([-0.01, 0, 0.01]);
    expect(b[0]).toBe(0);
    expect(b[1]).toBeCloseTo(-0.01, 6);
  });

  it('is deterministic: the same gradients give the same parameters bit for bit', () => {
    const run = () => {
      const p = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
      const adam = new Adam({ p }, { lr: 3e-3, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 });
      for (let t = 1; t <= 5; t++) adam.step({ p: Float32Array.from({ length: 64 }, (_, i) => Math.cos(i * t)) });
      return p;
    };
    expect(Buffer.from(run().buffer).equals(Buffer.from(run().buffer))).toBe(true);
  });

  it('rejects a missing or mis-sized gradient and a non-positive learning rate', () => {
    const adam = new Adam({ p: new Float32Array(2) }, { lr: 0.1 });
    expect(() => adam.step({})).toThrow(InvalidInputError);
    expect(() => adam.step({ p: new Float32Array(3) })).toThrow(InvalidInputError);
    expect(() => new Adam({ p: new Float32Array(1) }, { lr: 0 })).toThrow(InvalidInputError);
  });
});
