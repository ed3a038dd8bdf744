// A pipeline: Kafka source → parse → transforms → ClickHouse sink, with dead letters, ordered
// acknowledgement, backpressure and graceful stop.
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Clock } from '../core/clock.ts';
import { ConfigError, ConnectionError, WeirError, describeError } from '../core/errors.ts';
import type { FieldInfo } from '../core/fields.ts';
import type { SourceRecord } from '../core/record.ts';
import { KafkaDeadLetterSink, type DeadLetterSink } from '../deadletter/writer.ts';
import { ClickHouseSink } from '../sink/clickhouse/sink.ts';
import { createKafka, explainKafkaError } from '../source/kafka-client.ts';
import { LagMonitor } from '../source/lag.ts';
import { openDedup, type DedupStage } from '../dedup/index.ts';
import { openJoin } from '../join/open.ts';
import type { JoinStage } from '../join/stage.ts';
import { CoPartitionedAssigner, checkCoPartitioned } from '../source/copartition.ts';
import { assessExactlyOnce } from '../sink/clickhouse/exactly-once.ts';
import { PartitionLedger, insertToken, ledgerKey } from '../state/ledger.ts';
import { NatsLedgerStore } from '../state/ledger-nats.ts';
import { connectNats, ensureBucket, type NatsHandle } from '../state/nats.ts';
import { createParser } from '../stages/parse.ts';
import { buildTransforms, schemaFields } from '../stages/index.ts';
import type { Stage } from '../stages/stage.ts';
import type { Tracer } from '@opentelemetry/api';
import { BatchTracer } from '../telemetry/batch-trace.ts';
import { Probe, type HealthChecks } from '../telemetry/health.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { weirTracer } from '../telemetry/tracing.ts';
import { PartitionLane } from './lane.ts';
import { pipelineChecks, probeTiming } from './readiness.ts';
import type { PipelineConfig } from '../config/schema.ts';
import { outputFields, sinkFields } from '../config/schema.ts';

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
  state: PipelineState = 'created';
  private kafka!: Kafka;
  private consumer: Consumer | undefined;
  private sink: ClickHouseSink | undefined;
  private deadLetters: DeadLetterSink | undefined;
  private lag: LagMonitor | undefined;
  private stages: Stage[] = [];
  private fields: FieldInfo[] = [];
  private readonly lanes = new Map<string, PartitionLane>();
  private inFlight = 0;
  private readonly log: Logger;
  lastProgressAt: number;
  groupJoined = false;
  kafkaConnected = false;
  private assigned = 0;
  private clickhousePing: Probe | undefined;
  private readonly unregister: (() => void)[] = [];
  private dedup: DedupStage | undefined;
  private join: JoinStage | undefined;
  /** The chain of the join's right topic: its own parse, then the join. */
  private rightStages: Stage[] = [];
  private ledgerStore: NatsLedgerStore | undefined;
  private ledgerNats: NatsHandle | undefined;
  /** Partitions assigned now, to tell stateful stages which ones come and go. */
  private readonly owned = new Set<string>();

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

  /** Checks everything a run needs (config, Kafka, topics, ClickHouse table) without consuming. */
  async check(): Promise<void> {
    this.stages = [
      createParser(this.cfg.schema.fields),
      ...buildTransforms(this.cfg.transforms, schemaFields(this.cfg.schema.fields)),
    ];
    const leftFields = outputFields(this.cfg);
    this.fields = sinkFields(this.cfg);
    this.kafka = createKafka(this.cfg.source, this.log);
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const join = this.cfg.join;
      const missing = [...this.cfg.source.topics, ...(join ? [join.right.topic] : [])].filter(
        (t) => !existing.has(t),
      );
      if (missing.length > 0)
        throw new ConfigError(
          `pipeline ${this.name}: topic(s) ${missing.join(', ')} do not exist on ${this.cfg.source.brokers.join(',')}`,
          { hint: 'create the topics or fix source.topics (and join.right.topic)' },
        );
      if (join) await checkCoPartitioned(admin, this.cfg.source.topics, join.right.topic);
      // The side topics Weir writes to are created when missing (one partition for dead letters).
      const sideTopics = [
        { topic: this.cfg.dead_letter.topic, numPartitions: 1, what: 'dead-letter' },
        ...(this.cfg.dedup?.duplicates_topic
          ? [{ topic: this.cfg.dedup.duplicates_topic, numPartitions: -1, what: 'duplicates' }]
          : []),
      ];
      for (const { topic, numPartitions, what } of sideTopics) {
        if (existing.has(topic)) continue;
        await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
        this.log.info({ topic }, `created the ${what} topic`);
      }
    } catch (err) {
      if (err instanceof WeirError) throw err;
      throw explainKafkaError(err, this.cfg.source);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    this.sink = await ClickHouseSink.open(this.cfg.sink.clickhouse, this.fields, {
      pipeline: this.name,
      logger: this.log,
      metrics: this.deps.metrics,
    });
    this.log.info(
      { table: this.sink.table, clickhouse: this.sink.server.version },
      'ClickHouse table checked',
    );
    if (this.cfg.dedup && !this.dedup) {
      this.dedup = await openDedup(this.cfg.dedup, {
        pipeline: this.name,
        fields: this.fields,
        kafka: this.kafka,
        duplicatesCompression: this.cfg.dead_letter.compression,
        logger: this.log,
        metrics: this.deps.metrics,
        clock: this.deps.clock,
      });
      this.stages.push(this.dedup);
    }
    if (this.cfg.join && !this.join) {
      this.join = await openJoin(this.cfg.join, {
        pipeline: this.name,
        leftTopic: this.cfg.source.topics[0]!,
        fields: leftFields,
        logger: this.log,
        metrics: this.deps.metrics,
        clock: this.deps.clock,
      });
      this.stages.push(this.join);
      this.rightStages = [createParser(this.cfg.join.right.schema.fields, 'join.parse'), this.join];
    }
    await this.openLedger();
  }

  /** Decides exactly-once or at-least-once for this pipeline, and opens the batch ledger. */
  private async openLedger(): Promise<void> {
    const sink = this.sink!;
    const eo = this.cfg.sink.clickhouse.exactly_once;
    const labels = { pipeline: this.name, table: sink.table };
    if (eo.mode === 'off') {
      this.deps.metrics.exactlyOnce.set(labels, 0);
      this.log.info({ table: sink.table }, 'exactly-once is off: at-least-once delivery');
      return;
    }
    const assessment = assessExactlyOnce(sink.server, await sink.tableEngine());
    let problem = assessment.ok
      ? undefined
      : `${assessment.reason} (fix: ${assessment.fix ?? '?'})`;
    if (!problem && !this.ledgerStore) {
      try {
        this.ledgerNats = await connectNats(
          eo.nats,
          `weir-${this.name}-ledger`,
          this.log,
          'sink.clickhouse.exactly_once.nats',
        );
        const bucket = await ensureBucket(this.ledgerNats.nc, eo.nats.bucket, {
          maxAgeMs: 0,
          replicas: 1,
          maxValueBytes: 4096,
          description:
            'Weir batch ledger: per partition, the batch in flight and the high-water mark',
        });
        this.ledgerStore = new NatsLedgerStore(bucket.kv, {
          pipeline: this.name,
          metrics: this.deps.metrics,
          logger: this.log,
        });
      } catch (err) {
        problem = `the batch ledger in NATS (${eo.nats.servers.join(',')}) is not available: ${describeError(err)}`;
      }
    }
    if (problem) {
      if (eo.mode === 'required')
        throw new ConfigError(`exactly-once cannot hold for ${sink.table}: ${problem}`, {
          hint: 'fix that, or set sink.clickhouse.exactly_once to preferred or off to run at-least-once',
        });
      this.deps.metrics.exactlyOnce.set(labels, 0);
      this.log.warn(
        { table: sink.table, why: problem },
        'exactly-once cannot hold: running at-least-once',
      );
      return;
    }
    this.deps.metrics.exactlyOnce.set(labels, 1);
    this.log.info({ table: sink.table, how: assessment.reason }, 'exactly-once delivery');
  }

  async start(): Promise<void> {
    this.state = 'starting';
    if (!this.sink) await this.check();
    const { metrics } = this.deps;
    this.deadLetters = new KafkaDeadLetterSink(this.kafka, this.cfg.dead_letter.topic, this.name, {
      compression: this.cfg.dead_letter.compression,
      metrics,
    });
    const src = this.cfg.source;
    const consumer = this.kafka.consumer({
      groupId: src.group_id,
      sessionTimeout: src.session_timeout_ms,
      heartbeatInterval: Math.max(1000, Math.floor(src.session_timeout_ms / 10)),
      maxBytesPerPartition: src.max_bytes_per_partition,
      maxBytes: src.max_bytes_per_partition * 8,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
      // A join keeps state per partition pair: partition p of both topics in the same agent.
      ...(this.join ? { partitionAssigners: [CoPartitionedAssigner] } : {}),
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CONNECT, () => (this.kafkaConnected = true));
    consumer.on(consumer.events.DISCONNECT, () => (this.kafkaConnected = false));
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.onAssignment(e.payload.memberAssignment));
    // A fetch of only aborted records and transaction markers never reaches eachBatch.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload: b }) => {
      if (b.batchSize === 0 && b.firstOffset !== null)
        this.lanes.get(`${b.topic}/${b.partition}`)?.passOver(b.firstOffset, b.lastOffset);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const err = e.payload.error;
      this.log.error(
        { err: describeError(err), restart: e.payload.restart },
        'Kafka consumer crashed',
      );
      if (!e.payload.restart) this.fail(explainKafkaError(err, src));
    });
    try {
      await consumer.connect();
      for (const topic of this.topics)
        await consumer.subscribe({ topic, fromBeginning: src.start_from === 'earliest' });
    } catch (err) {
      throw explainKafkaError(err, src);
    }
    this.lag = new LagMonitor(
      this.kafka,
      src.group_id,
      this.topics,
      this.name,
      metrics,
      this.log,
      this.deps.lagIntervalMs,
    );
    this.lag.start();
    this.watchReadiness();
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.state = 'running';
    metrics.pipelineUp.set({ pipeline: this.name }, 1);
    this.log.info({ topics: src.topics, group: src.group_id }, 'pipeline running');
  }

  /** Registers the readiness checks and pre-creates every stage's counters (at 0). */
  private watchReadiness(): void {
    const { metrics, health, clock } = this.deps;
    for (const stage of [...this.stages, ...this.rightStages].map((s) => s.name).concat('sink')) {
      const labels = { pipeline: this.name, stage };
      metrics.stageReceived.labels(labels);
      metrics.stageEmitted.labels(labels);
    }
    if (!health) return;
    const stallTimeoutMs = this.deps.stallTimeoutMs ?? 60_000;
    const sink = this.sink!;
    this.clickhousePing = new Probe('ClickHouse ping', (signal) => sink.probe(signal), {
      ...probeTiming(stallTimeoutMs),
      clock,
    });
    this.clickhousePing.start();
    const ping = this.clickhousePing;
    const view = () => ({
      state: this.state,
      kafkaConnected: this.kafkaConnected,
      brokerFailures: { inARow: this.lag?.failuresInARow ?? 0, lastError: this.lag?.lastError },
      groupJoined: this.groupJoined,
      assignedPartitions: this.assigned,
      sinkFailing: sink.failing,
      table: sink.table,
      inFlight: this.inFlight,
      lastProgressAt: this.lastProgressAt,
    });
    const checks = pipelineChecks(view, () => ping.result, clock, stallTimeoutMs);
    for (const [check, fn] of Object.entries(checks))
      this.unregister.push(health.register({ pipeline: this.name, check }, fn));
    const dedup = this.dedup;
    if (dedup)
      this.unregister.push(
        health.register({ pipeline: this.name, check: 'nats' }, () => dedup.check()),
      );
    const join = this.join;
    if (join)
      this.unregister.push(
        health.register({ pipeline: this.name, check: 'join_state' }, () => join.check()),
      );
  }

  /** Every topic the consumer reads: the source topics and the join's right topic. */
  private get topics(): string[] {
    const right = this.cfg.join?.right.topic;
    return right ? [...this.cfg.source.topics, right] : this.cfg.source.topics;
  }

  private stagesOf(topic: string): Stage[] {
    return this.join?.isRight(topic) ? this.rightStages : this.stages;
  }

  private async laneFor(
    topic: string,
    partition: number,
    highWatermark: string,
  ): Promise<PartitionLane> {
    const key = `${topic}/${partition}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      let ledger: PartitionLedger | undefined;
      if (this.ledgerStore) {
        const table = this.sink!.table;
        ledger = new PartitionLedger(
          this.ledgerStore,
          ledgerKey(this.name, table, topic, partition),
        );
        let entry = await ledger.load();
        // The high-water mark's record must still be in the log; if the log ends before it, the
        // topic was deleted and created again, and the ledger describes the old one.
        if (entry.hw !== '-1' && BigInt(entry.hw) >= BigInt(highWatermark)) {
          this.log.warn(
            { partition: key, ledger_hw: entry.hw, log_end: highWatermark },
            'the batch ledger is ahead of the topic (was it re-created?); starting the partition afresh',
          );
          await ledger.reset();
          entry = ledger.current;
        }
        if (entry.pending || entry.hw !== '-1')
          this.log.info(
            { partition: key, hw: entry.hw, pending: entry.pending },
            'batch ledger loaded',
          );
      }
      const table = this.sink!.table;
      lane = new PartitionLane({
        ledger,
        tokenFor: (from, to) => insertToken(this.name, table, topic, partition, from, to),
        pipeline: this.name,
        topic,
        partition,
        stages: this.stagesOf(topic),
        sink: this.sink!,
        deadLetters: this.deadLetters!,
        commit: (t, p, offset) => this.commit(t, p, offset),
        limits: this.cfg.sink.clickhouse.batch,
        metrics: this.deps.metrics,
        logger: this.log,
        clock: this.deps.clock,
        tracer: new BatchTracer(this.deps.tracer ?? weirTracer(), {
          pipeline: this.name,
          topic,
          partition,
          table: this.sink?.table,
        }),
        eventTimeField: this.cfg.event_time_field,
        onAccepted: (n) => {
          this.inFlight += n;
        },
        onSettled: (n) => this.settled(n),
        onFatal: (err) => this.fail(err),
      });
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
    const { topic, partition } = batch;
    const records = batch.messages.map((m) => toSourceRecord(topic, partition, m));
    const { metrics } = this.deps;
    metrics.recordsConsumed.inc({ pipeline: this.name, topic }, records.length);
    let bytes = 0;
    for (const r of records) bytes += r.value?.length ?? 0;
    metrics.bytesConsumed.inc({ pipeline: this.name, topic }, bytes);
    let lane: PartitionLane;
    try {
      lane = await this.laneFor(topic, partition, batch.highWatermark);
      await lane.accept(records);
      lane.passOver(records.at(-1)!.offset, batch.lastOffset()); // markers after the records
    } catch (err) {
      // Records may have entered the lane: the process must not go on past them. Stopping
      // uncommitted means they are replayed on restart; nothing is lost.
      this.fail(err);
      throw err;
    }
    metrics.inFlightRecords.set({ pipeline: this.name }, this.inFlight);
    if (this.join?.isRight(topic)) {
      // Right events settle as soon as they are buffered, and held left events wait for them: a
      // right partition is paused only when the join's buffer is full.
      if (this.join.full && !lane.paused) {
        payload.pause();
        lane.paused = true;
        this.log.warn(
          { partition: lane.key, max_buffer_records: this.cfg.join!.max_buffer_records },
          'join buffer full: pausing the right partition until windows close',
        );
        this.updatePaused();
      }
      return;
    }
    if (this.inFlight >= this.cfg.source.max_in_flight_records && !lane.paused) {
      // Backpressure: stop fetching this partition until the sink catches up; what is buffered
      // is flushed now so the pause always ends.
      payload.pause();
      lane.paused = true;
      lane.seal();
      this.updatePaused();
    }
  }

  private settled(records: number): void {
    this.inFlight = Math.max(0, this.inFlight - records);
    this.lastProgressAt = this.deps.clock.now();
    this.deps.metrics.inFlightRecords.set({ pipeline: this.name }, this.inFlight);
    if (!this.consumer || this.state !== 'running') return;
    const join = this.join;
    const roomInFlight = this.inFlight <= this.cfg.source.max_in_flight_records / 2;
    // A join's right partitions wait for room in its buffer; the others for room in flight.
    const toResume = [...this.lanes.values()].filter(
      (l) => l.paused && (join?.isRight(l.topic) ? !join.full : roomInFlight),
    );
    for (const lane of toResume) {
      lane.paused = false;
      this.consumer.resume([{ topic: lane.topic, partitions: [lane.partition] }]);
    }
    if (toResume.length > 0) this.updatePaused();
  }

  private updatePaused(): void {
    const n = [...this.lanes.values()].filter((l) => l.paused).length;
    this.deps.metrics.pausedPartitions.set({ pipeline: this.name }, n);
  }

  private onAssignment(assignment: Record<string, number[]>): void {
    const assigned = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment))
      for (const p of partitions) assigned.add(`${topic}/${p}`);
    for (const [key, lane] of this.lanes) {
      if (!assigned.has(key)) {
        lane.discard();
        this.lanes.delete(key);
        this.log.info({ partition: key }, 'partition revoked');
      }
    }
    // Stateful stages load a partition's state on assignment (their process waits for it) and
    // drop it on revocation.
    for (const key of [...this.owned]) {
      if (assigned.has(key)) continue;
      this.owned.delete(key);
      const [topic, partition] = splitKey(key);
      for (const stage of this.stagesOf(topic)) stage.onRevoke?.(topic, partition);
    }
    for (const key of assigned) {
      if (this.owned.has(key)) continue;
      this.owned.add(key);
      const [topic, partition] = splitKey(key);
      for (const stage of this.stagesOf(topic))
        stage.onAssign?.(topic, partition).catch((err: unknown) => {
          if (this.state === 'running') this.fail(err);
        });
    }
    this.groupJoined = true;
    this.assigned = assigned.size;
    this.deps.metrics.assignedPartitions.set({ pipeline: this.name }, assigned.size);
    this.log.info({ partitions: [...assigned].sort() }, 'partitions assigned');
  }

  private async commit(topic: string, partition: number, offset: string): Promise<void> {
    if (!this.consumer) return;
    await this.consumer.commitOffsets([{ topic, partition, offset }]);
    this.deps.metrics.offsetsCommitted.inc({ pipeline: this.name, topic });
    this.lag?.noteCommitted(topic, partition, offset);
  }

  private fail(err: unknown): void {
    if (this.state === 'failed' || this.state === 'stopped') return;
    this.state = 'failed';
    this.deps.metrics.pipelineUp.set({ pipeline: this.name }, 0);
    this.log.error({ err: describeError(err) }, 'pipeline failed');
    this.deps.onFatal(err);
  }

  /** Stops fetching, flushes and commits what was taken, then disconnects (within the deadline). */
  async stop(deadlineMs: number): Promise<boolean> {
    if (this.state === 'stopped') return true;
    const wasFailed = this.state === 'failed';
    this.state = 'stopping';
    const consumer = this.consumer;
    // Pause everything first: the group membership (needed to commit) stays while we drain.
    if (consumer) {
      try {
        consumer.pause(this.topics.map((topic) => ({ topic })));
      } catch {
        /* not running */
      }
    }
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
    // Everything flushed is committed, so the state it depends on is durable: release the store.
    await this.dedup
      ?.close()
      .catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'dedup close failed'));
    await this.join
      ?.close()
      .catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'join close failed'));
    this.ledgerStore?.close();
    await this.ledgerNats?.nc.close().catch(() => undefined);
    this.lag?.stop();
    this.clickhousePing?.stop();
    for (const remove of this.unregister.splice(0)) remove();
    await this.sink?.close();
    await consumer
      ?.disconnect()
      .catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'disconnect failed'));
    await this.deadLetters?.close().catch(() => undefined);
    await this.lag?.close();
    this.state = wasFailed ? 'failed' : 'stopped';
    this.deps.metrics.pipelineUp.set({ pipeline: this.name }, 0);
    return drained;
  }
}

function splitKey(key: string): [string, number] {
  const i = key.lastIndexOf('/');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}

function toSourceRecord(topic: string, partition: number, m: KafkaMessage): SourceRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    headers: (m.headers ?? {}) as Record<string, Buffer | string | undefined>,
    timestamp: Number(m.timestamp),
  };
}

export { ConnectionError };
