// The Kafka source (kafkajs): one consumer group over a pipeline's topics with manual commits,
// pause and resume per partition, and consumer lag read on its own timer. kafkajs reports a
// crash when a graceful stop disconnects under a request in flight (a join still under way): once
// stopping, a crash is expected, logged at debug level and never restarted.
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { KafkaSourceConfig } from '../config/schema.ts';
import { ConfigError, WeirError, describeError } from '../core/errors.ts';
import type { SourceRecord } from '../core/record.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { CoPartitionedAssigner, checkCoPartitioned } from './copartition.ts';
import { createKafka, explainKafkaError, type KafkaConnectionConfig } from './kafka-client.ts';
import { LagMonitor } from './lag.ts';
import {
  partitionKey,
  type Assignment,
  type Source,
  type SourceHandler,
  type SourceStatus,
  type TopicPartition,
} from './source.ts';

export interface KafkaSourceOptions {
  pipeline: string;
  /** Every topic read: the source topics, then (with a join) the right topic. */
  topics: readonly string[];
  /**
   * Partition p of every topic goes to one member, and every topic must have as many partitions
   * as the last one (a join keeps state per partition pair).
   */
  coPartitioned: boolean;
  logger: Logger;
  metrics: Metrics;
  /** How often consumer lag is read from the brokers. Default 5000. */
  lagIntervalMs?: number;
}

const NO_LAG: ReadonlyMap<string, number> = new Map();

/**
 * How long a consumer goes without partitions before the log says why. Past the broker's
 * group.initial.rebalance.delay.ms (3 s by default), which holds up every first join of an empty
 * group: a notice at 3 s would show on every fresh start.
 */
export const JOIN_NOTICE_MS = 5000;

/**
 * Logs, once JOIN_NOTICE_MS have gone by, why the consumer may still be without partitions: a member
 * that was killed (SIGKILL, OOM) never left the group, and the broker keeps its partitions until
 * its session times out - a restarted agent waits that long and fetches nothing meanwhile. The
 * returned function cancels the notice (the group was joined, or the source closed).
 */
export function noticeSlowJoin(o: {
  group: string;
  sessionTimeoutMs: number;
  logger: Logger;
}): () => void {
  const timer = setTimeout(
    () =>
      o.logger.info(
        { group: o.group, session_timeout_ms: o.sessionTimeoutMs },
        `waiting for partitions: a previous member of group ${o.group} may still hold them until its session times out (source.session_timeout_ms = ${o.sessionTimeoutMs})`,
      ),
    JOIN_NOTICE_MS,
  );
  timer.unref();
  return () => clearTimeout(timer);
}

export class KafkaSource implements Source {
  private readonly kafka: Kafka;
  private consumer: Consumer | undefined;
  private started: Promise<void> | undefined;
  private lag: LagMonitor | undefined;
  private owned: ReadonlySet<string> = new Set();
  private connected = false;
  private joined = false;
  /** A graceful stop has begun: a crash is expected and not restarted. */
  private stopping = false;
  private closed: Promise<void> | undefined;
  /** The consumer's heartbeat, taken from a batch: kafkajs offers it nowhere else. */
  private heartbeat: (() => Promise<void>) | undefined;
  /** Cancels the notice of a slow first join (see noticeSlowJoin). */
  private cancelJoinNotice: () => void = () => undefined;

  constructor(
    private readonly cfg: KafkaSourceConfig,
    private readonly o: KafkaSourceOptions,
  ) {
    this.kafka = createKafka(cfg, o.logger, { quiet: () => this.stopping });
  }

  get status(): SourceStatus {
    return {
      connected: this.connected,
      joined: this.joined,
      assignedPartitions: this.owned.size,
      brokerFailures: { inARow: this.lag?.failuresInARow ?? 0, lastError: this.lag?.lastError },
      lag: this.lag?.lag ?? NO_LAG,
    };
  }

