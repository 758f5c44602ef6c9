/**
 * Adam (Kingma & Ba) over named Float32Array parameters, updated in place. Deterministic: the
 * same gradients give the same parameters bit for bit (one fixed loop order, double-precision
 * arithmetic per element, stored back as float32).
 */
import { InvalidInputError } from '../errors.ts';

export interface AdamOptions {
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
}

export class Adam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private t = 0;

  constructor(
    private readonly params: Readonly<Record<string, Float32Array>>,
    options: AdamOptions,
  ) {
    this.lr = options.lr;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    if (!(this.lr > 0)) throw new InvalidInputError(`Adam: learning rate must be > 0, got ${this.lr}`);
    for (const [name, p] of Object.entries(params)) {
      this.m.set(name, new Float32Array(p.length));
      this.v.set(name, new Float32Array(p.length));
    }
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /** One update from a gradient per parameter (every parameter must have one, of its length). */
  step(grads: Readonly<Record<string, Float32Array>>): void {
    for (const [name, p] of Object.entries(this.params)) {
      const g = grads[name];
      if (!g || g.length !== p.length) throw new InvalidInputError(`Adam: gradient for ${name} missing or of the wrong length`);
    }
    this.t += 1;
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    // The textbook form, p -= lr * mhat / (sqrt(vhat) + eps), so that a hand computation (and
    // PyTorch's Adam, whose moments are float32 as here) agrees with it.
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    for (const [name, p] of Object.entries(this.params)) {
      const g = grads[name]!;
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        const mi = b1 * m[i]! + (1 - b1) * gi;
        const vi = b2 * v[i]! + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i]! - (this.lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
      }
    }
  }
}
