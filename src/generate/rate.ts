// Smooth rate limiting: a token bucket refilled continuously and drained every ~10 ms, so a
// target of 5k events/s arrives as ~50 events every 10 ms rather than one burst per second.
import { systemClock, type Clock } from '../core/clock.ts';

export interface TokenBucketOptions {
  /** Tokens added per second. */
  ratePerSec: number;
  /** Most tokens that can pile up while the sender is busy or a timer fires late (default: 50 ms worth, at least 1). */
  burst?: number;
  clock?: Clock;
}

export class TokenBucket {
  readonly ratePerSec: number;
  readonly burst: number;
  private readonly clock: Clock;
  private tokens = 0;
  private last: number;

  constructor(opts: TokenBucketOptions) {
    if (!(opts.ratePerSec > 0))
      throw new RangeError(`ratePerSec must be > 0, got ${opts.ratePerSec}`);
    this.ratePerSec = opts.ratePerSec;
    this.burst = opts.burst ?? Math.max(1, opts.ratePerSec * 0.05);
    this.clock = opts.clock ?? systemClock;
    this.last = this.clock.now();
  }

  /** Takes up to `max` whole tokens; returns how many were taken (possibly 0). */
  take(max: number): number {
    this.refill();
    const n = Math.min(max, Math.floor(this.tokens));
    this.tokens -= n;
    return n;
  }

  /** Milliseconds until `n` whole tokens are available (0 if they already are). */
  msUntil(n = 1): number {
    this.refill();
    const missing = Math.min(n, this.burst) - this.tokens;
    return missing <= 0 ? 0 : (missing / this.ratePerSec) * 1000;
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSec) / 1000);
  }
}
