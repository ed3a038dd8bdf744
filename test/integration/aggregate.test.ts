// The windowed aggregation end to end: generated orders through the real `weir run`, two
// pipelines on the same topic, each with its own consumer group: `raw` lands every order in a
// plain table, `agg` lands per (partition, currency, 2 s window) the count, sum, min, max, avg,
// exact and approximate distinct users, in a table it creates itself (create_table, a
// ReplicatedMergeTree, so the batch ledger makes it exactly-once). The aggregate table must equal
// the same aggregates computed by ClickHouse from the raw table, row for row: after a SIGKILL
// mid-stream and a restart, and with a second agent joining the group mid-stream.
//
// Windows close as later records arrive: in the SIGKILL test, once the orders are written, one
// "closer" order per partition, a day of event time later (currency ZZZ, left out of the
// comparison), closes them; in the two-agent test the idle rule does (idle_timeout).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  freePort,
  getText,
  metricValue,
  runWeir,
  writeConfig,
  type WeirProcess,
} from '../helpers/agent.ts';
import { clickhouse, endpoints, kafka, natsConnect, randomName } from '../helpers/stack.ts';
import { runGenerator, type GeneratorReport } from '../../src/generate/producer.ts';
import type { GeneratorOptions } from '../../src/generate/options.ts';

const PARTITIONS = 4;
const WINDOW_MS = 2000;

interface Fixture {
  topic: string;
  raw: string;
  agg: string;
  groups: string[];
  port: number;
  configPath: string;
  configWithPort(port: number): string;
  ch: ClickHouseClient;
  cleanup(): Promise<void>;
}

async function fixture(o: { idle?: string } = {}): Promise<Fixture> {
  const id = randomName('agg');
  const topic = `weir-${id}`;
  const raw = `t_${id}_raw`;
  const agg = `t_${id}_agg`;
  const groups = [`g-${id}-raw`, `g-${id}-agg`];
  const aggBucket = `weir_agg_test_${id}`;
  const ledgerBucket = `weir_ledger_test_${id}`;
  const port = await freePort();
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS }],
    waitForLeaders: true,
  });
  const ch = clickhouse();
  await ch.command({
    query: `CREATE TABLE ${raw} (
      event_id String, user_id String, amount Float64, currency String, ts_ms Int64,
      src_partition Int32, src_offset String
    ) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${raw}', '{replica}')
      ORDER BY (event_id)`,
  });
  const fields = {
    event_id: 'uuid',
    user_id: 'string',
    amount: 'number',
    currency: 'string',
    created_at: { type: 'datetime', path: 'ts' },
    ts_ms: { type: 'integer', path: 'ts' },
    src_partition: { type: 'integer', from: 'partition' },
    src_offset: { type: 'string', from: 'offset' },
  };
  const sink = (table: string) => ({
    url: endpoints.clickhouse,
    table,
    batch: { max_rows: 5000, max_delay_ms: 300 },
    retry: { initial_ms: 200, max_ms: 2000 },
    exactly_once: { mode: 'required', nats: { servers: [endpoints.nats], bucket: ledgerBucket } },
  });
  const source = (group: string) => ({
    brokers: [endpoints.kafka],
    topics: [topic],
    group_id: group,
    // A killed member holds its partitions until its session times out.
    session_timeout_ms: 6000,
  });
  const config = (httpPort: number) => ({
    agent: {
      http: { host: '127.0.0.1', port: httpPort },
      shutdown_timeout_ms: 20_000,
      stall_timeout_ms: 30_000,
    },
    pipelines: [
      {
        name: 'raw',
        source: source(groups[0]!),
        schema: { fields },
        transforms: [{ drop: ['created_at'] }],
        sink: { clickhouse: sink(raw) },
        dead_letter: { topic: `${topic}.raw.dlq` },
      },
      {
        name: 'agg',
        source: source(groups[1]!),
        schema: { fields },
        aggregate: {
          window: { tumbling: `${WINDOW_MS}ms` },
          time: { field: 'created_at' },
          group_by: ['src_partition', 'currency'],
          measures: {
            orders: 'count()',
            amount_sum: 'sum(amount)',
            amount_min: 'min(amount)',
            amount_max: 'max(amount)',
            amount_avg: 'avg(amount)',
            users: 'uniq(user_id)',
            users_approx: 'uniq_approx(user_id)',
          },
          allowed_lateness: '1s',
          ...(o.idle ? { idle_timeout: o.idle } : {}),
          nats: { servers: [endpoints.nats], bucket: aggBucket },
        },
        sink: {
          clickhouse: {
            ...sink(agg),
            create_table: {
              engine: `ReplicatedMergeTree('/clickhouse/tables/{shard}/${agg}', '{replica}')`,
              order_by: ['src_partition', 'currency', 'window_start'],
            },
          },
        },
        dead_letter: { topic: `${topic}.agg.dlq` },
      },
    ],
  });
  return {
    topic,
    raw,
    agg,
    groups,
    port,
    configPath: writeConfig(config(port)),
    configWithPort: (p) => writeConfig(config(p)),
    ch,
    cleanup: async () => {
      for (const t of [raw, agg])
        await ch.command({ query: `DROP TABLE IF EXISTS ${t}` }).catch(() => undefined);
      await ch.close();
      await admin.deleteGroups(groups).catch(() => undefined);
      const existing = new Set(await admin.listTopics().catch(() => [] as string[]));
      const topics = [topic, `${topic}.raw.dlq`, `${topic}.agg.dlq`].filter((t) => existing.has(t));
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
      const nc = await natsConnect();
      const jsm = await nc.jetstreamManager();
      for (const b of [aggBucket, ledgerBucket])
        await jsm.streams.delete(`KV_${b}`).catch(() => undefined);
      await nc.close();
    },
  };
}

