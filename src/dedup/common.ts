// What both dedup modes share: the index and its scratch objects, a record's key and time, the
// duplicates side topic, the outcome counters, readiness and closing.
import { RecordError, describeError } from '../core/errors.ts';
import type { DeadLetter, Envelope, StageOutput } from '../core/record.ts';
import { StateCalls } from '../state/keyed/index.ts';
import { LogLimiter } from '../telemetry/log-limit.ts';
import type { Hash64 } from './hash.ts';
import { KeyIndex, type Probe } from './key-index.ts';
import type { DedupDeps, DedupOutcome, DedupSettings, DedupStage } from './stage.ts';

/** Event times further ahead of the agent's clock than this do not move the window. */
export const MAX_FUTURE_MS = 3_600_000;

/** Whole seconds, at least 1 (0 marks an empty index slot). */
export const sec = (ms: number) => Math.max(1, Math.floor(ms / 1000));

/** A batch being judged: its output, its outcome counts and the clock it is judged by. */
export interface BatchRun {
  out: StageOutput;
  counts: Record<DedupOutcome, number>;
  nowMs: number;
  /** Event times (s) past this do not move the window. */
  cap: number;
  /** Arrival time: every record of the batch is at `nowMs`. */
  arrival: boolean;
}

export abstract class DedupBase implements DedupStage {
  readonly name = 'dedup';
  readonly kind = 'dedup';
  readonly index: KeyIndex;
  protected readonly windowSec: number;
  protected readonly hash: Hash64 = { hi: 0, lo: 0 };
  protected readonly probe: Probe = { slot: 0, found: false };
  protected readonly labels: { pipeline: string };
  /** Retries and times the store calls; stopped on close. */
  protected readonly calls: StateCalls;
  /** Stream id → its topic-partition, to name the original of a duplicate. */
  protected readonly streamNames = new Map<number, { topic: string; partition: number }>();
  /** Set when state could not be made durable: nothing may be committed after it. */
  protected broken: Error | undefined;
  private sideTopic: DeadLetter[] = [];
  private readonly lateLimiter = new LogLimiter();
  /** The farthest behind a late record was since the last warning (s). */
  private lateMaxBehind = 0;
  private closing: Promise<void> | undefined;

  constructor(
    protected readonly s: DedupSettings,
    protected readonly d: DedupDeps,
  ) {
    if (!Number.isInteger(s.windowMs / 1000) || s.windowMs < 1000)
      throw new RangeError(`the dedup window must be whole seconds, got ${s.windowMs} ms`);
    this.windowSec = s.windowMs / 1000;
    this.index = new KeyIndex(
      this.windowSec,
      s.timeField === undefined ? 'arrival' : 'event',
      s.mode === 'global',
    );
    this.labels = { pipeline: s.pipeline };
    this.calls = new StateCalls({
      pipeline: s.pipeline,
      metrics: d.metrics,
      logger: d.logger,
      retryInitialMs: d.retryInitialMs,
    });
  }

  abstract onAssign(topic: string, partition: number): Promise<void>;
  abstract onRevoke(topic: string, partition: number): void;
  abstract process(batch: Envelope[]): Promise<StageOutput>;

  /** Makes the accepted keys durable (keyed mode); global mode's claims already are. */
  protected persist(): Promise<void> {
    return Promise.resolve();
  }

  /** Writes still running, which close gives a grace period. */
  protected running(): Promise<unknown>[] {
    return [];
  }

  /** Partitions whose state is being rebuilt. */
  protected loading(): number {
    return 0;
  }

  // ---------------------------------------------------------------- per batch and record

  protected startBatch(): BatchRun {
    const nowMs = this.d.clock.now();
    const arrival = this.s.timeField === undefined;
    if (arrival) this.index.setNow(sec(nowMs));
    return {
      out: { out: [], dropped: [], dead: [] },
      counts: { unique: 0, duplicate: 0, replay: 0, late: 0, no_key: 0 },
      nowMs,
      cap: sec(nowMs + MAX_FUTURE_MS),
      arrival,
    };
  }

  /** Sweeps expired entries (a few slots per record) and counts the outcomes. */
  protected endBatch(run: BatchRun, records: number): StageOutput {
    this.index.sweep(8 * records + 64);
    this.count(run.counts);
    return run.out;
  }

