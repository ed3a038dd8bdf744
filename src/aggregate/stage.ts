// The aggregation as a pipeline stage, after the transforms (and dedup): records leave the chain
// folded into their windows (reason `aggregated`), and window rows come out as the output of the
// records that close them (see engine.ts). Late records are counted, logged (rate-limited) and
// dropped with reason `late` or dead-lettered.
import { performance } from 'node:perf_hooks';
import { describeError } from '../core/errors.ts';
import type { Envelope, StageOutput } from '../core/record.ts';
import type { BatchEnd, Stage } from '../stages/stage.ts';
import { StateCalls, traceRebuild, type KeyedStore } from '../state/keyed/index.ts';
import { LogLimiter } from '../telemetry/log-limit.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { Clock } from '../core/clock.ts';
import {
  AggregateEngine,
  type AggregateSettings,
  type LateOutcome,
  type Release,
} from './engine.ts';

export interface AggregateStageDeps {
  pipeline: string;
  store: KeyedStore;
  clock?: Clock;
  metrics: Metrics;
  logger: Logger;
  storeProblem?: () => string | undefined;
  closeStore?: () => Promise<void>;
  retryInitialMs?: number;
  snapshotEvery?: number;
  /** Limits the late-record warning (default: one line per outcome every 10 s). */
  lateLogLimiter?: LogLimiter;
}

export class AggregateStage implements Stage {
  readonly name = 'aggregate';
  readonly kind = 'aggregate';
  readonly engine: AggregateEngine;
  private readonly calls: StateCalls;
  private readonly lateLimiter: LogLimiter;
  private readonly lateMaxBehind = new Map<string, number>();
  private readonly timer: NodeJS.Timeout | undefined;
  /**
   * Only with an idle rule: the stage then holds each partition's last record (the lane cuts no
   * batch past it) until a newer one arrives or the partition is idle.
   */
  readonly heldFrom?: (topic: string, partition: number) => string | undefined;
  readonly setRelease?: (topic: string, partition: number, fn: Release) => void;

  constructor(
    readonly s: AggregateSettings,
    private readonly d: AggregateStageDeps,
  ) {
    this.calls = new StateCalls(d);
    this.lateLimiter = d.lateLogLimiter ?? new LogLimiter();
    const labels = { pipeline: d.pipeline };
    const { metrics } = d;
    this.engine = new AggregateEngine(s, {
      store: this.calls.store(d.store, 'aggregate'),
      clock: d.clock,
      snapshotEvery: d.snapshotEvery,
      onSnapshotFailed: (topic, partition, err) =>
        d.logger.warn(
          { partition: `${topic}/${partition}`, err: describeError(err) },
          'aggregate snapshot failed; the deltas stay and it is tried again later',
        ),
      observer: {
        records: (n) => metrics.aggregateRecords.inc({ ...labels, reason: 'aggregated' }, n),
        rows: (n) => metrics.aggregateRows.inc(labels, n),
        late: (behindMs, outcome) => {
          metrics.aggregateRecords.inc({
            ...labels,
            reason: outcome === 'partial' ? 'partial' : 'late',
          });
          this.warnLate(behindMs, outcome);
        },
      },
    });
    for (const reason of ['aggregated', 'late', 'partial'])
      metrics.aggregateRecords.labels({ ...labels, reason });
    metrics.aggregateRows.labels(labels);
    if (s.idleMs !== undefined) {
      this.heldFrom = (topic, partition) => this.engine.heldFrom(topic, partition);
      this.setRelease = (topic, partition, fn) => this.engine.setRelease(topic, partition, fn);
      this.timer = setInterval(
        () => {
          this.engine.tick();
          this.updateGauges();
        },
        Math.max(50, Math.min(1000, s.idleMs / 4)),
      );
      this.timer.unref();
    }
    this.updateGauges();
  }

  async process(batch: Envelope[]): Promise<StageOutput> {
    const out = await this.engine.process(batch);
    this.updateGauges();
    return out;
  }

  checkpoint(at?: BatchEnd): Promise<void> {
    return this.engine.checkpoint(at);
  }

  onAssign(topic: string, partition: number): Promise<void> {
    const started = performance.now();
    return traceRebuild('aggregate', this.d.pipeline, topic, partition, () =>
      this.engine.onAssign(topic, partition),
    ).then(() => {
      const seconds = (performance.now() - started) / 1000;
      this.d.metrics.aggregateRebuildDuration.observe({ pipeline: this.d.pipeline }, seconds);
      this.d.logger.info(
        {
          partition: `${topic}/${partition}`,
          windows: this.engine.windowsOpen,
          state_bytes: this.engine.stateBytes,
          ms: Math.round(seconds * 1000),
        },
        'aggregate state rebuilt',
      );
      this.updateGauges();
    });
  }

  onRevoke(topic: string, partition: number): void {
    this.engine.onRevoke(topic, partition);
    this.updateGauges();
  }

  onCommit(topic: string, partition: number, next: string): void {
    this.engine.onCommit(topic, partition, next);
    this.updateGauges();
  }

  check(): { ok: boolean; detail?: string } {
    const c = this.engine.check();
    if (!c.ok) return c;
    const problem = this.d.storeProblem?.();
    return problem ? { ok: false, detail: `NATS (aggregate state): ${problem}` } : { ok: true };
  }

  /** One warning per outcome per interval: how far behind the latest late record was. */
  private warnLate(behindMs: number, outcome: LateOutcome): void {
    const max = Math.max(this.lateMaxBehind.get(outcome) ?? 0, behindMs);
    this.lateMaxBehind.set(outcome, max);
    const before = this.lateLimiter.take(outcome);
    if (before === undefined) return;
    this.lateMaxBehind.delete(outcome);
    this.d.logger.warn(
      {
        outcome,
        behind_ms: behindMs,
        max_behind_ms: max,
        allowed_lateness_ms: this.s.latenessMs,
        ...(before > 0 ? { suppressed: before } : {}),
      },
      outcome === 'partial'
        ? 'aggregate: record missed some of its (hopping) windows, which had closed; it is counted in the others; raise aggregate.allowed_lateness if producers are this far out of order'
        : `aggregate: record later than the allowed lateness, its window closed (${outcome === 'dead_letter' ? 'dead-lettered' : 'dropped, counted'}); raise aggregate.allowed_lateness if producers are this far out of order`,
    );
  }

  private updateGauges(): void {
    const { metrics, pipeline } = this.d;
    metrics.aggregateWindowsOpen.set({ pipeline }, this.engine.windowsOpen);
    metrics.aggregateStateBytes.set({ pipeline }, this.engine.stateBytes);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.calls.stop();
    await Promise.allSettled(this.engine.pending());
    await this.d.closeStore?.();
  }
}
