// Readiness as a list of named checks that components register (Kafka, ClickHouse, partitions,
// progress per pipeline; NATS where a pipeline keeps state). Checks are synchronous and cheap:
// they read state the component keeps up to date (a Probe does the network round trips on its own
// timer), so /readyz answers at once, and each change of a check is logged once.
import { systemClock, type Clock } from '../core/clock.ts';
import { describeError } from '../core/errors.ts';
import { redact } from '../core/redact.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

export interface CheckResult {
  ok: boolean;
  /** Why it fails (always given when not ok), or a short note when it passes. */
  reason?: string;
}

export type Check = () => CheckResult;

export interface CheckName {
  /** The pipeline the check belongs to; empty for agent-wide checks. */
  pipeline?: string;
  /** What is checked: kafka, clickhouse, nats, partitions, progress, … (a metric label). */
  check: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

export interface HealthDeps {
  logger: Logger;
  metrics?: Metrics;
}

export const checkKey = (n: CheckName): string =>
  n.pipeline ? `${n.pipeline}/${n.check}` : n.check;

export class HealthChecks {
  private readonly checks = new Map<string, { name: CheckName; check: Check }>();
  private readonly lastOk = new Map<string, boolean>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: HealthDeps) {}

  /** Adds a check; the returned function removes it. A second check with a name replaces it. */
  register(name: CheckName, check: Check): () => void {
    const key = checkKey(name);
    const entry = { name, check };
    this.checks.set(key, entry);
    return () => {
      if (this.checks.get(key) === entry) this.checks.delete(key);
      this.lastOk.delete(key);
    };
  }

  /** Runs every check; ready when all pass (and at least one is registered). */
  evaluate(): ReadinessReport {
    const checks: Record<string, CheckResult> = {};
    let ready = this.checks.size > 0;
    for (const [key, { name, check }] of [...this.checks].sort(([a], [b]) => a.localeCompare(b))) {
      let result: CheckResult;
      try {
        result = check();
      } catch (err) {
        result = { ok: false, reason: `the check failed: ${describeError(err)}` };
      }
      // Reasons quote errors and addresses, and are served on /readyz: no credentials in them.
      if (result.reason !== undefined) result = { ...result, reason: redact(result.reason) };
      checks[key] = result;
      if (!result.ok) ready = false;
      this.noteChange(key, name, result);
    }
    if (this.checks.size === 0) checks.agent = { ok: false, reason: 'nothing is running yet' };
    return { ready, checks };
  }

  /** Evaluates on a timer so state changes are logged (and the gauge moves) without polling. */
  watch(intervalMs = 1000): void {
    this.timer ??= setInterval(() => this.evaluate(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private noteChange(key: string, name: CheckName, result: CheckResult): void {
    this.deps.metrics?.readiness.set(
      { pipeline: name.pipeline ?? '', check: name.check },
      result.ok ? 1 : 0,
    );
    const before = this.lastOk.get(key);
    this.lastOk.set(key, result.ok);
    if (before === result.ok || (before === undefined && result.ok)) return;
    const fields = { pipeline: name.pipeline, check: name.check, reason: result.reason };
    if (result.ok) this.deps.logger.info(fields, 'readiness check passes again');
    else this.deps.logger.warn(fields, 'readiness check fails');
  }
}

export interface ProbeOptions {
  intervalMs: number;
  /** A round trip slower than this counts as a failure. */
  timeoutMs: number;
  clock?: Clock;
}

/**
 * Runs an async round trip (a ping) on its own timer and keeps the last outcome, so a readiness
 * check can read it without waiting on the network. A probe still running past its timeout
 * counts as failed.
 */
export class Probe {
  private timer: NodeJS.Timeout | undefined;
  private running: { since: number; abort: AbortController } | undefined;
  private last: CheckResult = { ok: false, reason: 'not probed yet' };
  private readonly clock: Clock;

  constructor(
    private readonly what: string,
    private readonly roundTrip: (signal: AbortSignal) => Promise<void>,
    private readonly opts: ProbeOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
  }

  start(): void {
    if (this.timer) return;
    void this.probe();
    this.timer = setInterval(() => void this.probe(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.running?.abort.abort();
  }

  get result(): CheckResult {
    if (this.running && this.clock.now() - this.running.since > this.opts.timeoutMs)
      return {
        ok: false,
        reason: `${this.what} did not answer within ${this.opts.timeoutMs} ms`,
      };
    return this.last;
  }

  /** One round trip now; resolves with its outcome. */
  async probe(): Promise<CheckResult> {
    if (this.running) return this.result;
    const abort = new AbortController();
    this.running = { since: this.clock.now(), abort };
    const timer = setTimeout(() => abort.abort(), this.opts.timeoutMs);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.roundTrip(abort.signal);
          this.last = { ok: true };
          break;
        } catch (err) {
          // One failure at once is tried again within the same timeout: a keep-alive socket the
          // server had just closed fails one request, and must not make the agent unready.
          if (attempt === 1 && !abort.signal.aborted) continue;
          this.last = {
            ok: false,
            reason: abort.signal.aborted
              ? `${this.what} did not answer within ${this.opts.timeoutMs} ms`
              : `${this.what} failed: ${describeError(err)}`,
          };
          break;
        }
      }
    } finally {
      clearTimeout(timer);
      this.running = undefined;
    }
    return this.last;
  }
}
