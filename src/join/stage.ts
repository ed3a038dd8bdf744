// The join as a pipeline stage. One stage object serves both sides: the left lanes (the pipeline's
// own topic, after parse, transforms and dedup) and the right lanes (the join's topic, after its
// own parse). Right events are buffered and leave the chain (reason `buffered`); left events leave
// as joined rows, now or, when their window is still open, later through the lane's release.
import { performance } from 'node:perf_hooks';
import { describeError } from '../core/errors.ts';
import type { Envelope, StageOutput } from '../core/record.ts';
import type { Stage } from '../stages/stage.ts';
import { StateCalls, traceRebuild } from '../state/keyed/index.ts';
import { LogLimiter } from '../telemetry/log-limit.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import {
  JoinEngine,
  type JoinEngineDeps,
  type JoinSettings,
  type LateOutcome,
  type Release,
} from './engine.ts';

export interface JoinStageDeps extends Omit<JoinEngineDeps, 'observer' | 'onSnapshotFailed'> {
  pipeline: string;
  metrics: Metrics;
  logger: Logger;
  /** Why the store cannot be used right now, for readiness. */
  storeProblem?: () => string | undefined;
  closeStore?: () => Promise<void>;
  retryInitialMs?: number;
  /** Limits the late-event warning (default: one line per side and outcome every 10 s). */
  lateLogLimiter?: LogLimiter;
}

export class JoinStage implements Stage {
  readonly name = 'join';
  readonly kind = 'join';
  readonly engine: JoinEngine;
  /** Retries and times the store calls; stopped on close. */
  private readonly calls: StateCalls;
  private readonly timer: NodeJS.Timeout;
  private readonly lateLimiter: LogLimiter;
  /** The farthest behind a late event was since the last warning, per side and outcome. */
  private readonly lateMaxBehind = new Map<string, number>();

  constructor(
    readonly s: JoinSettings,
    private readonly d: JoinStageDeps,
  ) {
    this.calls = new StateCalls(d);
    this.lateLimiter = d.lateLogLimiter ?? new LogLimiter();
    const labels = { pipeline: d.pipeline };
    const { metrics } = d;
    this.engine = new JoinEngine(s, {
      ...d,
      store: this.calls.store(d.store, 'join'),
      onSnapshotFailed: (topic, partition, err) =>
        d.logger.warn(
          { partition: `${topic}/${partition}`, err: describeError(err) },
          'join snapshot failed; the deltas stay and it is tried again later',
        ),
      observer: {
        left: (reason, n) => metrics.joinRecords.inc({ ...labels, side: 'left', reason }, n),
        right: (reason, n) => metrics.joinRecords.inc({ ...labels, side: 'right', reason }, n),
        rows: (reason, n) => metrics.joinRows.inc({ ...labels, reason }, n),
        late: (side, behindMs, outcome) => this.warnLate(side, behindMs, outcome),
      },
    });
    // Pre-create the series users alert on, at 0.
    for (const reason of ['matched', 'unmatched', 'expired', 'late'])
      metrics.joinRecords.labels({ ...labels, side: 'left', reason });
    metrics.joinRecords.labels({ ...labels, side: 'right', reason: 'buffered' });
    metrics.joinRecords.labels({ ...labels, side: 'right', reason: 'late' });
    this.timer = setInterval(
      () => {
        this.engine.tick();
        this.updateGauges();
      },
      Math.max(50, Math.min(1000, s.idleMs / 4)),
    );
    this.timer.unref();
    this.updateGauges();
  }

  /** Its span is the batch trace's `join` stage span (records in, rows out, dropped by reason). */
  async process(batch: Envelope[]): Promise<StageOutput> {
    const out = await this.engine.process(batch);
    this.updateGauges();
    return out;
  }

  checkpoint(): Promise<void> {
    return this.engine.checkpoint();
  }

  /** Rebuilds the partition's state from NATS, in a `join rebuild` span. */
  onAssign(topic: string, partition: number): Promise<void> {
    const started = performance.now();
    return traceRebuild('join', this.d.pipeline, topic, partition, () =>
      this.engine.onAssign(topic, partition),
    ).then(() => {
      const seconds = (performance.now() - started) / 1000;
      this.d.metrics.joinRebuildDuration.observe({ pipeline: this.d.pipeline }, seconds);
      this.d.logger.info(
        {
          partition: `${topic}/${partition}`,
          buffered: this.engine.bufferedRight,
          buffered_bytes: this.engine.bufferedBytes,
          ms: Math.round(seconds * 1000),
        },
        'join state rebuilt',
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
  }

  heldFrom(topic: string, partition: number): string | undefined {
    return this.engine.heldFrom(topic, partition);
  }

  setRelease(topic: string, partition: number, fn: Release): void {
    this.engine.setRelease(topic, partition, fn);
  }

  /** Whether the right buffer is at its bound (the pipeline pauses right partitions). */
  get full(): boolean {
    return this.engine.full;
  }

  /** Which bound the right buffer reached, for the pause's log line. */
  get fullBy(): 'bytes' | 'records' | undefined {
    return this.engine.fullBy;
  }

  get bufferedRight(): number {
    return this.engine.bufferedRight;
  }

  get bufferedBytes(): number {
    return this.engine.bufferedBytes;
  }

  isRight(topic: string): boolean {
    return topic === this.s.rightTopic;
  }

  check(): { ok: boolean; detail?: string } {
    const c = this.engine.check();
    if (!c.ok) return c;
    const problem = this.d.storeProblem?.();
    return problem ? { ok: false, detail: `NATS (join state): ${problem}` } : { ok: true };
  }

  /**
   * One warning per side and outcome per interval (the logger names the pipeline): how far behind
   * the newest event time the latest late event was and the farthest since the previous line.
   */
  private warnLate(side: 'left' | 'right', behindMs: number, outcome: LateOutcome): void {
    const key = `${side}:${outcome}`;
    const max = Math.max(this.lateMaxBehind.get(key) ?? 0, behindMs);
    this.lateMaxBehind.set(key, max);
    const before = this.lateLimiter.take(key);
    if (before === undefined) return;
    this.lateMaxBehind.delete(key);
    this.d.logger.warn(
      {
        side,
        outcome,
        behind_ms: behindMs,
        max_behind_ms: max,
        allowed_lateness_ms: this.s.latenessMs,
        ...(before > 0 ? { suppressed: before } : {}),
      },
      `join: ${side} event later than the allowed lateness (${outcome.replace('_', ' ')}); raise join.allowed_lateness if producers are this far out of order`,
    );
  }

  private updateGauges(): void {
    const { metrics, pipeline } = this.d;
    metrics.joinBufferRecords.set({ pipeline, side: 'right' }, this.engine.bufferedRight);
    metrics.joinBufferRecords.set({ pipeline, side: 'left' }, this.engine.heldLeft);
    metrics.joinBufferBytes.set({ pipeline, side: 'right' }, this.engine.bufferedBytes);
    metrics.joinBufferBytes.set({ pipeline, side: 'left' }, this.engine.heldLeftBytes);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.calls.stop();
    await this.d.closeStore?.();
  }
}

export type { Release };
