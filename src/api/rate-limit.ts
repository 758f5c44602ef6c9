/** Per-principal token bucket: `rate` requests per second with a burst of twice that. */
import { RateLimitedError } from '../errors.ts';

interface Bucket {
  tokens: number;
  updated: number;
}

/** Buckets idle this long are full again and can be forgotten. */
const FORGET_AFTER_MS = 60_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = performance.now();

  constructor(private readonly ratePerSecond: number) {}

  /** Throws RateLimitedError (429 with Retry-After) when `principal` is out of tokens. */
  take(principal: string): void {
    if (this.ratePerSecond <= 0) return;
    const burst = Math.max(1, this.ratePerSecond * 2);
    const now = performance.now();
    this.sweep(now);
    const bucket = this.buckets.get(principal) ?? { tokens: burst, updated: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updated) / 1000) * this.ratePerSecond);
    bucket.updated = now;
    this.buckets.set(principal, bucket);
    if (bucket.tokens < 1) {
      throw new RateLimitedError(`rate limit of ${this.ratePerSecond} requests/s exceeded`, (1 - bucket.tokens) / this.ratePerSecond);
    }
    bucket.tokens -= 1;
  }

  /** Keeps the table bounded by the clients seen in the last minute. */
  private sweep(now: number): void {
    if (now - this.lastSweep < FORGET_AFTER_MS) return;
    this.lastSweep = now;
    for (const [principal, bucket] of this.buckets) if (now - bucket.updated > FORGET_AFTER_MS) this.buckets.delete(principal);
  }
}
