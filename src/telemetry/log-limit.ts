// Rate limiting for repeated log lines (an unreachable broker or server fails the same way many
// times a second): at most one line per key per interval, and that line says how many were held
// back since the previous one.
import { systemClock, type Clock } from '../core/clock.ts';

export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs = 10_000,
    private readonly clock: Clock = systemClock,
    /** Keys are log messages and error classes, not ids; this bounds memory all the same. */
    private readonly maxKeys = 1000,
  ) {}

  /**
   * Returns undefined when the line for `key` should be skipped, otherwise the number of lines
   * skipped for it since the last one that was written (0 the first time).
   */
  take(key: string): number | undefined {
    const now = this.clock.now();
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return undefined;
    }
    const suppressed = entry?.suppressed ?? 0;
    if (!entry && this.last.size >= this.maxKeys) this.last.clear();
    this.last.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }

  /** Forgets a key, so the next line for it is written at once (e.g. after a recovery). */
  reset(key: string): void {
    this.last.delete(key);
  }
}