/** Orders with out-of-order event times (up to 300 ms, within the allowed lateness of 1 s). */
function loadFor(f: Fixture, o: { count: number; seed: number; rate: number }): GeneratorOptions {
  return {
    brokers: [endpoints.kafka],
    topic: f.topic,
    partitions: PARTITIONS,
    keyed: true,
    dupRate: 0,
    badRate: 0,
    joinRate: 0,
    orphanRate: 0,
    jitterMs: 300,
    // Event time runs 4x faster than the wall clock: many windows in a short test.
    intervalMs: 4000 / o.rate,
    baseTime: Date.UTC(2026, 0, 1),
    maxInFlight: 1,
    ...o,
  };
}

/** One order per partition an hour of event time after the last one: every window closes. */
async function closeWindows(f: Fixture, report: GeneratorReport): Promise<void> {
  const producer = kafka().producer();
  await producer.connect();
  try {
    const ts = report.baseTime + 3_600_000 * 24;
    await producer.send({
      topic: f.topic,
      messages: Array.from({ length: PARTITIONS }, (_, partition) => ({
        partition,
        value: JSON.stringify({
          event_id: randomUUID(),
          user_id: 'closer',
          amount: 0,
          currency: 'ZZZ',
          ts,
        }),
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

async function lag(f: Fixture): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    let total = 0;
    const highs = await admin.fetchTopicOffsets(f.topic);
    for (const group of f.groups) {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [f.topic] });
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

/** Polls `check` until it holds; fails at once (with the agents' logs) if an agent exits. */
async function whileRunning(
  agents: WeirProcess[],
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const logs = () => agents.map((a) => a.output().slice(-3000)).join('\n----\n');
  let lastErr: unknown;
  for (;;) {
    for (const agent of agents) {
      const code = agent.child.exitCode ?? agent.child.signalCode;
      if (code !== null)
        throw new Error(`an agent exited (${code}) while waiting for ${what}:\n${logs()}`);
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastErr instanceof Error ? `: ${lastErr.message}` : ''}\n${logs()}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function query<T>(ch: ClickHouseClient, q: string): Promise<T[]> {
  const rs = await ch.query({ query: q, format: 'JSONEachRow' });
  return rs.json<T>();
}

const count = async (ch: ClickHouseClient, table: string) =>
  Number((await query<{ n: string }>(ch, `SELECT count() AS n FROM ${table}`))[0]?.n ?? 0);

/** Rows of a table the agent creates; 0 until it exists. */
const created = async (ch: ClickHouseClient, table: string) =>
  (await query(ch, `SELECT name FROM system.tables WHERE name = '${table}'`)).length > 0
    ? count(ch, table)
    : 0;

interface AggRow {
  p: number;
  currency: string;
  ws: number;
  we: number;
  orders: number;
  amount_sum: number;
  amount_min: number;
  amount_max: number;
  amount_avg: number;
  users: number;
  users_approx: number;
}

const num = (r: Record<string, unknown>): AggRow =>
  Object.fromEntries(
    Object.entries(r).map(([k, v]) => [k, k === 'currency' ? v : Number(v)]),
  ) as unknown as AggRow;

/** The aggregate table equals ClickHouse's own aggregates of the raw table, row for row. */
async function assertSameAggregates(
  f: Fixture,
  raw: number,
  closers: number,
  context: () => string,
) {
  const got = (
    await query<Record<string, unknown>>(
      f.ch,
      `SELECT src_partition AS p, currency, toUInt32(window_start) AS ws, toUInt32(window_end) AS we,
              orders, amount_sum, amount_min, amount_max, amount_avg, users, users_approx
       FROM ${f.agg} WHERE currency != 'ZZZ' ORDER BY p, currency, ws`,
    )
  ).map(num);
  const want = (
    await query<Record<string, unknown>>(
      f.ch,
      `SELECT src_partition AS p, currency, intDiv(ts_ms, ${WINDOW_MS}) * ${WINDOW_MS / 1000} AS ws,
              ws + ${WINDOW_MS / 1000} AS we, count() AS orders, sum(amount) AS amount_sum,
              min(amount) AS amount_min, max(amount) AS amount_max, avg(amount) AS amount_avg,
              uniqExact(user_id) AS users, uniqExact(user_id) AS users_approx
       FROM ${f.raw} WHERE currency != 'ZZZ' GROUP BY p, currency, ws ORDER BY p, currency, ws`,
    )
  ).map(num);
  assert.equal(await count(f.ch, f.raw), raw + closers, 'every order landed raw, once');
  assert.ok(want.length > 100, `only ${want.length} windows`);
  const key = (r: AggRow) => `${r.p}|${r.currency}|${r.ws}|${r.we}`;
  assert.deepEqual(got.map(key), want.map(key), `the same windows, each once\n${context()}`);
  let approxOff = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const k = key(w);
    assert.deepEqual(
      [g.orders, g.amount_min, g.amount_max, g.users],
      [w.orders, w.amount_min, w.amount_max, w.users],
      k,
    );
    // Float sums in another order: equal to the last few bits.
    assert.ok(Math.abs(g.amount_sum - w.amount_sum) <= 1e-9 * Math.abs(w.amount_sum) + 1e-9, k);
    assert.ok(Math.abs(g.amount_avg - w.amount_avg) <= 1e-9 * Math.abs(w.amount_avg) + 1e-9, k);
    const off = Math.abs(g.users_approx - w.users) / w.users;
    approxOff = Math.max(approxOff, off);
    // Small sets: two values may share a register (linear counting), a few off.
    assert.ok(
      off <= 0.05 || Math.abs(g.users_approx - w.users) <= 2,
      `${k}: uniq_approx ${g.users_approx} for ${w.users} distinct`,
    );
  }
  return { windows: want.length, approxOff };
}

async function metricsOf(port: number): Promise<string> {
  return (await getText(`http://127.0.0.1:${port}/metrics`)).body;
}

describe('aggregate (end to end)', { timeout: 300_000 }, () => {
  for (const idle of [undefined, '3s'])
    it(`killed with SIGKILL mid-stream and restarted: the same rows as ClickHouse computes, once (${idle ? `idle_timeout ${idle}` : 'no idle rule'})`, async () => {
      const started = Date.now();
      const f = await fixture({ idle });
      let agent: WeirProcess = runWeir(['run', '-c', f.configPath]);
      const stop = new AbortController();
      try {
        const load = loadFor(f, { count: 60_000, seed: 5, rate: 5000 });
        const producing = runGenerator(load, { signal: stop.signal });
        producing.catch(() => undefined);
        await whileRunning(
          [agent],
          'aggregate rows to land',
          async () => (await created(f.ch, f.agg)) > 50,
          60_000,
          100,
        );
        agent.child.kill('SIGKILL');
        await agent.exited;
        const atKill = await count(f.ch, f.agg);
        const firstRun = agent.output();
        agent = runWeir(['run', '-c', f.configPath]);
        const report = await producing;
        // Without an idle rule, closer records close the last windows.
        if (!idle) await closeWindows(f, report);
        await whileRunning(
          [agent],
          'both groups to commit everything',
          async () => (await lag(f)) === 0,
          90_000,
          500,
        );
        const text = await metricsOf(f.port);
        const { windows, approxOff } = await assertSameAggregates(
          f,
          report.counts.total,
          idle ? 0 : PARTITIONS,
          () => `first run:\n${firstRun.slice(-3000)}\nsecond run:\n${agent.output().slice(-3000)}`,
        );
        assert.ok(
          atKill < windows * 0.8,
          `the kill should be mid-stream (${atKill} of ${windows})`,
        );
        assert.equal(
          metricValue(text, 'weir_aggregate_records_total', { pipeline: 'agg', reason: 'late' }),
          0,
        );
        assert.ok(metricValue(text, 'weir_aggregate_rows_total', { pipeline: 'agg' }) > 0);
        assert.match(agent.output(), /aggregate state rebuilt/);
        assert.equal(metricValue(text, 'weir_exactly_once', { pipeline: 'agg' }), 1);
        const exit = await agent.stop();
        process.stderr.write(
          `# SIGKILL (${idle ?? 'no idle rule'}): ${atKill} rows at the kill, ${windows} windows; uniq_approx off by ${(approxOff * 100).toFixed(2)} % at most; ${Date.now() - started} ms\n`,
        );
        assert.equal(exit, 0, agent.output().slice(-3000));
      } finally {
        stop.abort();
        await agent.stop();
        await f.cleanup();
      }
    });

  it('a second agent joining mid-stream takes over partitions; the idle rule closes the last windows', async () => {
    const started = Date.now();
    // No closer records: the last windows of each partition close by the idle rule. The timeout
    // is above a rebalance's pause, so no window closes early while the agents hand over.
    const f = await fixture({ idle: '10s' });
    const port2 = await freePort();
    const one = runWeir(['run', '-c', f.configPath]);
    let two: WeirProcess | undefined;
    const stop = new AbortController();
    try {
      const load = loadFor(f, { count: 60_000, seed: 9, rate: 5000 });
      const producing = runGenerator(load, { signal: stop.signal });
      producing.catch(() => undefined);
      await whileRunning(
        [one],
        'aggregate rows to land',
        async () => (await created(f.ch, f.agg)) > 50,
        60_000,
      );
      two = runWeir(['run', '-c', f.configWithPort(port2)]);
      const owned = async (port: number) =>
        metricValue(await metricsOf(port), 'weir_assigned_partitions', { pipeline: 'agg' });
      await whileRunning(
        [one, two],
        'both agents to own aggregate partitions',
        async () => (await owned(f.port)) > 0 && (await owned(port2)) > 0,
        60_000,
      );
      const report = await producing;
      await whileRunning(
        [one, two],
        'both groups to commit everything',
        async () => (await lag(f)) === 0,
        90_000,
        500,
      );
      const { windows } = await assertSameAggregates(
        f,
        report.counts.total,
        0,
        () => `agent one:\n${one.output().slice(-3000)}\nagent two:\n${two!.output().slice(-3000)}`,
      );
      assert.match(two.output(), /aggregate state rebuilt/);
      const twoExit = await two.stop();
      const oneExit = await one.stop();
      process.stderr.write(`# two agents: ${windows} windows; ${Date.now() - started} ms\n`);
      assert.equal(twoExit, 0, two.output().slice(-3000));
      assert.equal(oneExit, 0, one.output().slice(-3000));
    } finally {
      stop.abort();
      await two?.stop();
      await one.stop();
      await f.cleanup();
    }
  });
});
