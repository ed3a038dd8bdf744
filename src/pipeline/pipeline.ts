// A pipeline: source → parse → transforms → (dedup, join) → ClickHouse sink, with dead letters,
// ordered acknowledgement, backpressure and graceful stop. The parts are built by assemble.ts;
// the pipeline supervises them: one lane per partition, partitions paused while the sink is
// behind, stateful stages told which partitions come and go, and one way to fail.
import type { Tracer } from '@opentelemetry/api';
import type { PipelineConfig } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import { describeError } from '../core/errors.ts';
import { partitionKey, type Assignment, type PartitionBatch } from '../source/index.ts';
import {
  LedgerConflictError,
  PartitionLedger,
  insertToken,
  ledgerKey,
  type RevisionedStore,
} from '../state/ledger.ts';
import type { Stage } from '../stages/stage.ts';
import { BatchTracer } from '../telemetry/batch-trace.ts';
import { Probe, type HealthChecks } from '../telemetry/health.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { weirTracer } from '../telemetry/tracing.ts';
import { assemble, inspect, type AssemblyDeps, type Parts } from './assemble.ts';
import type { CheckOptions, CheckReport } from './check.ts';
import { PartitionLane } from './lane.ts';
import { pipelineChecks, probeTiming, type PipelineView } from './readiness.ts';
import { openWhenReachable } from './startup.ts';

const noop = () => undefined;

export interface PipelineDeps {
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** Batch traces; default: the global OpenTelemetry tracer. */
  tracer?: Tracer;
  /** Where the pipeline registers its readiness checks (kafka, clickhouse, partitions, progress). */
  health?: HealthChecks;
  /** Pending records without progress for this long make the pipeline not ready. Default 60000. */
  stallTimeoutMs?: number;
  /** How often consumer lag is read from the brokers. Default 5000. */
  lagIntervalMs?: number;
  /** Called once when the pipeline fails for good (the agent then exits non-zero). */
  onFatal: (err: unknown) => void;
}

