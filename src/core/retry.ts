// Exponential backoff with full jitter, shared by every component that retries.
import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  random?: () => number;
}

/** Delay before retry number `attempt` (0-based). */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const factor = opts.factor ?? 2;
  const ceiling = Math.min(opts.maxMs, opts.initialMs * factor ** attempt);
  const random = opts.random ?? Math.random;
  // Half fixed, half jitter: never zero, never above the ceiling.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface RetryOptions extends BackoffOptions {
  /** Give up after this many retries (Infinity = until aborted). */
  retries: number;
  isRetriable: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!opts.isRetriable(err) || attempt >= opts.retries || opts.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, opts);
      opts.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, undefined, { signal: opts.signal }).catch(() => undefined);
      if (opts.signal?.aborted) throw err;
    }
  }
}
