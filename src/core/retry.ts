// The one retry policy: every component that retries (the ClickHouse sink, the batch ledger, the
// dedup and join state in NATS) goes through `retry`. Whether a failure is retried is decided by
// the error alone - its `retriable` flag (core/errors.ts), set by each component's classifier -
// so no caller carries its own predicate.
//
// Backoff: exponential with "equal jitter". Before retry n (1, 2, ...) the ceiling is
//   c = min(maxMs, initialMs * 2^(n-1))
// and the delay is drawn uniformly from [c/2, c]. Equal rather than full jitter ([0, c]): full
// jitter spreads many competing clients best, but any of its delays may be near zero - a retry
// straight into a server that has just failed - and the configured delays become mere upper
// bounds. Weir's retriers are a few lanes and stages per agent waiting out one outage: a floor of
// half the ceiling keeps the load on a struggling server bounded, the random other half keeps
// lanes from retrying in lockstep.
import { setTimeout as timeout } from 'node:timers/promises';
import { isRetriable } from './errors.ts';

export interface BackoffOptions {
  /** Ceiling of the first retry's delay, in ms. */
  initialMs: number;
  /** Cap on any delay, in ms. */
  maxMs: number;
  /** Uniform in [0, 1); injectable for tests. Default Math.random. */
  random?: () => number;
}

/** Delay before retry number `n` (1 for the first retry): uniform in [c/2, c], c capped by maxMs. */
export function backoffDelay(n: number, opts: BackoffOptions): number {
  // The exponent stops at 52: the product stays finite, and 2^52 ms exceeds any cap.
  const ceiling = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(n - 1, 52));
  const random = opts.random ?? Math.random;
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface RetryOptions extends BackoffOptions {
  /** Give up after this many retries (attempts = retries + 1). Default Infinity: until aborted. */
  retries?: number;
  /** Stops retrying: a pending delay ends at once and the last error is thrown. */
  signal?: AbortSignal;
  /** Called before each delay, e.g. to log: the error, the retry's number (1-based), the delay. */
  onRetry?: (err: unknown, retry: number, delayMs: number) => void;
  /** Waits `ms` or until `signal` aborts (resolving or rejecting); injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
}

const defaultSleep = (ms: number, signal?: AbortSignal) => timeout(ms, undefined, { signal });

/**
 * Runs `fn` (given the 0-based attempt number) until it resolves. A failure is retried after a
 * backoff delay when it is `retriable`; otherwise, or once `retries` are spent or `signal` has
 * aborted, it is thrown as it is.
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions,
): Promise<T> {
  const { retries = Infinity, signal, sleep = defaultSleep } = opts;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetriable(err) || attempt >= retries || signal?.aborted) throw err;
      const delayMs = backoffDelay(attempt + 1, opts);
      opts.onRetry?.(err, attempt + 1, delayMs);
      await sleep(delayMs, signal).catch(() => undefined);
      if (signal?.aborted) throw err;
    }
  }
}
