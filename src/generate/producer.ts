// `runGenerator`: produces the event factory's records into Kafka, as fast as possible or at a
// smooth target rate, and reports exactly what it produced.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message, Producer, TopicMessages } from 'kafkajs';
import { systemClock, type Clock } from '../core/clock.ts';
import {
  EventFactory,
  type EventFactoryOptions,
  type GeneratedRecord,
  type GeneratorCounts,
} from './events.ts';
import { InFlight } from './inflight.ts';
import { createGeneratorKafka, explainKafkaError } from './kafka.ts';
import {
  effectiveIntervalMs,
  resolveGeneratorOptions,
  type GeneratorOptions,
  type ResolvedGeneratorOptions,
} from './options.ts';
import { fastPartitioner } from './partitioner.ts';
import { Random } from './random.ts';
import { TokenBucket } from './rate.ts';
import { ensureTopic } from './topics.ts';
import { makeTraceparent } from './traceparent.ts';

const TICK_MS = 10;
const PROGRESS_EVERY_MS = 5000;

export interface GeneratorDeps {
  /** Progress and notices, one line each. */
  log?: (msg: string) => void;
  /** Stops producing early; what was sent is still acknowledged and reported. */
  signal?: AbortSignal;
  /** Drives the rate limiter and the default base time. */
  clock?: Clock;
}

export interface GeneratorReport {
  topic: string;
  joinTopic: string | null;
  /** Partitions of the orders topic. */
  partitions: number;
  keyed: boolean;
  seed: number;
  /** Event time of the first record and the step between records: with the seed and options, enough to regenerate the run. */
  baseTime: number;
  intervalMs: number;
  counts: GeneratorCounts;
  /** Kafka messages sent: orders-stream records plus payments. */
  messages: number;
  /** Value bytes sent. */
  bytes: number;
  /** Messages that carry a `traceparent` header. */
  traceparents: number;
  /** From the first send to the last acknowledgement. */
  elapsedMs: number;
  /** Orders-stream records per second over elapsedMs. */
  eventsPerSec: number;
  /** All messages (orders and payments) per second over elapsedMs. */
  messagesPerSec: number;
  /** The requested rate; 0 = unlimited. */
  targetRate: number;
  aborted: boolean;
}

/** The factory options a run uses: rebuild `new EventFactory(eventOptionsFor(...))` to list its ids. */
export function eventOptionsFor(
  o: ResolvedGeneratorOptions,
  baseTime: number,
): Omit<EventFactoryOptions, 'trackIds'> {
  const joined = o.joinTopic !== undefined;
  return {
    seed: o.seed,
    keySpread: o.keySpread,
    dupRate: o.dupRate,
    dupWindow: o.dupWindow,
    badRate: o.badRate,
    baseTime,
    intervalMs: effectiveIntervalMs(o),
    jitterMs: o.jitterMs,
    joinRate: joined ? o.joinRate : 0,
    joinDelayMs: o.joinDelayMs,
    recordBytes: o.recordBytes,
    orphanRate: joined ? o.orphanRate : 0,
  };
}

export async function runGenerator(
  input: GeneratorOptions,
  deps: GeneratorDeps = {},
): Promise<GeneratorReport> {
  const o = resolveGeneratorOptions(input);
  const log = deps.log ?? (() => undefined);
  const kafka = createGeneratorKafka(o);
  const admin = kafka.admin();
  const producer = kafka.producer({
    createPartitioner: fastPartitioner,
    allowAutoTopicCreation: false,
  });
  try {
    await admin.connect();
    const partitions = await ensureTopic(admin, o.topic, o.partitions, log);
    if (o.joinTopic !== undefined) {
      const joinPartitions = await ensureTopic(admin, o.joinTopic, o.partitions, log);
      if (joinPartitions !== partitions) {
        log(
          `warning: ${o.topic} has ${partitions} partitions but ${o.joinTopic} has ${joinPartitions}: the streams are not co-partitioned`,
        );
      }
    }
    await producer.connect();
    return await produce(o, producer, partitions, deps, log);
  } catch (err) {
    throw explainKafkaError(err, o, o.topic);
  } finally {
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
  }
}

