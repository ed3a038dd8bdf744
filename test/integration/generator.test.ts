// The load generator against the real broker: what `runGenerator` reports is exactly what a
// consumer reads back (unique ids, duplicates, malformed by kind, join pairs), and its
// failures are explained. Each test uses fresh random topics and deletes them afterwards.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { logLevel, Kafka, type KafkaMessage } from 'kafkajs';
import { ConnectionError, describeError } from '../../src/core/errors.ts';
import { EventFactory } from '../../src/generate/events.ts';
import { classifyOrder } from '../../src/generate/malformed.ts';
import { resolveGeneratorOptions } from '../../src/generate/options.ts';
import { eventOptionsFor, runGenerator } from '../../src/generate/producer.ts';
import { partitionForKey } from '../../src/generate/partitioner.ts';
import { TRACEPARENT } from '../../src/generate/traceparent.ts';

const BROKERS = [process.env.WEIR_TEST_KAFKA ?? '127.0.0.1:9092'];
const SASL_BROKERS = [process.env.WEIR_TEST_KAFKA_SASL ?? '127.0.0.1:9094'];
const kafka = new Kafka({ clientId: 'weir-test', brokers: BROKERS, logLevel: logLevel.NOTHING });
const created: string[] = [];

function newTopic(): string {
  const topic = `weir-test-${randomUUID()}`;
  created.push(topic);
  return topic;
}

after(async () => {
  const admin = kafka.admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  const topics = created.filter((t) => existing.has(t));
  if (topics.length > 0) await admin.deleteTopics({ topics });
  await admin.disconnect();
});

/** Messages in a fresh topic: the sum of its partitions' high-water marks. */
async function messagesIn(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

interface Consumed {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/** Reads `topics` from the beginning until `expected` messages have arrived in total. */
async function consumeAll(
  topics: string[],
  expected: number,
  timeoutMs = 60_000,
): Promise<Consumed[]> {
  const consumer = kafka.consumer({ groupId: `weir-test-${randomUUID()}` });
  const out: Consumed[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`consumed ${out.length} of ${expected} messages in ${timeoutMs} ms`)),
        timeoutMs,
      );
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              out.push({ topic: batch.topic, partition: batch.partition, message });
            }
            if (out.length >= expected) {
              clearTimeout(timer);
              resolve();
            }
            await Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

