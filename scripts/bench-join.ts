// `npm run bench:join -- [--events N] [--runs K] …`: the temporal join's throughput on the local
// stack (started beforehand with `npm run stack -- up`; the bench never starts or stops services).
// Per run:
//   1. N generated orders and their payments (a fraction joinRate of the orders get one, 0…5 s
//      after it in event time; a few orphan payments have no order), keyed by the join key, into
//      two fresh topics with the same partition count;
//   2. `weir run` as a child process: an inner join of orders with payments (NATS-backed buffer),
//      exactly-once into a fresh ReplicatedMergeTree table;
//   3. timed from the consumer group joined (Stable, every partition of both topics assigned) to
//      the table holding every expected joined row; then the agent stops and the rows are checked
//      (count and distinct (order, payment) pairs equal the generator's joinable pairs).
// The backlog spans N × interval-ms of event time, so windows close as the payments stream is
// read; the last `within` of orders is decided by the idle rule, `idle_timeout` after the last
// payment is read, and that wait is part of the time. Figures are medians over the runs.
// Progress goes to stderr; the last line of stdout is one JSON object.
import { cpus, loadavg, totalmem } from 'node:os';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin } from 'kafkajs';
import { runGenerator } from '../src/generate/index.ts';
import { CpuMeter, MachineCpuMeter, peakRssMiB } from './bench/proc.ts';
import { median, metricSum, round } from './bench/stats.ts';
import {
  Cleanup,
  clickhouseClient,
  countRows,
  deleteBuckets,
  endpoints,
  freePort,
  freshId,
  groupJoined,
  kafkaClient,
  log,
  natsReachable,
  rowsReach,
} from './bench/stack.ts';
import { AgentChild } from './bench/weir.ts';

interface Options {
  events: number;
  runs: number;
  partitions: number;
  joinRate: number;
  orphanRate: number;
  joinDelayMs: number;
  /** Event-time step between orders (the backlog spans events × intervalMs). */
  intervalMs: number;
  within: string;
  lateness: string;
  idle: string;
  maxRows: number;
  seed: number;
  keep: boolean;
}

const defaults: Options = {
  events: 200_000,
  runs: 1,
  partitions: 4,
  joinRate: 0.8,
  orphanRate: 0.05,
  joinDelayMs: 5000,
  intervalMs: 1,
  within: '10s',
  lateness: '1s',
  idle: '2s',
  maxRows: 50_000,
  seed: 1,
  keep: false,
};