export type PipelineState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export class Pipeline {
  private current: PipelineState = 'created';
  private parts: Parts | undefined;
  private readonly lanes = new Map<string, PartitionLane>();
  /**
   * Partitions whose ledger another agent wrote before this one heard of the rebalance: their
   * records are not taken until the group's next assignment says who owns them, with a deadline.
   */
  private readonly lost = new Map<
    string,
    { topic: string; partition: number; deadline: ReturnType<typeof setTimeout> }
  >();
  private inFlight = 0;
  /** Key and value bytes of the records in flight (source.max_in_flight_bytes bounds them). */
  private inFlightBytes = 0;
  private lastProgressAt: number;
  private clickhousePing: Probe | undefined;
  private readonly unregister: (() => void)[] = [];
  private readonly log: Logger;
  /** Ends a start that waits for a service (see startup.ts) when the pipeline stops. */
  private readonly startAbort = new AbortController();
  /** Why the start waits, while it does. */
  private waitingFor: string | undefined;

  constructor(
    readonly cfg: PipelineConfig,
    private readonly deps: PipelineDeps,
  ) {
    this.log = deps.logger.child({ pipeline: cfg.name });
    this.lastProgressAt = deps.clock.now();
  }

  get name(): string {
    return this.cfg.name;
  }

  get state(): PipelineState {
    return this.current;
  }

  /** A snapshot of what readiness reads. */
  get status(): PipelineView {
    const source = this.parts?.source.status;
    const sink = this.parts?.sink;
    const { database, table } = this.cfg.sink.clickhouse;
    return {
      state: this.current,
      kafkaConnected: source?.connected ?? false,
      brokerFailures: source?.brokerFailures ?? { inARow: 0, lastError: undefined },
      groupJoined: source?.joined ?? false,
      assignedPartitions: source?.assignedPartitions ?? 0,
      sinkFailing: sink?.failing ?? false,
      sinkPaused: sink?.paused,
      table: sink?.table ?? `${database}.${table}`,
      inFlight: this.inFlight,
      lastProgressAt: this.lastProgressAt,
    };
  }

  private get assembly(): AssemblyDeps {
    const { metrics, clock, lagIntervalMs } = this.deps;
    return { logger: this.log, metrics, clock, lagIntervalMs };
  }

  /**
   * Checks everything a run needs (config, Kafka topics, the ClickHouse table, NATS) without
   * consuming, and reports what is missing. Changes nothing unless `create`: then what is
   * missing is created, as a run would.
   */
  async check(opts: CheckOptions = {}): Promise<CheckReport> {
    const create = opts.create ?? false;
    const missing = await inspect(this.cfg, this.assembly);
    if (create) await this.release(await assemble(this.cfg, this.assembly));
    return { pipeline: this.name, missing, created: create };
  }

  async start(): Promise<void> {
    // Stopped before it started: nothing to do.
    if (this.current !== 'created') return;
    this.current = 'starting';
    const unwatch = this.watchStartup();
    let parts: Parts | undefined;
    try {
      parts = await openWhenReachable(
        (attempt) => assemble(this.cfg, { ...this.assembly, attempt }),
        {
          signal: this.startAbort.signal,
          logger: this.log,
          onWaiting: (why) => (this.waitingFor = why),
          release: (opened) => this.release(opened),
        },
      );
    } finally {
      unwatch();
    }
    // Stopped while waiting for a service.
    if (!parts) return;
    if (this.current !== 'starting') return this.release(parts);
    this.parts = parts;
    this.watchReadiness(parts);
    await parts.source.start({
      onRecords: (batch) => this.onRecords(batch),
      onAssignment: (change) => this.onAssignment(change),
      onPassedOver: (topic, partition, first, last) =>
        this.lanes.get(partitionKey(topic, partition))?.passOver(first, last),
      onFatal: (err) => this.fail(err),
    });
    if (this.current !== 'starting') return;
    this.current = 'running';
    this.deps.metrics.pipelineUp.set({ pipeline: this.name }, 1);
    const { topics, group_id: group } = this.cfg.source;
    this.log.info({ topics, group }, 'pipeline running');
  }

  /** Until the parts are open, readiness says the pipeline is starting, and what it waits for. */
  private watchStartup(): () => void {
    const starting = () => ({
      ok: false,
      reason: this.waitingFor ?? 'starting: connecting to Kafka, ClickHouse and NATS',
    });
    return this.deps.health?.register({ pipeline: this.name, check: 'startup' }, starting) ?? noop;
  }

  /** Registers the readiness checks and pre-creates every stage's counters (at 0). */
  private watchReadiness(parts: Parts): void {
    const { metrics, health, clock } = this.deps;
    const stages = [...parts.stages, ...parts.rightStages].map((s) => s.name).concat('sink');
    for (const stage of stages) {
      const labels = { pipeline: this.name, stage };
      metrics.stageReceived.labels(labels);
      metrics.stageEmitted.labels(labels);
    }
    if (!health) return;
    const stallTimeoutMs = this.deps.stallTimeoutMs ?? 60_000;
    const { sink, dedup, join, aggregate } = parts;
    const ping = new Probe('ClickHouse ping', (signal) => sink.probe(signal), {
      ...probeTiming(stallTimeoutMs),
      clock,
    });
    this.clickhousePing = ping;
    ping.start();
    const checks = pipelineChecks(
      () => this.status,
      () => ping.result,
      clock,
      stallTimeoutMs,
    );
    const register = (check: string, fn: Parameters<HealthChecks['register']>[1]) =>
      this.unregister.push(health.register({ pipeline: this.name, check }, fn));
    for (const [check, fn] of Object.entries(checks)) register(check, fn);
    if (dedup) {
      register('nats', () => dedup.check());
      register('dedup_keys', () => dedup.capCheck());
    }
    if (join) register('join_state', () => join.check());
    if (aggregate) register('aggregate_state', () => aggregate.check());
    for (const l of parts.lookups) register(`lookup:${l.name}`, () => l.check());
  }

  private stagesOf(topic: string): Stage[] {
    const parts = this.parts!;
    return parts.join?.isRight(topic) ? parts.rightStages : parts.stages;
  }

  private async onRecords(batch: PartitionBatch): Promise<void> {
    const { topic, partition } = batch;
    // Not acknowledged, not committed: the partition's owner reads these records again.
    if (this.lost.has(partitionKey(topic, partition))) return;
    let lane: PartitionLane;
    try {
      lane =
        this.lanes.get(partitionKey(topic, partition)) ??
        (await this.openLane(topic, partition, batch.logEnd));
      await lane.accept(batch.records);
      lane.passOver(batch.records.at(-1)!.offset, batch.lastOffset); // markers after the records
    } catch (err) {
      // Records may have entered the lane: the process must not go on past them. Stopping
      // uncommitted means they are replayed on restart; nothing is lost.
      this.fail(err);
      throw err;
    }
    this.reportInFlight();
    const join = this.parts!.join;
    if (join?.isRight(topic)) {
      // Right events settle as soon as they are buffered, and held left events wait for them: a
      // right partition is paused only when the join's buffer is full.
      const bound = join.fullBy;
      if (bound && lane.pause()) {
        // Normal while the right topic runs ahead of the left; a problem only when the windows
        // need more than the bound (the pipeline then stalls: a paused partition is not idle, so
        // no window is closed early), hence the fix in the line.
        const { max_buffer_records, max_buffer_bytes } = this.cfg.join!;
        this.log.warn(
          {
            partition: lane.key,
            buffered_records: join.bufferedRight,
            buffered_bytes: join.bufferedBytes,
            max_buffer_records,
            max_buffer_bytes,
          },
          `join buffer full at max_buffer_${bound}: pausing the right partition until windows close; if the pipeline stalls here, the windows need more: raise join.max_buffer_${bound}${bound === 'bytes' ? ' (and the memory limit with it)' : ''} or narrow join.within`,
        );
        this.updatePaused();
      }
      return;
    }
    if (this.overInFlightLimit() && lane.pause()) {
      // Backpressure: stop fetching this partition until the sink catches up; what is buffered
      // is flushed now so the pause always ends.
      lane.seal();
      this.updatePaused();
    }
  }

  private async openLane(topic: string, partition: number, logEnd: string): Promise<PartitionLane> {
    const { sink, source, deadLetters, ledger: ledgerHandle } = this.parts!;
    const { metrics, clock, tracer } = this.deps;
    const pipeline = this.name;
    const table = sink.table;
    const ledger =
      ledgerHandle &&
      (await loadLedger(
        ledgerHandle.store,
        { pipeline, table, topic, partition },
        logEnd,
        this.log,
      ));
    const replayMemo = ledger?.current.pending ? await ledger.pendingMemo() : undefined;
    const lane = new PartitionLane({
      ledger,
      replayMemo,
      tokenFor: (from, to) => insertToken(pipeline, table, topic, partition, from, to),
      pipeline,
      topic,
      partition,
      stages: this.stagesOf(topic),
      sink,
      deadLetters,
      commit: (t, p, offset) => source.commit(t, p, offset),
      limits: this.cfg.sink.clickhouse.batch,
      metrics,
      logger: this.log,
      clock,
      tracer: new BatchTracer(tracer ?? weirTracer(), { pipeline, topic, partition, table }),
      eventTimeField: this.cfg.event_time_field,
      onAccepted: (n, bytes) => {
        this.inFlight += n;
        this.inFlightBytes += bytes;
      },
      onSettled: (n, bytes) => this.settled(n, bytes),
      onFatal: (err) => this.fail(err),
      onLost: (err) => this.onLost(lane, err),
      pauseFetch: () => source.pause(topic, partition),
      resumeFetch: () => source.resume(topic, partition),
    });
    this.lanes.set(lane.key, lane);
    return lane;
  }

  /** Backpressure: more records or more bytes in flight than the source allows. */
  private overInFlightLimit(): boolean {
    const { max_in_flight_records, max_in_flight_bytes } = this.cfg.source;
    return this.inFlight >= max_in_flight_records || this.inFlightBytes >= max_in_flight_bytes;
  }

  private reportInFlight(): void {
    const labels = { pipeline: this.name };
    this.deps.metrics.inFlightRecords.set(labels, this.inFlight);
    this.deps.metrics.inFlightBytes.set(labels, this.inFlightBytes);
  }

  private settled(records: number, bytes: number): void {
    this.inFlight = Math.max(0, this.inFlight - records);
    this.inFlightBytes = Math.max(0, this.inFlightBytes - bytes);
    this.lastProgressAt = this.deps.clock.now();
    this.reportInFlight();
    if (this.current !== 'running') return;
    const join = this.parts?.join;
    // Paused partitions resume at half of both limits, so a pause lasts more than one batch.
    const { max_in_flight_records, max_in_flight_bytes } = this.cfg.source;
    const roomInFlight =
      this.inFlight <= max_in_flight_records / 2 && this.inFlightBytes <= max_in_flight_bytes / 2;
    // A join's right partitions wait for room in its buffer; the others for room in flight.
    const toResume = [...this.lanes.values()].filter(
      (l) => l.isPaused && (join?.isRight(l.topic) ? !join.full : roomInFlight),
    );
    for (const lane of toResume) lane.resume();
    if (toResume.length > 0) this.updatePaused();
  }

  private updatePaused(): void {
    const n = [...this.lanes.values()].filter((l) => l.isPaused).length;
    this.deps.metrics.pausedPartitions.set({ pipeline: this.name }, n);
  }

  /**
   * The lane's ledger was written by another agent: the partition went to that agent in a
   * rebalance this one has not been told of yet (its commits would be refused too). Its unflushed
   * batches are abandoned, uncommitted, like on revocation, and fetching it stops until the next
   * assignment. If none comes in time, the conflict is a failure (a restart reads from the
   * committed offsets).
   */
  private onLost(lane: PartitionLane, err: LedgerConflictError): void {
    const { key, topic, partition } = lane;
    if (this.lanes.get(key) !== lane || this.current !== 'running') return this.fail(err);
    lane.discard();
    this.lanes.delete(key);
    this.parts!.source.pause(topic, partition);
    for (const stage of this.stagesOf(topic)) stage.onRevoke?.(topic, partition);
    const waitMs = this.cfg.source.session_timeout_ms * 3;
    const deadline = setTimeout(() => {
      this.lost.delete(key);
      this.fail(
        new LedgerConflictError(
          `${err.message}, and no rebalance took it from this agent within ${waitMs} ms`,
          {
            cause: err,
            hint: 'two agents of the same consumer group both consume this partition: check that every agent of this pipeline uses the same source.group_id and one Kafka cluster; a restart reads from the committed offsets',
          },
        ),
      );
    }, waitMs);
    deadline.unref();
    this.lost.set(key, { topic, partition, deadline });
    this.updatePaused();
    this.log.warn(
      { partition: key, err: describeError(err), cause: describeError(err.cause) },
      'another agent now writes this partition (a rebalance this agent has not been told of yet): its unflushed batches are left uncommitted for the new owner, and fetching it stops until the group assigns partitions again',
    );
  }

  private onAssignment(change: Assignment): void {
    // Partitions lost to another agent: still owned after the rebalance means owned again, from
    // the committed offset (the group re-reads it) with the stages' state loaded afresh.
    const again = [...this.lost].filter(([key]) => change.owned.has(key));
    for (const { deadline } of this.lost.values()) clearTimeout(deadline);
    this.lost.clear();
    for (const [key, lane] of this.lanes) {
      if (change.owned.has(key)) continue;
      lane.discard();
      this.lanes.delete(key);
      this.log.info({ partition: key }, 'partition revoked');
    }
    // Stateful stages load a partition's state on assignment (their process waits for it) and
    // drop it on revocation.
    for (const { topic, partition } of change.revoked)
      for (const stage of this.stagesOf(topic)) stage.onRevoke?.(topic, partition);
    const added = [...change.added];
    for (const [key, { topic, partition }] of again) {
      this.parts?.source.resume(topic, partition);
      if (!added.some((a) => partitionKey(a.topic, a.partition) === key))
        added.push({ topic, partition });
    }
    for (const { topic, partition } of added)
      for (const stage of this.stagesOf(topic))
        stage.onAssign?.(topic, partition).catch((err: unknown) => {
          if (this.current === 'running') this.fail(err);
        });
  }

  private fail(err: unknown): void {
    if (this.current === 'failed' || this.current === 'stopped') return;
    this.current = 'failed';
    this.deps.metrics.pipelineUp.set({ pipeline: this.name }, 0);
    this.log.error({ err: describeError(err) }, 'pipeline failed');
    this.deps.onFatal(err);
  }

  /** Stops fetching, flushes and commits what was taken, then disconnects (within the deadline). */
  async stop(deadlineMs: number): Promise<boolean> {
    if (this.current === 'stopped') return true;
    const wasFailed = this.current === 'failed';
    this.current = 'stopping';
    this.startAbort.abort();
    for (const { deadline } of this.lost.values()) clearTimeout(deadline);
    this.lost.clear();
    const parts = this.parts;
    // Fetch nothing more; the partitions stay owned (needed to commit) while the lanes drain.
    parts?.source.stopFetching();
    let drained = wasFailed;
    if (!wasFailed) {
      const drainAll = Promise.all([...this.lanes.values()].map((l) => l.drain()));
      drained = await Promise.race([
        drainAll.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), deadlineMs).unref()),
      ]);
    }
    if (!drained)
      this.log.warn('could not flush everything before the deadline; the rest will be replayed');
    this.clickhousePing?.stop();
    for (const remove of this.unregister.splice(0)) remove();
    if (parts) await this.release(parts);
    this.current = wasFailed ? 'failed' : 'stopped';
    this.deps.metrics.pipelineUp.set({ pipeline: this.name }, 0);
    return drained;
  }

  /** Everything flushed is committed, so the state it depends on is durable: release it all. */
  private async release(parts: Parts): Promise<void> {
    const warn = (what: string) => (err: unknown) =>
      this.log.warn({ err: describeError(err) }, `${what} failed`);
    for (const l of parts.lookups) await l.close().catch(warn(`lookup ${l.name} close`));
    await parts.dedup?.close().catch(warn('dedup close'));
    await parts.join?.close().catch(warn('join close'));
    await parts.aggregate?.close().catch(warn('aggregate close'));
    await parts.ledger?.close();
    await parts.sink.close();
    await parts.source.close();
    await parts.deadLetters.close().catch(() => undefined);
  }
}

