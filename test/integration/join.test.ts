// The temporal join end to end: generated orders (left) and payments (right, keyed by order id,
// co-partitioned) through the real `weir run`, the right buffer in the real NATS KV, rows in a
// ReplicatedMergeTree table with the batch ledger on, so a replay never doubles a row. The
// generator is deterministic by seed: the expected (order, payment) pairs are recomputed
// in-process and compared with the table row for row. Every test has its own topics, table,
// consumer group and KV buckets, and removes them.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  freePort,
  getText,
  metricValue,
  runWeir,
  weirOnce,
  writeConfig,
  type WeirProcess,
} from '../helpers/agent.ts';
import { readDeadLetters } from '../helpers/pipeline.ts';
import { clickhouse, endpoints, kafka, natsConnect, randomName } from '../helpers/stack.ts';
import { EventFactory } from '../../src/generate/events.ts';
import { resolveGeneratorOptions, type GeneratorOptions } from '../../src/generate/options.ts';
import {
  eventOptionsFor,
  runGenerator,
  type GeneratorReport,
} from '../../src/generate/producer.ts';

const PARTITIONS = 4;

interface JoinOptions {
  type: 'inner' | 'left';
  within: string;
  /** join.allowed_lateness; default the config's. */
  lateness?: string;
  /** join.late_left; default the config's. */
  lateLeft?: 'emit_unmatched' | 'dead_letter';
  idle: string;
  /** Partitions of the right topic; default PARTITIONS (co-partitioned). */
  rightPartitions?: number;
  /** join.max_buffer_records; default the config's. */
  maxBuffer?: number;
  /** join.max_buffer_bytes; default the config's. */
  maxBufferBytes?: number;
  /** Payments carry a `note` text field, joined into a `note` column. */
  note?: boolean;
  /** source.max_bytes_per_partition; default the config's. */
  maxBytesPerPartition?: number;
}

interface JoinFixture {
  orders: string;
  payments: string;
  dlq: string;
  table: string;
  group: string;
  port: number;
  configPath: string;
  /** The same config with another HTTP port (a second agent of the same pipeline). */
  configWithPort(port: number): string;
  ch: ClickHouseClient;
  cleanup(): Promise<void>;
}