const usage = `usage: npm run bench:join -- [options]
  --events N        orders per run (default ${defaults.events})
  --runs K          runs; the figures are medians (default ${defaults.runs})
  --partitions P    partitions of both topics (default ${defaults.partitions})
  --join-rate R     fraction of orders with a payment (default ${defaults.joinRate})
  --interval-ms X   event time between orders (default ${defaults.intervalMs})
  --within D        join window (default ${defaults.within})
  --idle D          join idle_timeout (default ${defaults.idle})
  --max-rows N      rows per insert at most (default ${defaults.maxRows})
  --seed S          generator seed (default ${defaults.seed})
  --keep            keep topics, table, group and NATS buckets`;

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${usage}`);
      return v;
    };
    const num = (min: number, max: number, integer = true): number => {
      const v = Number(value());
      if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v)))
        throw new Error(
          `${a} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`,
        );
      return v;
    };
    switch (a) {
      case '--events':
        o.events = num(1000, 100_000_000);
        break;
      case '--runs':
        o.runs = num(1, 99);
        break;
      case '--partitions':
        o.partitions = num(1, 256);
        break;
      case '--join-rate':
        o.joinRate = num(0.01, 1, false);
        break;
      case '--interval-ms':
        o.intervalMs = num(0.001, 60_000, false);
        break;
      case '--within':
        o.within = value();
        break;
      case '--idle':
        o.idle = value();
        break;
      case '--max-rows':
        o.maxRows = num(1, 10_000_000);
        break;
      case '--seed':
        o.seed = num(0, Number.MAX_SAFE_INTEGER);
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--help':
      case '-h':
        process.stderr.write(`${usage}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}\n${usage}`);
    }
  }
  return o;
}

interface Names {
  id: string;
  orders: string;
  payments: string;
  table: string;
  group: string;
  joinBucket: string;
  ledgerBucket: string;
}

const ORDER_COLUMNS = `event_id String, user_id String, session_id String, amount Float64,
  currency String, status String, country String, device String, items String, created_at DateTime`;
const PAYMENT_COLUMNS = `payment_id String, paid_amount Float64, method String, paid_at DateTime`;

function joinConfig(o: Options, n: Names, port: number): unknown {
  const left = [
    'event_id',
    'user_id',
    'session_id',
    'amount',
    'currency',
    'status',
    'country',
    'device',
    'items',
    'created_at',
  ];
  return {
    agent: {
      http: { host: '127.0.0.1', port },
      log_level: 'warn',
      shutdown_timeout_ms: 30_000,
    },
    pipelines: [
      {
        name: 'bench_join',
        source: { brokers: [endpoints.kafka], topics: [n.orders], group_id: n.group },
        schema: {
          fields: {
            event_id: 'uuid',
            user_id: 'string',
            session_id: 'string',
            amount: 'number',
            currency: 'string',
            status: 'string',
            country: 'string',
            device: 'string',
            items: 'json',
            created_at: { type: 'datetime', path: 'ts' },
          },
        },
        join: {
          type: 'inner',
          within: o.within,
          allowed_lateness: o.lateness,
          idle_timeout: o.idle,
          left: { key: 'event_id', time: 'created_at' },
          right: {
            topic: n.payments,
            schema: {
              fields: {
                payment_id: 'uuid',
                order_id: 'string',
                amount: 'number',
                method: 'string',
                paid_at: { type: 'datetime', path: 'ts' },
              },
            },
            key: 'order_id',
            time: 'paid_at',
          },
          fields: {
            ...Object.fromEntries(left.map((f) => [f, `left.${f}`])),
            payment_id: 'right.payment_id',
            paid_amount: 'right.amount',
            method: 'right.method',
            paid_at: 'right.paid_at',
          },
          nats: { servers: [endpoints.nats], bucket: n.joinBucket },
        },
        sink: {
          clickhouse: {
            url: endpoints.clickhouse,
            table: n.table,
            batch: { max_rows: o.maxRows, max_delay_ms: 1000 },
            exactly_once: {
              mode: 'required',
              nats: { servers: [endpoints.nats], bucket: n.ledgerBucket },
            },
          },
        },
        dead_letter: { topic: `${n.orders}.dlq` },
      },
    ],
  };
}

interface RunResult {
  orders: number;
  payments: number;
  expectedPairs: number;
  rows: number;
  distinctPairs: number;
  rowsOk: boolean;
  seconds: number;
  wallSeconds: number;
  pairsPerSec: number;
  inputPerSec: number;
  cpuCores: number | null;
  machineCores: number | null;
  peakRssMb: number | null;
  producedPerSec: number;
  exactlyOnce: boolean;
  lateLeft: number;
  lateRight: number;
  bufferedRightAtEnd: number;
}

async function distinctPairs(ch: ClickHouseClient, table: string): Promise<number> {
  const rs = await ch.query({
    query: `SELECT uniqExact(event_id, payment_id) AS n FROM ${table}`,
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ n: string }>();
  return Number(row?.n ?? 0);
}

async function oneRun(o: Options, run: number, admin: Admin): Promise<RunResult> {
  const id = freshId();
  const n: Names = {
    id,
    orders: `weir-bench-join-${id}-orders`,
    payments: `weir-bench-join-${id}-payments`,
    table: `bench_join_${id}`,
    group: `weir-bench-join-${id}`,
    joinBucket: `weir_bench_join_${id}`,
    ledgerBucket: `weir_bench_join_ledger_${id}`,
  };
  const cleanup = new Cleanup();
  const ch = clickhouseClient();
  try {
    cleanup.add('delete topics', async () => {
      // Only existing ones: deleting a missing topic makes kafkajs retry for 10 s.
      const existing = new Set(await admin.listTopics());
      const topics = [n.orders, n.payments, `${n.orders}.dlq`].filter((t) => existing.has(t));
      await admin.deleteTopics({ topics }).catch(() => undefined);
    });
    await admin.createTopics({
      topics: [
        { topic: n.orders, numPartitions: o.partitions },
        { topic: n.payments, numPartitions: o.partitions },
      ],
      waitForLeaders: true,
    });
    log(
      `run ${run}: producing ${o.events} orders and their payments into ${n.orders}, ${n.payments}`,
    );
    const report = await runGenerator({
      brokers: [endpoints.kafka],
      topic: n.orders,
      joinTopic: n.payments,
      count: o.events,
      partitions: o.partitions,
      keyed: true,
      dupRate: 0,
      badRate: 0,
      joinRate: o.joinRate,
      orphanRate: o.orphanRate,
      joinDelayMs: o.joinDelayMs,
      intervalMs: o.intervalMs,
      seed: o.seed,
      // One produce request at a time: concurrent kafkajs sends can land out of order within a
      // partition, and the join drops what is later than allowed_lateness.
      maxInFlight: 1,
    });
    const c = report.counts;
    log(
      `run ${run}: ${c.unique} orders, ${c.payments} payments (${c.joinablePairs} with an order, ${c.orphanPayments} orphans), produced at ${report.messagesPerSec} messages/s`,
    );
    await ch.command({
      query: `CREATE TABLE ${n.table} (${ORDER_COLUMNS}, ${PAYMENT_COLUMNS})
        ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${n.table}', '{replica}')
        ORDER BY event_id`,
    });
    cleanup.add(`drop ${n.table}`, () => ch.command({ query: `DROP TABLE IF EXISTS ${n.table}` }));
    cleanup.add(`delete group ${n.group}`, () =>
      admin.deleteGroups([n.group]).catch(() => undefined),
    );
    cleanup.add('delete buckets', () => deleteBuckets([n.joinBucket, n.ledgerBucket]));
    const port = await freePort();
    const t0 = Date.now();
    const agent = new AgentChild(joinConfig(o, n, port), port);
    try {
      const alive = () => agent.alive;
      const withTail = (err: unknown): never => {
        throw new Error(`${(err as Error).message}\nagent output:\n${agent.tail(30)}`, {
          cause: err,
        });
      };
      // Both topics' partitions are assigned to the group.
      const started = await groupJoined(admin, n.group, 2 * o.partitions, 120_000, alive).catch(
        withTail,
      );
      const meter = new CpuMeter(agent.pid);
      const machine = new MachineCpuMeter();
      meter.start();
      machine.start();
      const done = await rowsReach(ch, n.table, c.joinablePairs, 'weir join', {
        alive,
        stallMs: 60_000,
      }).catch(withTail);
      const cpuCores = meter.cores();
      const machineCores = machine.cores();
      const peakRssMb = peakRssMiB(agent.pid);
      const text = await agent.metrics();
      const code = await agent.stop();
      if (code !== 0) throw new Error(`the agent exited with ${code}:\n${agent.tail(30)}`);
      // After a clean stop nothing more can land: the count is final.
      const rows = await countRows(ch, n.table);
      const distinct = await distinctPairs(ch, n.table);
      const seconds = (done - started) / 1000;
      return {
        orders: c.unique,
        payments: c.payments,
        expectedPairs: c.joinablePairs,
        rows,
        distinctPairs: distinct,
        rowsOk: rows === c.joinablePairs && distinct === c.joinablePairs,
        seconds,
        wallSeconds: (done - t0) / 1000,
        pairsPerSec: c.joinablePairs / seconds,
        inputPerSec: (c.unique + c.payments) / seconds,
        cpuCores,
        machineCores,
        peakRssMb,
        producedPerSec: report.messagesPerSec,
        exactlyOnce: metricSum(text, 'weir_exactly_once') === 1,
        lateLeft: metricSum(text, 'weir_join_records_total', { side: 'left', reason: 'late' }),
        lateRight: metricSum(text, 'weir_join_records_total', { side: 'right', reason: 'late' }),
        bufferedRightAtEnd: metricSum(text, 'weir_join_buffer_records', { side: 'right' }),
      };
    } finally {
      await agent.stop();
    }
  } finally {
    if (o.keep) log(`run ${run}: kept ${n.orders}, ${n.payments}, ${n.table}, ${n.group}`);
    else await cleanup.run();
    await ch.close();
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  log(
    `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${round(loadavg()[0] ?? 0, 2)}; ${o.runs} run(s) of ${o.events} orders, join within ${o.within}`,
  );
  const admin = kafkaClient().admin();
  const ch = clickhouseClient();
  try {
    await admin.connect();
    const ping = await ch.ping();
    if (!ping.success) throw ping.error;
    await natsReachable();
  } catch (err) {
    await admin.disconnect().catch(() => undefined);
    throw new Error(
      `the local stack is not reachable (${err instanceof Error ? err.message : String(err)}): start it with npm run stack -- up`,
      { cause: err },
    );
  } finally {
    await ch.close();
  }
  const runs: RunResult[] = [];
  let error: string | null = null;
  try {
    for (let run = 1; run <= o.runs && error === null; run++) {
      let r: RunResult;
      try {
        r = await oneRun(o, run, admin);
      } catch (err) {
        error = `run ${run}: ${err instanceof Error ? err.message : String(err)}`;
        log(`failed: ${error}`);
        break;
      }
      runs.push(r);
      log(
        `run ${run}: ${r.rows} rows of ${r.expectedPairs} expected (${r.rowsOk ? 'exact' : 'WRONG'}) in ${round(r.seconds, 2)} s: ${Math.round(r.pairsPerSec)} joined pairs/s, ${Math.round(r.inputPerSec)} input events/s, ${round(r.cpuCores, 2)} cores, ${round(r.peakRssMb)} MiB peak RSS`,
      );
    }
  } finally {
    await admin.disconnect();
  }
  const m = (pick: (r: RunResult) => number | null, digits = 0) =>
    round(median(runs.map(pick).filter((v): v is number => v !== null)), digits);
  const summary = {
    command: `npm run bench:join -- ${process.argv.slice(2).join(' ')}`.trim(),
    nproc: cpus().length,
    events: o.events,
    runs: runs.length,
    partitions: o.partitions,
    join: {
      type: 'inner',
      within: o.within,
      allowed_lateness: o.lateness,
      idle_timeout: o.idle,
      join_rate: o.joinRate,
      join_delay_ms: o.joinDelayMs,
      interval_ms: o.intervalMs,
    },
    orders: m((r) => r.orders),
    payments: m((r) => r.payments),
    expected_pairs: m((r) => r.expectedPairs),
    rows: m((r) => r.rows),
    rows_ok: error === null && runs.every((r) => r.rowsOk),
    error: error?.split('\n')[0] ?? null,
    exactly_once: runs.every((r) => r.exactlyOnce),
    seconds: m((r) => r.seconds, 2),
    joined_pairs_per_s: m((r) => r.pairsPerSec),
    input_events_per_s: m((r) => r.inputPerSec),
    agent_cpu_cores: m((r) => r.cpuCores, 2),
    machine_busy_cores: m((r) => r.machineCores, 2),
    peak_rss_mb: m((r) => r.peakRssMb),
    wall_seconds: m((r) => r.wallSeconds, 1),
    late_left: m((r) => r.lateLeft),
    late_right: m((r) => r.lateRight),
    per_run: {
      seconds: runs.map((r) => round(r.seconds, 2)),
      joined_pairs_per_s: runs.map((r) => round(r.pairsPerSec)),
      agent_cpu_cores: runs.map((r) => round(r.cpuCores, 2)),
      peak_rss_mb: runs.map((r) => round(r.peakRssMb)),
      rows_ok: runs.map((r) => r.rowsOk),
    },
    method:
      'from the consumer group joined (both topics assigned) to the first 100 ms poll that sees every expected joined row; includes the idle_timeout wait for the last window',
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary.rows_ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