/**
 * Loads a partition's batch ledger. The high-water mark's record must still be in the log; if the
 * log ends before it, the topic was deleted and created again, and the ledger describes the old one.
 */
async function loadLedger(
  store: RevisionedStore,
  at: { pipeline: string; table: string; topic: string; partition: number },
  logEnd: string,
  log: Logger,
): Promise<PartitionLedger> {
  const ledger = new PartitionLedger(
    store,
    ledgerKey(at.pipeline, at.table, at.topic, at.partition),
  );
  // Claimed, not only read: an agent that owned the partition before may still be finishing a
  // batch; from here on its writes are refused, so the entry read is the one this lane goes on.
  let entry = await ledger.claim();
  const key = partitionKey(at.topic, at.partition);
  if (entry.hw !== '-1' && BigInt(entry.hw) >= BigInt(logEnd)) {
    log.warn(
      { partition: key, ledger_hw: entry.hw, log_end: logEnd },
      'the batch ledger is ahead of the topic (was it re-created?); starting the partition afresh',
    );
    await ledger.reset();
    entry = ledger.current;
  }
  if (entry.pending || entry.hw !== '-1')
    log.info(
      {
        partition: key,
        hw: entry.hw,
        // The memo holds looked-up values: not for the log.
        pending: entry.pending && {
          from: entry.pending.from,
          to: entry.pending.to,
          token: entry.pending.token,
          deadLettersWritten: entry.pending.deadLettersWritten,
        },
      },
      'batch ledger loaded',
    );
  return ledger;
}