async function joinFixture(o: JoinOptions): Promise<JoinFixture> {
  const id = randomName('join');
  const orders = `weir-${id}-orders`;
  const payments = `weir-${id}-payments`;
  const dlq = `${orders}.dlq`;
  const table = `t_${id}`;
  const group = `g-${id}`;
  const joinBucket = `weir_join_test_${id}`;
  const ledgerBucket = `weir_ledger_test_${id}`;
  const port = await freePort();
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: orders, numPartitions: PARTITIONS },
      { topic: payments, numPartitions: o.rightPartitions ?? PARTITIONS },
    ],
    waitForLeaders: true,
  });
  const ch = clickhouse();
  // Right fields are Nullable: a left join lands unmatched orders with them null.
  await ch.command({
    query: `CREATE TABLE ${table} (
      event_id String, user_id String, amount Float64, created_at DateTime,
      payment_id Nullable(String), paid_amount Nullable(Float64), method Nullable(String),
      paid_at Nullable(DateTime)${o.note ? ', note Nullable(String)' : ''}
    ) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${table}', '{replica}')
      ORDER BY (event_id)`,
  });
  const config = (httpPort: number) => ({
    agent: {
      http: { host: '127.0.0.1', port: httpPort },
      shutdown_timeout_ms: 20_000,
      stall_timeout_ms: 30_000,
    },
    pipelines: [
      {
        name: 'joined',
        source: {
          brokers: [endpoints.kafka],
          topics: [orders],
          group_id: group,
          // A killed member holds its partitions until its session times out.
          session_timeout_ms: 6000,
          ...(o.maxBytesPerPartition ? { max_bytes_per_partition: o.maxBytesPerPartition } : {}),
        },
        schema: {
          fields: {
            event_id: 'uuid',
            user_id: 'string',
            amount: 'number',
            created_at: { type: 'datetime', path: 'ts' },
          },
        },
        join: {
          type: o.type,
          within: o.within,
          ...(o.lateness ? { allowed_lateness: o.lateness } : {}),
          ...(o.lateLeft ? { late_left: o.lateLeft } : {}),
          match: 'all',
          idle_timeout: o.idle,
          ...(o.maxBuffer ? { max_buffer_records: o.maxBuffer } : {}),
          ...(o.maxBufferBytes ? { max_buffer_bytes: o.maxBufferBytes } : {}),
          left: { key: 'event_id', time: 'created_at' },
          right: {
            topic: payments,
            schema: {
              fields: {
                payment_id: 'uuid',
                order_id: 'string',
                amount: 'number',
                method: 'string',
                paid_at: { type: 'datetime', path: 'ts' },
                ...(o.note ? { note: 'string' } : {}),
              },
            },
            key: 'order_id',
            time: 'paid_at',
          },
          fields: {
            event_id: 'left.event_id',
            user_id: 'left.user_id',
            amount: 'left.amount',
            created_at: 'left.created_at',
            payment_id: 'right.payment_id',
            paid_amount: 'right.amount',
            method: 'right.method',
            paid_at: 'right.paid_at',
            ...(o.note ? { note: 'right.note' } : {}),
          },
          nats: { servers: [endpoints.nats], bucket: joinBucket },
        },
        sink: {
          clickhouse: {
            url: endpoints.clickhouse,
            table,
            batch: { max_rows: 20_000, max_delay_ms: 300 },
            retry: { initial_ms: 200, max_ms: 2000 },
            exactly_once: {
              mode: 'required',
              nats: { servers: [endpoints.nats], bucket: ledgerBucket },
            },
          },
        },
        dead_letter: { topic: dlq },
      },
    ],
  });
  return {
    orders,
    payments,
    dlq,
    table,
    group,
    port,
    configPath: writeConfig(config(port)),
    configWithPort: (p: number) => writeConfig(config(p)),
    ch,
    cleanup: async () => {
      await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
      await ch.close();
      await admin.deleteGroups([group]).catch(() => undefined);
      // Only existing topics: deleting a missing one makes kafkajs retry for 10 s.
      const existing = new Set(await admin.listTopics().catch(() => [orders, payments, dlq]));
      const topics = [orders, payments, dlq].filter((t) => existing.has(t));
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
      const nc = await natsConnect();
      const jsm = await nc.jetstreamManager();
      for (const b of [joinBucket, ledgerBucket])
        await jsm.streams.delete(`KV_${b}`).catch(() => undefined);
      await nc.close();
    },
  };
}

/** Orders with no duplicates and no malformed records; 70% get a payment, 5% orphan payments. */
function loadFor(
  f: JoinFixture,
  o: Partial<GeneratorOptions> & { count: number; seed: number },
): GeneratorOptions {
  return {
    brokers: [endpoints.kafka],
    topic: f.orders,
    joinTopic: f.payments,
    partitions: PARTITIONS,
    keyed: true,
    dupRate: 0,
    badRate: 0,
    joinRate: 0.7,
    orphanRate: 0.05,
    joinDelayMs: 2000,
    baseTime: Date.now(),
    // One produce request at a time: concurrent kafkajs sends can land out of order within a
    // partition, which the join would rightly drop as late (see the report on the generator).
    maxInFlight: 1,
    ...o,
  };
}

interface Expected {
  orders: Set<string>;
  /** `${order id}|${payment id}` of every payment whose order exists. */
  pairs: Set<string>;
}

/** Replays the generator's factory in-process (same options, same seed): the same records. */
function expectedOf(load: GeneratorOptions, report: GeneratorReport): Expected {
  const o = resolveGeneratorOptions(load);
  const factory = new EventFactory({ ...eventOptionsFor(o, report.baseTime), trackIds: true });
  for (let i = 0; i < o.count; i++) {
    factory.nextOrder();
    factory.duePayments();
  }
  factory.remainingPayments();
  const pairs = new Set(factory.joinPairs().map((p) => `${p.orderId}|${p.paymentId}`));
  const orders = new Set(factory.uniqueEventIds());
  assert.equal(orders.size, report.counts.unique, 'the replayed factory made the same orders');
  assert.equal(pairs.size, report.counts.joinablePairs, 'and the same payments');
  return { orders, pairs };
}