async function produce(
  o: ResolvedGeneratorOptions,
  producer: Producer,
  partitions: number,
  deps: GeneratorDeps,
  log: (msg: string) => void,
): Promise<GeneratorReport> {
  const clock = deps.clock ?? systemClock;
  const baseTime = o.baseTime ?? Math.floor(clock.now());
  const factory = new EventFactory({ ...eventOptionsFor(o, baseTime), trackIds: false });
  // A produce request's records for one partition form one record batch, which the broker
  // refuses above message.max.bytes (1 MiB by default): big records go fewer to a request.
  const batchSize =
    o.recordBytes > 0
      ? Math.max(1, Math.min(o.batchSize, Math.floor((768 * 1024) / o.recordBytes)))
      : o.batchSize;
  // Its own sequence, so headers do not change the events.
  const traceRng = new Random(o.seed, 3);
  const bucket = o.rate > 0 ? new TokenBucket({ ratePerSec: o.rate, clock }) : undefined;
  const inflight = new InFlight(o.maxInFlight);
  let messages = 0;
  let bytes = 0;
  let traceparents = 0;

  const toMessage = (r: GeneratedRecord): Message => {
    messages++;
    bytes += r.value.length;
    const message: Message = {
      key: o.keyed && r.key !== null ? Buffer.from(r.key) : null,
      value: r.value,
    };
    if (o.traceparentRate > 0 && traceRng.chance(o.traceparentRate)) {
      message.headers = { traceparent: makeTraceparent(traceRng) };
      traceparents++;
    }
    return message;
  };
  const send = (orders: Message[], payments: Message[]) => {
    const topicMessages: TopicMessages[] = [];
    if (orders.length > 0) topicMessages.push({ topic: o.topic, messages: orders });
    if (payments.length > 0 && o.joinTopic !== undefined) {
      topicMessages.push({ topic: o.joinTopic, messages: payments });
    }
    return inflight.start(async () => {
      await producer.sendBatch({ topicMessages, acks: -1 });
    });
  };

  const started = performance.now();
  let nextProgress = started + PROGRESS_EVERY_MS;
  let produced = 0;
  while (produced < o.count && !deps.signal?.aborted) {
    let n = Math.min(batchSize, o.count - produced);
    if (bucket) {
      n = bucket.take(n);
      if (n === 0) {
        await sleep(Math.min(TICK_MS, Math.max(1, bucket.msUntil(1))));
        continue;
      }
    }
    const orders: Message[] = [];
    const payments: Message[] = [];
    for (let i = 0; i < n; i++) {
      orders.push(toMessage(factory.nextOrder()));
      for (const p of factory.duePayments()) payments.push(toMessage(p));
    }
    produced += n;
    await send(orders, payments);
    const now = performance.now();
    if (now >= nextProgress) {
      nextProgress = now + PROGRESS_EVERY_MS;
      const rate = Math.round(produced / ((now - started) / 1000));
      log(`produced ${produced}/${o.count} events to ${o.topic} (${rate} events/s)`);
    }
  }
  const aborted = produced < o.count;
  if (!aborted) {
    // Payments held back for their event time go out at the end.
    const rest = factory.remainingPayments().map(toMessage);
    for (let i = 0; i < rest.length; i += batchSize) {
      await send([], rest.slice(i, i + batchSize));
    }
  }
  await inflight.drain();
  const elapsedMs = performance.now() - started;
  const counts = factory.counts();
  return {
    topic: o.topic,
    joinTopic: o.joinTopic ?? null,
    partitions,
    keyed: o.keyed,
    seed: o.seed,
    baseTime,
    intervalMs: effectiveIntervalMs(o),
    counts,
    messages,
    bytes,
    traceparents,
    elapsedMs: Math.round(elapsedMs),
    eventsPerSec: elapsedMs > 0 ? Math.round(counts.total / (elapsedMs / 1000)) : 0,
    messagesPerSec: elapsedMs > 0 ? Math.round(messages / (elapsedMs / 1000)) : 0,
    targetRate: o.rate,
    aborted,
  };
}