  async check(): Promise<void> {
    const { topics } = this.o;
    // Few retries: an unreachable broker is reported within seconds, and a start waits for it
    // with its own retries (pipeline/startup.ts) instead of kafkajs's 40 s of them. Quiet: the
    // failure is thrown, explained; kafkajs's lines would repeat it on every attempt.
    const client = createKafka(this.cfg, this.o.logger, { retries: 2, quiet: () => true });
    const admin = client.admin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t));
      if (missing.length > 0)
        throw new ConfigError(
          `pipeline ${this.o.pipeline}: topic(s) ${missing.join(', ')} do not exist on ${this.cfg.brokers.join(',')}`,
          { hint: 'create the topics or fix source.topics (and join.right.topic)' },
        );
      if (this.o.coPartitioned) await checkCoPartitioned(admin, topics, topics.at(-1)!);
    } catch (err) {
      if (err instanceof WeirError) throw err;
      throw explainKafkaError(err, this.cfg);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  start(handler: SourceHandler): Promise<void> {
    this.started ??= this.run(handler);
    return this.started;
  }

  private async run(handler: SourceHandler): Promise<void> {
    const { cfg } = this;
    const { metrics, logger, pipeline } = this.o;
    const consumer = this.kafka.consumer({
      groupId: cfg.group_id,
      sessionTimeout: cfg.session_timeout_ms,
      heartbeatInterval: Math.max(1000, Math.floor(cfg.session_timeout_ms / 10)),
      maxBytesPerPartition: cfg.max_bytes_per_partition,
      maxBytes: cfg.max_bytes_per_partition * 8,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
      // kafkajs's default retries, and no restart once stopping.
      retry: { retries: 5, restartOnFailure: () => Promise.resolve(!this.stopping) },
      ...(this.o.coPartitioned ? { partitionAssigners: [CoPartitionedAssigner] } : {}),
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CONNECT, () => (this.connected = true));
    consumer.on(consumer.events.DISCONNECT, () => (this.connected = false));
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const change = assignmentChange(this.owned, e.payload.memberAssignment);
      this.owned = change.owned;
      this.joined = true;
      this.cancelJoinNotice();
      metrics.assignedPartitions.set({ pipeline }, change.owned.size);
      handler.onAssignment(change);
      logger.info({ partitions: [...change.owned].sort() }, 'partitions assigned');
    });
    // A fetch of only aborted records and transaction markers never reaches eachBatch.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload: b }) => {
      if (b.batchSize === 0 && b.firstOffset !== null)
        handler.onPassedOver(b.topic, b.partition, b.firstOffset, b.lastOffset);
    });
    consumer.on(consumer.events.CRASH, (e) =>
      onCrash(e.payload, {
        stopping: this.stopping,
        logger,
        cfg,
        onFatal: (err) => handler.onFatal(err),
      }),
    );
    try {
      await consumer.connect();
      for (const topic of this.o.topics)
        await consumer.subscribe({ topic, fromBeginning: cfg.start_from === 'earliest' });
    } catch (err) {
      // Closed while starting: the stop wins, there is nothing to report.
      if (this.stopping) return;
      throw explainKafkaError(err, cfg);
    }
    // Closed while connecting, and the connection got through: close it again.
    if (this.stopping) return this.disconnect();
    this.lag = new LagMonitor(
      this.kafka,
      cfg.group_id,
      [...this.o.topics],
      pipeline,
      metrics,
      logger,
      this.o.lagIntervalMs,
    );
    this.lag.start();
    this.cancelJoinNotice = noticeSlowJoin({
      group: cfg.group_id,
      sessionTimeoutMs: cfg.session_timeout_ms,
      logger,
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.onBatch(payload, handler),
    });
    // Closed while joining, and the join got through: leave the group now.
    if (this.stopping) await this.disconnect();
  }

  private async onBatch(payload: EachBatchPayload, handler: SourceHandler): Promise<void> {
    // An arrow function over kafkajs's runner, not a method: taking it alone keeps no batch alive.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    this.heartbeat = payload.heartbeat;
    const { batch } = payload;
    if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
    const { topic, partition } = batch;
    const records = batch.messages.map((m) => toSourceRecord(topic, partition, m));
    const { metrics, pipeline } = this.o;
    metrics.recordsConsumed.inc({ pipeline, topic }, records.length);
    let bytes = 0;
    for (const r of records) bytes += r.value?.length ?? 0;
    metrics.bytesConsumed.inc({ pipeline, topic }, bytes);
    await handler.onRecords({
      topic,
      partition,
      records,
      logEnd: batch.highWatermark,
      lastOffset: batch.lastOffset(),
    });
  }

  pause(topic: string, partition: number): void {
    this.whileRunning((c) => c.pause([{ topic, partitions: [partition] }]));
  }

  keepAlive(): void {
    // kafkajs sends it only once its heartbeat interval has passed; during a rebalance it fails,
    // and the member rejoins when the held batch is done.
    this.heartbeat?.().catch(() => undefined);
  }

  resume(topic: string, partition: number): void {
    this.whileRunning((c) => c.resume([{ topic, partitions: [partition] }]));
  }

  /** kafkajs refuses pause and resume outside `run` (before it, or while restarting). */
  private whileRunning(fn: (consumer: Consumer) => void): void {
    if (!this.consumer) return;
    try {
      fn(this.consumer);
    } catch {
      /* not running: nothing is being fetched */
    }
  }

  async commit(topic: string, partition: number, nextOffset: string): Promise<void> {
    if (!this.consumer) return;
    await this.consumer.commitOffsets([{ topic, partition, offset: nextOffset }]);
    this.o.metrics.offsetsCommitted.inc({ pipeline: this.o.pipeline, topic });
    this.lag?.noteCommitted(topic, partition, nextOffset);
  }

  stopFetching(): void {
    this.stopping = true;
    this.whileRunning((c) => c.pause(this.o.topics.map((topic) => ({ topic }))));
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.stopping = true;
      this.cancelJoinNotice();
      this.lag?.stop();
      await this.disconnect();
      // A start under way ends now (its requests fail); it leaves the group if it had joined.
      await this.started?.catch(() => undefined);
      await this.lag?.close();
    })();
    return this.closed;
  }

  private async disconnect(): Promise<void> {
    await this.consumer
      ?.disconnect()
      .catch((err: unknown) =>
        this.o.logger.warn({ err: describeError(err) }, 'disconnect failed'),
      );
  }
}