async function lag(group: string, topics: string[]): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    let total = 0;
    for (const topic of topics) {
      const highs = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      for (const h of highs) {
        const c = committed?.partitions.find((p) => p.partition === h.partition)?.offset ?? '-1';
        total += Number(h.high) - (Number(c) < 0 ? Number(h.low) : Number(c));
      }
    }
    return total;
  } finally {
    await admin.disconnect();
  }
}

/** Polls `check` until it holds; fails at once (with the agent's log) if the agent exits. */
async function whileRunning(
  agent: WeirProcess,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    const code = agent.child.exitCode ?? agent.child.signalCode;
    if (code !== null)
      throw new Error(
        `the agent exited (${code}) while waiting for ${what}:\n${agent.output().slice(-4000)}`,
      );
    try {
      if (await check()) return;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastErr instanceof Error ? `: ${lastErr.message}` : ''}\n${agent.output().slice(-4000)}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Both topics fully committed: every order is in the table (or decided not to be). */
function waitForDrain(f: JoinFixture, agent: WeirProcess, timeoutMs: number): Promise<void> {
  return whileRunning(
    agent,
    'the consumer group to commit every offset of both topics',
    async () => (await lag(f.group, [f.orders, f.payments])) === 0,
    timeoutMs,
    500,
  );
}

interface Landed {
  rows: number;
  /** Distinct (order, payment or '') pairs. */
  distinct: number;
  orders: number;
  /** Rows with a payment. */
  matched: number;
  /** Matched rows whose payment amount differs from the order amount (must be none). */
  wrongAmount: number;
  /** Matched rows whose payment time is not 0…2 s (DateTime is whole seconds) after the order. */
  wrongTime: number;
}

async function landed(f: JoinFixture): Promise<Landed> {
  const rs = await f.ch.query({
    query: `SELECT count() AS rows,
              uniqExact(event_id, ifNull(payment_id, '')) AS distinct,
              uniqExact(event_id) AS orders,
              countIf(isNotNull(payment_id)) AS matched,
              countIf(isNotNull(payment_id) AND abs(ifNull(paid_amount, 0) - amount) > 0.001) AS wrongAmount,
              countIf(isNotNull(payment_id) AND (ifNull(paid_at, toDateTime(0)) < created_at
                OR ifNull(paid_at, toDateTime(0)) > created_at + 3)) AS wrongTime
            FROM ${f.table}`,
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<Record<keyof Landed, string>>();
  return {
    rows: Number(r?.rows ?? 0),
    distinct: Number(r?.distinct ?? 0),
    orders: Number(r?.orders ?? 0),
    matched: Number(r?.matched ?? 0),
    wrongAmount: Number(r?.wrongAmount ?? 0),
    wrongTime: Number(r?.wrongTime ?? 0),
  };
}

async function rowCount(f: JoinFixture): Promise<number> {
  const rs = await f.ch.query({
    query: `SELECT count() AS n FROM ${f.table}`,
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ n: string }>();
  return Number(r?.n ?? 0);
}

/** The pairs in the table, and the orders that landed without a payment. */
async function landedPairs(f: JoinFixture): Promise<{ pairs: string[]; unmatched: string[] }> {
  const rs = await f.ch.query({
    query: `SELECT event_id, payment_id FROM ${f.table}`,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ event_id: string; payment_id: string | null }>();
  const pairs: string[] = [];
  const unmatched: string[] = [];
  for (const r of rows) {
    if (r.payment_id === null) unmatched.push(r.event_id);
    else pairs.push(`${r.event_id}|${r.payment_id}`);
  }
  return { pairs, unmatched };
}

/** Asserts the table holds each expected pair once and nothing else (but, for left, unmatched orders). */
async function assertExactPairs(f: JoinFixture, want: Expected, type: 'inner' | 'left') {
  const got = await landedPairs(f);
  const unexpected = got.pairs.filter((p) => !want.pairs.has(p));
  assert.deepEqual(unexpected.slice(0, 5), [], `${unexpected.length} unexpected pairs`);
  const seen = new Set(got.pairs);
  const missing = [...want.pairs].filter((p) => !seen.has(p));
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} expected pairs missing`);
  assert.equal(got.pairs.length, want.pairs.size, 'each pair exactly once');
  if (type === 'inner') {
    assert.equal(got.unmatched.length, 0, 'an inner join lands no unmatched order');
    return;
  }
  const paid = new Set([...want.pairs].map((p) => p.slice(0, p.indexOf('|'))));
  const wantUnmatched = [...want.orders].filter((o) => !paid.has(o));
  const unmatched = new Set(got.unmatched);
  assert.equal(got.unmatched.length, unmatched.size, 'each unmatched order once');
  assert.equal(unmatched.size, wantUnmatched.length, 'every order without payment, once');
  assert.ok(
    wantUnmatched.every((o) => unmatched.has(o)),
    'the unmatched orders are exactly those without a payment',
  );
}

async function metricsOf(f: JoinFixture): Promise<string> {
  return (await getText(`http://127.0.0.1:${f.port}/metrics`)).body;
}

const join = (text: string, labels: Record<string, string>) =>
  metricValue(text, 'weir_join_records_total', labels);
const rowsOf = (text: string, reason: string) =>
  metricValue(text, 'weir_join_rows_total', { reason });

// 20k orders over 20 s of event time (1 ms apart); a payment 0…2 s after its order; the window 5 s.
const ORDERS = 20_000;
const backlog = { count: ORDERS, seed: 42, intervalMs: 1 };
const joinTimes = { within: '5s', lateness: '500ms', idle: '2s' };

describe('temporal join end to end', () => {
  it('inner join: exactly the generated (order, payment) pairs, once each', async () => {
    const started = Date.now();
    const f = await joinFixture({ type: 'inner', ...joinTimes });
    let agent: WeirProcess | undefined;
    try {
      const load = loadFor(f, backlog);
      const report = await runGenerator(load);
      const want = expectedOf(load, report);
      assert.ok(want.pairs.size > ORDERS * 0.65, `${want.pairs.size} pairs`);
      assert.ok(report.counts.orphanPayments > 0, 'some payments have no order');
      agent = runWeir(['run', '-c', f.configPath]);
      await waitForDrain(f, agent, 80_000);
      const text = await metricsOf(f);
      assert.equal(await agent.stop(), 0, agent.output().slice(-3000));
      const got = await landed(f);
      assert.deepEqual(
        { rows: got.rows, distinct: got.distinct, matched: got.matched },
        { rows: want.pairs.size, distinct: want.pairs.size, matched: want.pairs.size },
      );
      assert.equal(got.wrongAmount, 0, 'the payment amount is the order amount');
      assert.equal(got.wrongTime, 0, 'the payment time is 0…2 s after the order');
      await assertExactPairs(f, want, 'inner');
      const unpaid = report.counts.unique - want.pairs.size;
      assert.equal(rowsOf(text, 'matched'), want.pairs.size);
      assert.equal(rowsOf(text, 'unmatched'), 0);
      assert.equal(join(text, { side: 'left', reason: 'matched' }), want.pairs.size);
      assert.equal(join(text, { side: 'left', reason: 'expired' }), unpaid);
      assert.equal(join(text, { side: 'left', reason: 'late' }), 0);
      assert.equal(join(text, { side: 'right', reason: 'buffered' }), report.counts.payments);
      assert.equal(join(text, { side: 'right', reason: 'late' }), 0);
      process.stderr.write(
        `# inner: ${want.pairs.size} pairs, ${unpaid} unpaid orders, ${report.counts.orphanPayments} orphan payments; ${Date.now() - started} ms\n`,
      );
    } finally {
      await agent?.stop();
      await f.cleanup();
    }
  });

  it('left join: every order once per match, unpaid orders once with null payment fields', async () => {
    const started = Date.now();
    const f = await joinFixture({ type: 'left', ...joinTimes });
    let agent: WeirProcess | undefined;
    try {
      const load = loadFor(f, backlog);
      const report = await runGenerator(load);
      const want = expectedOf(load, report);
      agent = runWeir(['run', '-c', f.configPath]);
      await waitForDrain(f, agent, 80_000);
      const text = await metricsOf(f);
      const agentExit = await agent.stop();
      const unpaid = report.counts.unique - want.pairs.size;
      const got = await landed(f);
      // One payment per order at most: one row per order.
      assert.deepEqual(
        { rows: got.rows, distinct: got.distinct, orders: got.orders, matched: got.matched },
        {
          rows: want.pairs.size + unpaid,
          distinct: want.pairs.size + unpaid,
          orders: report.counts.unique,
          matched: want.pairs.size,
        },
      );
      assert.equal(got.wrongAmount, 0);
      assert.equal(got.wrongTime, 0);
      await assertExactPairs(f, want, 'left');
      const nulls = await f.ch.query({
        query: `SELECT count() AS n FROM ${f.table} WHERE isNull(payment_id)
                  AND isNull(paid_amount) AND isNull(method) AND isNull(paid_at)`,
        format: 'JSONEachRow',
      });
      const [n] = await nulls.json<{ n: string }>();
      assert.equal(Number(n?.n), unpaid, 'unpaid orders have every right field null');
      assert.equal(join(text, { side: 'left', reason: 'unmatched' }), unpaid);
      assert.equal(join(text, { side: 'left', reason: 'matched' }), want.pairs.size);
      assert.equal(join(text, { side: 'left', reason: 'expired' }), 0);
      assert.equal(rowsOf(text, 'matched'), want.pairs.size);
      assert.equal(rowsOf(text, 'unmatched'), unpaid);
      process.stderr.write(`# left: ${got.rows} rows; ${Date.now() - started} ms\n`);
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    } finally {
      await agent?.stop();
      await f.cleanup();
    }
  });

  it('left join killed with SIGKILL mid-stream and restarted: no row doubled, none missing', async () => {
    const started = Date.now();
    const f = await joinFixture({ type: 'left', within: '2s', lateness: '500ms', idle: '2s' });
    let agent: WeirProcess = runWeir(['run', '-c', f.configPath]);
    const stopGenerator = new AbortController();
    try {
      // 50k orders at 5000/s: event time follows the wall clock; payments 0…1 s after orders.
      const load = loadFor(f, { count: 50_000, seed: 7, rate: 5000, joinDelayMs: 1000 });
      const producing = runGenerator(load, { signal: stopGenerator.signal });
      producing.catch(() => undefined); // awaited below; a failure before that must not go unhandled
      await whileRunning(
        agent,
        'joined rows to land',
        async () => (await rowCount(f)) > 8000,
        60_000,
        100,
      );
      agent.child.kill('SIGKILL');
      await agent.exited;
      const atKill = await rowCount(f);
      const firstRun = agent.output();
      agent = runWeir(['run', '-c', f.configPath]);
      const report = await producing;
      assert.ok(atKill < report.counts.unique * 0.8, `the kill should be mid-stream (${atKill})`);
      const want = expectedOf(load, report);
      await waitForDrain(f, agent, 60_000);
      const text = await metricsOf(f);
      const got = await landed(f);
      const unpaid = report.counts.unique - want.pairs.size;
      assert.deepEqual(
        { rows: got.rows, distinct: got.distinct, orders: got.orders, matched: got.matched },
        {
          rows: report.counts.unique,
          distinct: report.counts.unique,
          orders: report.counts.unique,
          matched: want.pairs.size,
        },
        `first run:\n${firstRun.slice(-4000)}\nsecond run:\n${agent.output().slice(-4000)}`,
      );
      await assertExactPairs(f, want, 'left');
      // The metrics are the second run's alone: at most every unpaid order again.
      assert.ok(join(text, { side: 'left', reason: 'unmatched' }) <= unpaid);
      const agentExit = await agent.stop();
      process.stderr.write(
        `# SIGKILL: ${atKill} rows at the kill, ${got.rows} at the end; ${Date.now() - started} ms\n`,
      );
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    } finally {
      stopGenerator.abort();
      await agent.stop();
      await f.cleanup();
    }
  });

  it('refuses to run when the right topic is not co-partitioned with the source', async () => {
    const started = Date.now();
    const f = await joinFixture({ type: 'inner', ...joinTimes, rightPartitions: 2 });
    try {
      const { code, output } = await weirOnce(['run', '-c', f.configPath], { timeoutMs: 60_000 });
      assert.notEqual(code, 0, output);
      assert.match(output, /not co-partitioned/);
      assert.match(output, new RegExp(`${f.payments} has 2 partitions`));
      process.stderr.write(`# co-partition: ${Date.now() - started} ms\n`);
    } finally {
      await f.cleanup();
    }
  });

  it('a second agent joining mid-stream takes over partition pairs, rebuilding their state', async () => {
    const started = Date.now();
    const f = await joinFixture({ type: 'left', within: '2s', lateness: '500ms', idle: '2s' });
    const port2 = await freePort();
    const one = runWeir(['run', '-c', f.configPath]);
    let two: WeirProcess | undefined;
    const stopGenerator = new AbortController();
    try {
      const load = loadFor(f, { count: 40_000, seed: 11, rate: 5000, joinDelayMs: 1000 });
      const producing = runGenerator(load, { signal: stopGenerator.signal });
      producing.catch(() => undefined); // awaited below
      await whileRunning(
        one,
        'joined rows to land',
        async () => (await rowCount(f)) > 5000,
        60_000,
      );
      two = runWeir(['run', '-c', f.configWithPort(port2)]);
      const owned = async (port: number) =>
        metricValue(
          (await getText(`http://127.0.0.1:${port}/metrics`)).body,
          'weir_assigned_partitions',
        );
      // Co-partitioned: each agent holds partition p of both topics, so 2 + 2 of 4 pairs.
      await whileRunning(
        one,
        'both agents to own partition pairs',
        async () => (await owned(f.port)) === PARTITIONS && (await owned(port2)) === PARTITIONS,
        60_000,
      );
      const report = await producing;
      const want = expectedOf(load, report);
      await waitForDrain(f, one, 90_000);
      const got = await landed(f);
      assert.deepEqual(
        { rows: got.rows, distinct: got.distinct, matched: got.matched },
        { rows: report.counts.unique, distinct: report.counts.unique, matched: want.pairs.size },
        `agent one:\n${one.output().slice(-3000)}\nagent two:\n${two.output().slice(-3000)}`,
      );
      await assertExactPairs(f, want, 'left');
      assert.match(two.output(), /join state rebuilt/);
      const twoExit = await two.stop();
      const oneExit = await one.stop();
      process.stderr.write(`# two agents: ${got.rows} rows; ${Date.now() - started} ms\n`);
      assert.equal(twoExit, 0, two.output().slice(-3000));
      assert.equal(oneExit, 0, one.output().slice(-3000));
    } finally {
      stopGenerator.abort();
      await two?.stop();
      await one.stop();
      await f.cleanup();
    }
  });

  it('pauses the right topic at max_buffer_records and resumes it as windows close', async () => {
    const started = Date.now();
    // ~15k payments in the backlog, read ahead of the orders: the bound is hit. It stays above
    // what the windows need (about 750 payments per second of event time × (5 s + 0.5 s) on
    // each side of the committed orders), so nothing is decided early.
    const f = await joinFixture({ type: 'inner', ...joinTimes, maxBuffer: 12_000 });
    let agent: WeirProcess | undefined;
    try {
      const load = loadFor(f, backlog);
      const report = await runGenerator(load);
      const want = expectedOf(load, report);
      assert.ok(report.counts.payments > 14_000, `${report.counts.payments} payments`);
      agent = runWeir(['run', '-c', f.configPath]);
      await waitForDrain(f, agent, 80_000);
      const text = await metricsOf(f);
      const agentExit = await agent.stop();
      assert.match(
        agent.output(),
        /join buffer full at max_buffer_records: pausing the right partition/,
      );
      await assertExactPairs(f, want, 'inner');
      assert.equal(join(text, { side: 'right', reason: 'late' }), 0, 'no window closed early');
      process.stderr.write(`# bounded buffer: ${Date.now() - started} ms\n`);
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    } finally {
      await agent?.stop();
      await f.cleanup();
    }
  });
});

/**
 * Orders a minute behind the event time their partitions have reached, written after the load:
 * stragglers far past any allowed lateness. Returns their ids.
 */
async function produceStragglers(f: JoinFixture, count: number, at: number): Promise<string[]> {
  const producer = kafka().producer();
  await producer.connect();
  const ids: string[] = [];
  try {
    const messages = Array.from({ length: count }, (_, i) => {
      const id = randomUUID();
      ids.push(id);
      const order = { event_id: id, user_id: `late-${i}`, amount: 1, ts: at };
      return { key: id, value: JSON.stringify(order), partition: i % PARTITIONS };
    });
    await producer.send({ topic: f.orders, messages });
  } finally {
    await producer.disconnect();
  }
  return ids;
}

describe('temporal join: late events never vanish', () => {
  // Both topics in arrival order with up to 2 s of event-time jitter (within the default 5 s
  // lateness), then stragglers 60 s behind. With the old default (lateness 0) most of the jittered
  // orders were dropped as late, and the stragglers always were.
  const STRAGGLERS = 40;
  const jittered = { count: 6000, seed: 13, intervalMs: 2, jitterMs: 2000, joinDelayMs: 1000 };

  for (const lateLeft of ['emit_unmatched', 'dead_letter'] as const) {
    it(`left join with the default lateness lands every order; late ones ${lateLeft === 'dead_letter' ? 'in the dead letters' : 'unmatched'}`, async () => {
      const started = Date.now();
      const f = await joinFixture({
        type: 'left',
        within: '5s',
        idle: '2s',
        ...(lateLeft === 'dead_letter' ? { lateLeft } : {}),
      });
      let agent: WeirProcess | undefined;
      try {
        const load = loadFor(f, jittered);
        const report = await runGenerator(load);
        const want = expectedOf(load, report);
        const late = await produceStragglers(f, STRAGGLERS, load.baseTime! - 60_000);
        agent = runWeir(['run', '-c', f.configPath]);
        await waitForDrain(f, agent, 80_000);
        const text = await metricsOf(f);
        assert.equal(await agent.stop(), 0, agent.output().slice(-3000));
        const got = await landed(f);
        const landedOrders = report.counts.unique + (lateLeft === 'dead_letter' ? 0 : STRAGGLERS);
        assert.deepEqual(
          { rows: got.rows, orders: got.orders, matched: got.matched },
          { rows: landedOrders, orders: landedOrders, matched: want.pairs.size },
          agent.output().slice(-3000),
        );
        const rs = await f.ch.query({
          query: `SELECT count() AS n, countIf(isNull(payment_id)) AS unmatched FROM ${f.table}
                  WHERE event_id IN (${late.map((id) => `'${id}'`).join(',')})`,
          format: 'JSONEachRow',
        });
        const [stragglers] = await rs.json<{ n: string; unmatched: string }>();
        const inTable = lateLeft === 'dead_letter' ? 0 : STRAGGLERS;
        assert.deepEqual(
          { n: Number(stragglers?.n), unmatched: Number(stragglers?.unmatched) },
          { n: inTable, unmatched: inTable },
        );
        assert.equal(join(text, { side: 'left', reason: 'late' }), STRAGGLERS);
        assert.match(
          agent.output(),
          /"side":"left","outcome":"(emitted_unmatched|dead_letter)","behind_ms":\d+/,
          'a late left event is logged',
        );
        if (lateLeft === 'dead_letter') {
          const dead = await readDeadLetters({ dlqTopic: f.dlq }, STRAGGLERS);
          assert.deepEqual(
            dead.map((d) => `${d.stage}:${d.reason}`),
            Array<string>(STRAGGLERS).fill('join:late'),
          );
          const deadIds = new Set(
            dead.map((d) => (JSON.parse(d.value) as { event_id: string }).event_id),
          );
          assert.ok(
            late.every((id) => deadIds.has(id)),
            'the dead letters are the stragglers',
          );
        }
        process.stderr.write(
          `# late (${lateLeft}): ${got.rows} rows, ${STRAGGLERS} stragglers; ${Date.now() - started} ms\n`,
        );
      } finally {
        await agent?.stop();
        await f.cleanup();
      }
    });
  }
});

describe('temporal join: the buffer bounded in bytes', () => {
  // 960 payments of ~10 KB (text of "ü" and "€": UTF-8 bytes decide, not string .length) against a
  // 1 MiB buffer, written before the agent starts: with no order yet nothing can leave the buffer,
  // so the byte bound is reached for sure. The orders come after. What the windows need stays far
  // below the bound: per partition, 2 × (1 s + 0.2 s) of event time plus what one fetch of orders
  // spans (64 KiB of 8 KB orders, ~8 s): ~9 payments, ~90 KB; ~360 KB for all four.
  const ORDERS_10K = 1200;
  const MAX_BYTES = 1024 * 1024;

  type Message = { key: string; value: string; partition: number };

  /** Small sends, one at a time: each partition stays in order, every request far below 1 MB. */
  async function send(topic: string, messages: Message[]): Promise<void> {
    const producer = kafka().producer();
    await producer.connect();
    try {
      for (let i = 0; i < messages.length; i += 20)
        await producer.send({ topic, messages: messages.slice(i, i + 20) });
    } finally {
      await producer.disconnect();
    }
  }

  /** Orders 250 ms apart (1 s within a partition); 4 in 5 get a payment 50 ms later. */
  function makeLoad() {
    const base = Date.now() - 3_600_000;
    const orders: Message[] = [];
    const payments: Message[] = [];
    const want: Expected = { orders: new Set(), pairs: new Set() };
    let noteBytes = 0;
    for (let i = 0; i < ORDERS_10K; i++) {
      const id = randomUUID();
      const partition = i % PARTITIONS;
      const ts = base + i * 250;
      // `pad` is not in the schema: it only makes a fetch of orders span few of them.
      const order = { event_id: id, user_id: `u${i}`, amount: i, ts, pad: 'x'.repeat(8000) };
      orders.push({ key: id, value: JSON.stringify(order), partition });
      want.orders.add(id);
      if (i % 5 === 0) continue;
      const paymentId = randomUUID();
      const note = `${paymentId}:${'ü€'.repeat(2000)}`; // 10,037 bytes, 4,037 code units
      noteBytes += Buffer.byteLength(note);
      const payment = {
        payment_id: paymentId,
        order_id: id,
        amount: i,
        method: 'card',
        ts: ts + 50,
      };
      payments.push({ key: id, value: JSON.stringify({ ...payment, note }), partition });
      want.pairs.add(`${id}|${paymentId}`);
    }
    return { orders, payments, want, noteBytes };
  }

  it('pauses the right topic at max_buffer_bytes with 10 KB payments; every pair lands once', async () => {
    const started = Date.now();
    const f = await joinFixture({
      type: 'inner',
      within: '1s',
      lateness: '200ms',
      idle: '5s',
      maxBufferBytes: MAX_BYTES,
      maxBytesPerPartition: 64 * 1024,
      note: true,
    });
    let agent: WeirProcess | undefined;
    try {
      const load = makeLoad();
      await send(f.payments, load.payments);
      agent = runWeir(['run', '-c', f.configPath]);
      const a = agent;
      await whileRunning(
        a,
        'the right partitions to be paused at max_buffer_bytes',
        () =>
          Promise.resolve(
            /join buffer full at max_buffer_bytes: pausing the right partition/.test(a.output()),
          ),
        60_000,
      );
      const paused = await metricsOf(f);
      const buffered = metricValue(paused, 'weir_join_buffer_bytes', { side: 'right' });
      assert.ok(buffered >= MAX_BYTES, `${buffered} bytes buffered at the pause`);
      await send(f.orders, load.orders);
      await waitForDrain(f, agent, 120_000);
      const text = await metricsOf(f);
      const agentExit = await agent.stop();
      assert.doesNotMatch(agent.output(), /join buffer full at max_buffer_records/);
      await assertExactPairs(f, load.want, 'inner');
      const rs = await f.ch.query({
        query: `SELECT sum(length(assumeNotNull(note))) AS bytes FROM ${f.table}`,
        format: 'JSONEachRow',
      });
      const [sum] = await rs.json<{ bytes: string }>();
      assert.equal(Number(sum?.bytes), load.noteBytes, 'every note landed whole');
      assert.equal(join(text, { side: 'right', reason: 'late' }), 0, 'no window closed early');
      assert.equal(join(text, { side: 'left', reason: 'late' }), 0);
      const after = metricValue(text, 'weir_join_buffer_bytes', { side: 'right' });
      assert.ok(after < MAX_BYTES, `${after} bytes buffered at the end`);
      process.stderr.write(`# byte-bounded buffer: ${Date.now() - started} ms\n`);
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    } finally {
      await agent?.stop();
      await f.cleanup();
    }
  });
});