describe('weir generate against Kafka', () => {
  it('produces exactly what it reports: unique ids, duplicates, malformed, join pairs', async () => {
    const topic = newTopic();
    const joinTopic = newTopic();
    const options = resolveGeneratorOptions({
      brokers: BROKERS,
      topic,
      joinTopic,
      count: 20_000,
      dupRate: 0.1,
      badRate: 0.02,
      partitions: 4,
      keyed: true,
      seed: 42,
      traceparentRate: 0.1,
      joinRate: 0.5,
      orphanRate: 0.05,
      joinDelayMs: 2000,
    });
    const report = await runGenerator(options);
    const c = report.counts;
    assert.equal(report.aborted, false);
    assert.equal(report.partitions, 4);
    assert.equal(c.total, 20_000);
    assert.equal(report.messages, c.total + c.payments);

    // The log holds exactly what was reported: nothing lost, nothing extra (e.g. from retries).
    assert.equal(await messagesIn(topic), c.total);
    assert.equal(await messagesIn(joinTopic), c.payments);
    const records = await consumeAll([topic, joinTopic], report.messages);
    assert.equal(records.length, report.messages);
    const orders = records.filter((r) => r.topic === topic);
    const payments = records.filter((r) => r.topic === joinTopic);
    assert.equal(orders.length, c.total);
    assert.equal(payments.length, c.payments);

    // Orders: classify what a consumer sees.
    const partitionOf = new Map<string, number>();
    const malformed = { invalid_json: 0, wrong_type: 0, missing_field: 0 };
    let valid = 0;
    for (const { partition, message } of orders) {
      const kind = classifyOrder(message.value);
      if (kind !== 'valid') {
        malformed[kind]++;
        continue;
      }
      valid++;
      const id = (JSON.parse(message.value!.toString()) as { event_id: string }).event_id;
      assert.equal(message.key?.toString(), id, 'keyed by event_id');
      // Where Kafka's default (murmur2) partitioner puts the key, as any Java client would.
      assert.equal(partition, partitionForKey(id, 4));
      const first = partitionOf.get(id);
      if (first === undefined) partitionOf.set(id, partition);
      else assert.equal(partition, first, 'a duplicate lands on the partition of its original');
    }
    assert.equal(partitionOf.size, c.unique, 'unique event ids');
    assert.equal(valid - partitionOf.size, c.duplicates, 'duplicates');
    assert.deepEqual(malformed, c.malformed, 'malformed by kind');
    assert.ok(c.duplicates > 1500 && c.duplicates < 2500, `~10% duplicates, got ${c.duplicates}`);
    const bad = malformed.invalid_json + malformed.wrong_type + malformed.missing_field;
    assert.ok(bad > 250 && bad < 550, `~2% malformed, got ${bad}`);

    // The same seed and options regenerate exactly the ids that landed.
    const factory = new EventFactory({
      ...eventOptionsFor(options, report.baseTime),
      trackIds: true,
    });
    for (let i = 0; i < options.count; i++) {
      factory.nextOrder();
      factory.duePayments();
    }
    factory.remainingPayments();
    assert.deepEqual(new Set(factory.uniqueEventIds()), new Set(partitionOf.keys()));
    assert.deepEqual(factory.counts(), c);

    // Payments: pairs join an order on the same partition (co-partitioned); orphans join nothing.
    let pairs = 0;
    let orphans = 0;
    const paid = new Set<string>();
    for (const { partition, message } of payments) {
      const p = JSON.parse(message.value!.toString()) as { order_id: string; payment_id: string };
      assert.equal(message.key?.toString(), p.order_id, 'keyed by order_id');
      const orderPartition = partitionOf.get(p.order_id);
      if (orderPartition === undefined) {
        orphans++;
        continue;
      }
      pairs++;
      paid.add(p.order_id);
      assert.equal(partition, orderPartition, 'payment co-partitioned with its order');
    }
    assert.equal(pairs, c.joinablePairs);
    assert.equal(orphans, c.orphanPayments);
    assert.equal(paid.size, pairs, 'one payment per paid order');
    assert.deepEqual(
      new Set(factory.joinPairs().map((p) => p.orderId)),
      paid,
      'the regenerated pairs are the consumed ones',
    );

    // Trace context headers on the requested fraction.
    const traced = records.filter((r) => r.message.headers?.traceparent !== undefined);
    assert.equal(traced.length, report.traceparents);
    assert.ok(traced.length > 0.08 * records.length && traced.length < 0.12 * records.length);
    for (const r of traced) assert.match(String(r.message.headers!.traceparent), TRACEPARENT);
  });

  it('spreads null keys round-robin when unkeyed', async () => {
    const topic = newTopic();
    const report = await runGenerator({
      brokers: BROKERS,
      topic,
      count: 4000,
      keyed: false,
      partitions: 4,
    });
    const records = await consumeAll([topic], report.messages);
    const perPartition = [0, 0, 0, 0];
    for (const r of records) {
      assert.equal(r.message.key, null);
      perPartition[r.partition]!++;
    }
    for (const n of perPartition) {
      assert.ok(n > 700 && n < 1300, `partition counts ${perPartition.join(',')}`);
    }
  });

  it('paces a target rate smoothly instead of once per second', async () => {
    const topic = newTopic();
    const rate = 2000;
    const count = 4000;
    const report = await runGenerator({
      brokers: BROKERS,
      topic,
      count,
      rate,
      partitions: 1,
      dupRate: 0,
    });
    assert.ok(
      report.elapsedMs > 1700 && report.elapsedMs < 2800,
      `4000 events at 2000/s took ${report.elapsedMs} ms`,
    );
    assert.ok(
      Math.abs(report.eventsPerSec - rate) < rate * 0.2,
      `achieved ${report.eventsPerSec}/s`,
    );
    const records = await consumeAll([topic], count);
    const stamps = records.map((r) => Number(r.message.timestamp)).sort((a, b) => a - b);
    const start = stamps[0]!;
    const buckets = new Map<number, number>();
    for (const t of stamps)
      buckets.set(
        Math.floor((t - start) / 100),
        (buckets.get(Math.floor((t - start) / 100)) ?? 0) + 1,
      );
    const last = Math.max(...buckets.keys());
    // Every full 100 ms window carries about rate/10 events: no second-long bursts and gaps.
    for (let b = 0; b < last; b++) {
      const n = buckets.get(b) ?? 0;
      assert.ok(n >= 100 && n <= 400, `window ${b} had ${n} events (expected ~200)`);
    }
  });

  it('stops early on abort and reports exactly what was sent', async () => {
    const topic = newTopic();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const report = await runGenerator(
      { brokers: BROKERS, topic, count: 100_000, rate: 5000, joinTopic: newTopic() },
      { signal: controller.signal },
    );
    assert.equal(report.aborted, true);
    assert.ok(report.counts.total > 500 && report.counts.total < 10_000, `${report.counts.total}`);
    assert.equal(await messagesIn(topic), report.counts.total);
  });

  it('names the broker and the fix when Kafka is unreachable', async () => {
    await assert.rejects(
      runGenerator({ brokers: ['127.0.0.1:1'], topic: newTopic(), count: 10, retries: 0 }),
      (err: unknown) => {
        assert.ok(err instanceof ConnectionError, describeError(err));
        assert.match(
          describeError(err),
          /cannot reach Kafka broker 127\.0\.0\.1:1.*fix: check --brokers/,
        );
        return true;
      },
    );
  });

  it('produces over SASL, and explains rejected credentials without echoing the password', async () => {
    const topic = newTopic();
    const good = await runGenerator({
      brokers: SASL_BROKERS,
      topic,
      count: 200,
      sasl: { mechanism: 'plain', username: 'weir', password: 'weir-secret' },
    });
    assert.equal(good.counts.total, 200);
    const password = 'definitely-wrong-pw';
    await assert.rejects(
      runGenerator({
        brokers: SASL_BROKERS,
        topic,
        count: 10,
        retries: 0,
        sasl: { mechanism: 'plain', username: 'weir', password },
      }),
      (err: unknown) => {
        const text = describeError(err);
        assert.match(text, /rejected the SASL credentials of user "weir" \(plain\)/);
        assert.match(text, /127\.0\.0\.1:9094/);
        assert.ok(!text.includes(password) && !JSON.stringify(err).includes(password));
        return true;
      },
    );
  });
});