/**
 * A crash of the kafkajs consumer. While stopping it is the stop interrupting a request; else it
 * is logged, and fatal unless kafkajs restarts the consumer.
 */
export function onCrash(
  crash: { error: Error; restart: boolean },
  o: {
    stopping: boolean;
    logger: Logger;
    cfg: KafkaConnectionConfig;
    onFatal: (err: unknown) => void;
  },
): void {
  const err = describeError(crash.error);
  if (o.stopping) return o.logger.debug({ err }, 'Kafka consumer interrupted by the stop');
  o.logger.error({ err, restart: crash.restart }, 'Kafka consumer crashed');
  if (crash.restart) o.logger.info('restarting the Kafka consumer');
  else o.onFatal(explainKafkaError(crash.error, o.cfg));
}

/** What changed between the partitions owned and a member assignment of kafkajs. */
export function assignmentChange(
  before: ReadonlySet<string>,
  assignment: Readonly<Record<string, readonly number[]>>,
): Assignment {
  const owned = new Set<string>();
  const added: TopicPartition[] = [];
  for (const [topic, partitions] of Object.entries(assignment))
    for (const partition of partitions) {
      const key = partitionKey(topic, partition);
      owned.add(key);
      if (!before.has(key)) added.push({ topic, partition });
    }
  const revoked: TopicPartition[] = [];
  for (const key of before) {
    if (owned.has(key)) continue;
    const i = key.lastIndexOf('/');
    revoked.push({ topic: key.slice(0, i), partition: Number(key.slice(i + 1)) });
  }
  return { owned, added, revoked };
}

export function toSourceRecord(topic: string, partition: number, m: KafkaMessage): SourceRecord {
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
