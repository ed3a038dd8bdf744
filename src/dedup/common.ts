// What both dedup modes share: the index and its scratch objects, a record's key and time, the
// duplicates side topic, the outcome counters, the key cap, readiness and closing.
//
// The key cap (dedup.max_keys) bounds the index's memory. Forgetting keys early would let
// duplicates through, so at the cap a batch waits instead, before any of it is judged: its records
// stay unacknowledged in Kafka, nothing more is fetched while it waits, and nothing is lost or
// judged twice. It resumes once expiries bring the keys below 90 % of the cap (not at once below
// it, so a pipeline at its cap does not flap batch by batch). With arrival time, time passing
// expires keys; with event time only newer events do, and those wait too: such a hold lasts until
// a restart with a larger cap, which the log line and readiness say.
import { setTimeout as sleep } from 'node:timers/promises';
import { RecordError, describeError } from '../core/errors.ts';
import type { DeadLetter, Envelope, StageOutput } from '../core/record.ts';
import { StateCalls } from '../state/keyed/index.ts';
import { LogLimiter } from '../telemetry/log-limit.ts';
import type { Hash64 } from './hash.ts';
import { KeyIndex, type Probe } from './key-index.ts';
import type { DedupDeps, DedupOutcome, DedupSettings, DedupStage } from './stage.ts';

/** Event times further ahead of the agent's clock than this do not move the window. */
export const MAX_FUTURE_MS = 3_600_000;

/** A hold at the key cap resumes below this fraction of dedup.max_keys. */
const RESUME_BELOW = 0.9;

/** How often a hold at the key cap looks again, and the least time between two full sweeps. */
const CAP_CHECK_MS = 1000;

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
  /** Set while batches wait for keys to expire (dedup.max_keys reached); every batch waits on it. */
  private held: Promise<void> | undefined;
  private heldSince = 0;
  /** When the whole index was last swept for expired keys (clock ms). */
  private sweptAt = -Infinity;
  /** Ends a hold when the stage is closed. */
  private readonly closed = new AbortController();

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
    if (s.maxKeys !== undefined) {
      d.metrics.dedupIndexMaxKeys.set(this.labels, s.maxKeys);
      // At 0 from the start, so an alert sees the series before the first pause.
      d.metrics.pipelinePaused.set({ ...this.labels, reason: 'dedup_keys' }, 0);
    }
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

  // ---------------------------------------------------------------- key cap

  /** Resolves at once below dedup.max_keys; at the cap, once keys have expired (see the top). */
  protected async belowCap(): Promise<void> {
    const max = this.s.maxKeys;
    if (max === undefined || this.liveKeys(max) < max) return;
    this.held ??= this.holdUntil(Math.floor(max * RESUME_BELOW)).finally(
      () => (this.held = undefined),
    );
    await this.held;
  }

  /**
   * The keys held, counted exactly once `size` reaches `atLeast`: `size` also counts expired
   * entries the incremental sweep has not reached yet, so they are swept first (a pass over the
   * whole table, hence at most once per CAP_CHECK_MS).
   */
  private liveKeys(atLeast: number): number {
    const now = this.d.clock.now();
    if (this.index.size >= atLeast && now - this.sweptAt >= CAP_CHECK_MS) {
      this.sweptAt = now;
      // No batch moves arrival time while records are held: time passing is what expires keys.
      if (this.s.timeField === undefined) this.index.setNow(sec(now));
      this.index.sweepAll();
      this.updateGauges();
    }
    return this.index.size;
  }

  private async holdUntil(resumeAt: number): Promise<void> {
    this.pauseAtCap();
    try {
      while (this.liveKeys(resumeAt) >= resumeAt) {
        this.d.keepAlive?.();
        await sleep(this.d.capCheckMs ?? CAP_CHECK_MS, undefined, { signal: this.closed.signal });
      }
    } catch (err) {
      if (!this.closed.signal.aborted) throw err;
      throw new Error(
        'dedup was closed while holding records at dedup.max_keys; they are read again on restart',
        { cause: err },
      );
    } finally {
      this.d.metrics.pipelinePaused.set({ ...this.labels, reason: 'dedup_keys' }, 0);
    }
    this.d.logger.info(
      {
        reason: 'dedup_keys',
        keys_held: this.index.size,
        max_keys: this.s.maxKeys,
        paused_ms: this.d.clock.now() - this.heldSince,
      },
      'pipeline resumes: dedup keys expired below 90 % of dedup.max_keys',
    );
  }

  private pauseAtCap(): void {
    this.heldSince = this.d.clock.now();
    this.d.metrics.pipelinePaused.set({ ...this.labels, reason: 'dedup_keys' }, 1);
    this.d.logger.error(
      {
        reason: 'dedup_keys',
        keys_held: this.index.size,
        max_keys: this.s.maxKeys,
        window_ms: this.s.windowMs,
        time: this.s.timeField === undefined ? 'arrival' : 'event',
        hint: this.capHint(),
      },
      `pipeline paused: the dedup index holds ${this.index.size} keys, at its cap dedup.max_keys = ${this.s.maxKeys}; records wait unacknowledged until keys expire`,
    );
  }

  private capHint(): string {
    const fix = 'raise dedup.max_keys (about 32 bytes per key) or shorten dedup.window';
    return this.s.timeField === undefined
      ? `${fix}; keys expire as time passes and the pipeline resumes by itself below 90 % of the cap`
      : `${fix}, and restart: with event time keys expire only when newer events move a partition's time, and those are held too, so the pipeline may stay paused until restarted with a larger cap`;
  }

  capCheck(): { ok: boolean; reason?: string } {
    if (!this.held) return { ok: true };
    return {
      ok: false,
      reason: `paused: the dedup index holds ${this.index.size} keys, at dedup.max_keys = ${this.s.maxKeys} (fix: ${this.capHint()})`,
    };
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
      this.closed.abort();
      this.calls.stop();
      await this.d.duplicates?.close().catch(() => undefined);
      await this.d.closeStore?.();
    })();
    return this.closing;
  }
}