  /** The record's key, null without one, undefined when it failed (the record is dead-lettered). */
  protected keyOf(env: Envelope, out: StageOutput): string | null | undefined {
    try {
      return this.s.keyOf(env.row);
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      out.dead.push({
        source: env.source,
        stage: this.name,
        reason: err.reason,
        detail: err.message,
      });
      return undefined;
    }
  }

  protected eventSec(env: Envelope): number {
    const v = env.row[this.s.timeField!];
    // A null event time (nullable field) falls back to the Kafka record time.
    return sec(typeof v === 'number' && Number.isFinite(v) ? v : env.source.timestamp);
  }

  /**
   * A record more than the window behind its stream's newest time: its duplicates may be
   * forgotten, so it is passed on unremembered (late: keep) or dropped; counted either way, and
   * a rate-limited warning says how far behind it was.
   */
  protected late(env: Envelope, stream: number, t: number, run: BatchRun): void {
    run.counts.late++;
    if (this.s.late === 'drop') run.out.dropped.push({ env, reason: 'late' });
    else run.out.out.push(env);
    const behind = this.index.watermarkOf(stream) - t;
    this.lateMaxBehind = Math.max(this.lateMaxBehind, behind);
    const suppressed = this.lateLimiter.take('late');
    if (suppressed === undefined) return;
    this.d.logger.warn(
      {
        side: `${env.source.topic}/${env.source.partition}`,
        outcome: this.s.late === 'drop' ? 'dropped' : 'kept_unremembered',
        behind_ms: behind * 1000,
        max_behind_ms: this.lateMaxBehind * 1000,
        window_ms: this.s.windowMs,
        ...(suppressed > 0 ? { suppressed } : {}),
      },
      'dedup: record older than the window behind the newest event time of its partition',
    );
    this.lateMaxBehind = 0;
  }

  /** Drops a duplicate of the entry in `slot`, queueing it for the side topic if there is one. */
  protected drop(env: Envelope, slot: number, out: StageOutput): void {
    out.dropped.push({ env, reason: 'duplicate' });
    if (!this.d.duplicates) return;
    const of = this.streamNames.get(this.index.streamOf(slot));
    this.sideTopic.push({
      source: env.source,
      stage: this.name,
      reason: 'duplicate',
      detail: `duplicate of ${of?.topic ?? '?'}/${of?.partition ?? '?'}/${this.index.offsetOf(slot)}`,
    });
  }

  // ---------------------------------------------------------------- durability

  async checkpoint(): Promise<void> {
    if (this.broken) throw this.broken;
    const side = this.sideTopic;
    this.sideTopic = [];
    await Promise.all([
      side.length > 0 && this.d.duplicates ? this.d.duplicates.write(side) : undefined,
      this.persist(),
    ]);
  }

  // ---------------------------------------------------------------- telemetry and lifecycle

  private count(c: Record<DedupOutcome, number>): void {
    for (const outcome of Object.keys(c) as DedupOutcome[])
      if (c[outcome] > 0)
        this.d.metrics.dedupRecords.inc({ ...this.labels, reason: outcome }, c[outcome]);
    this.updateGauges();
  }

  protected updateGauges(): void {
    this.d.metrics.dedupIndexKeys.set(this.labels, this.index.size);
    this.d.metrics.dedupIndexBytes.set(this.labels, this.index.bytes);
  }

  check(): { ok: boolean; reason?: string } {
    if (this.broken)
      return { ok: false, reason: `dedup state failed: ${describeError(this.broken)}` };
    const problem = this.d.storeProblem?.();
    if (problem) return { ok: false, reason: problem };
    const loading = this.loading();
    if (loading > 0)
      return { ok: false, reason: `dedup state of ${loading} partition(s) is being rebuilt` };
    return { ok: true };
  }

  close(graceMs = 10_000): Promise<void> {
    this.closing ??= (async () => {
      // Writes still running get a grace period (a store that is down would retry forever).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(this.running()),
        new Promise((r) => (timer = setTimeout(r, graceMs))),
      ]);
      clearTimeout(timer);
      this.calls.stop();
      await this.d.duplicates?.close().catch(() => undefined);
      await this.d.closeStore?.();
    })();
    return this.closing;
  }
}
