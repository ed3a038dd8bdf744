// `npm run bench:aggregate -- [--events N] [--engine-only]`: the windowed aggregation's throughput.
//   1. The engine alone: N generated orders (parsed rows) folded into tumbling 1-minute windows by
//      (currency, country) with count, sum, min, max, avg, uniq and uniq_approx, in chunks of 1000
//      records, each followed by a checkpoint into an in-memory store and a commit, as a lane does.
//   2. End to end, on the local stack (started beforehand; the bench never starts or stops
//      services): N orders in a fresh topic, `weir run` with the same aggregation, exactly-once
//      into a fresh ReplicatedMergeTree table it creates; timed from the consumer group joined to
//      every offset committed (a closer record per partition, an hour of event time later, closes
//      the last windows).
// With --idle-ms N the aggregation has an idle rule (each partition's last record is held until
// the next fetch; the last windows close N ms after the backlog is read, included in the time).
// Progress goes to stderr; stdout is one JSON line.
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { AggregateEngine, type AggregateSettings } from '../src/aggregate/engine.ts';
import { parseMeasure, type MeasureSpec } from '../src/aggregate/measures.ts';
import type { Envelope } from '../src/core/record.ts';
import { EventFactory, eventDefaults } from '../src/generate/events.ts';
import { runGenerator } from '../src/generate/index.ts';
import { MemoryKeyedStore } from '../src/state/keyed/memory-store.ts';
import { round } from './bench/stats.ts';
import {
  Cleanup,
  clickhouseClient,
  deleteBuckets,
  endpoints,
  freePort,
  freshId,
  groupJoined,
  groupLag,
  kafkaClient,
  log,
} from './bench/stack.ts';
import { AgentChild } from './bench/weir.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const events = value('--events', 200_000);
/** --idle-ms N: with an idle rule (the stage holds each partition's last record). */
const idleMs = args.includes('--idle-ms') ? value('--idle-ms', 10_000) : undefined;
const partitions = value('--partitions', 4);
const BASE = Date.UTC(2026, 0, 1);

const measureTexts = {
  orders: 'count()',
  amount_sum: 'sum(amount)',
  amount_min: 'min(amount)',
  amount_max: 'max(amount)',
  amount_avg: 'avg(amount)',
  users: 'uniq(user_id)',
  users_approx: 'uniq_approx(user_id)',
};

function measures(): MeasureSpec[] {
  return Object.entries(measureTexts).map(([name, text]) => {
    const m = parseMeasure(name, text);
    if (typeof m === 'string') throw new Error(m);
    return m;
  });
}

/** Engine alone: events/s through process + checkpoint + commit. */
async function engineAlone(): Promise<{ eventsPerSec: number; rows: number; seconds: number }> {
  const factory = new EventFactory({
    ...eventDefaults,
    seed: 1,
    dupRate: 0,
    baseTime: BASE,
    intervalMs: 1,
    trackIds: false,
  });
  const envs: Envelope[] = [];
  for (let i = 0; i < events; i++) {
    const r = factory.nextOrder();
    const row = JSON.parse(r.value.toString()) as Record<string, unknown>;
    envs.push({
      source: {
        topic: 't',
        partition: 0,
        offset: String(i),
        key: null,
        value: r.value,
        headers: {},
        timestamp: r.ts,
      },
      row,
    });
  }
  const s: AggregateSettings = {
    sizeMs: 60_000,
    hopMs: 60_000,
    timeField: 'ts',
    groupBy: ['currency', 'country'],
    measures: measures(),
    windowStart: 'window_start',
    windowEnd: 'window_end',
    latenessMs: 5000,
    late: 'count',
    maxStateBytes: 1 << 30,
    ...(idleMs === undefined ? {} : { idleMs }),
  };
  const engine = new AggregateEngine(s, { store: new MemoryKeyedStore(8_000_000) });
  await engine.onAssign('t', 0);
  let rows = 0;
  const t0 = performance.now();
  for (let i = 0; i < envs.length; i += 1000) {
    const chunk = envs.slice(i, i + 1000);
    const out = await engine.process(chunk);
    rows += out.out.length;
    const last = chunk.at(-1)!.source.offset;
    await engine.checkpoint({ topic: 't', partition: 0, last });
    engine.onCommit('t', 0, String(Number(last) + 1));
  }
  const seconds = (performance.now() - t0) / 1000;
  return { eventsPerSec: events / seconds, rows, seconds };
}

async function endToEnd(): Promise<{ eventsPerSec: number; seconds: number; rows: number }> {
  const id = freshId();
  const topic = `weir-bench-agg-${id}`;
  const table = `bench_agg_${id}`;
  const group = `weir-bench-agg-${id}`;
  const buckets = [`weir_bench_agg_${id}`, `weir_bench_agg_ledger_${id}`];
  const admin = kafkaClient().admin();
  const ch = clickhouseClient();
  const cleanup = new Cleanup();
  await admin.connect();
  try {
    cleanup.add('delete topic', async () => {
      const existing = new Set(await admin.listTopics());
      const topics = [topic, `${topic}.dlq`].filter((t) => existing.has(t));
      await admin.deleteTopics({ topics }).catch(() => undefined);
    });
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions }],
      waitForLeaders: true,
    });
    log(`producing ${events} orders into ${topic}`);
    const report = await runGenerator({
      brokers: [endpoints.kafka],
      topic,
      count: events,
      partitions,
      keyed: true,
      dupRate: 0,
      badRate: 0,
      joinRate: 0,
      orphanRate: 0,
      intervalMs: 1,
      baseTime: BASE,
      seed: 1,
      maxInFlight: 1,
    });
    const producer = kafkaClient().producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: partitions }, (_, partition) => ({
        partition,
        value: JSON.stringify({
          event_id: '00000000-0000-4000-8000-000000000000',
          user_id: 'closer',
          amount: 0,
          currency: 'ZZZ',
          country: 'ZZ',
          ts: report.baseTime + events + 3_600_000,
        }),
      })),
    });
    await producer.disconnect();
    cleanup.add(`drop ${table}`, () => ch.command({ query: `DROP TABLE IF EXISTS ${table}` }));
    cleanup.add('delete group', () => admin.deleteGroups([group]).catch(() => undefined));
    cleanup.add('delete buckets', () => deleteBuckets(buckets));
    const port = await freePort();
    const agent = new AgentChild(
      {
        agent: {
          http: { host: '127.0.0.1', port },
          log_level: 'warn',
          shutdown_timeout_ms: 30_000,
        },
        pipelines: [
          {
            name: 'bench_agg',
            source: { brokers: [endpoints.kafka], topics: [topic], group_id: group },
            schema: {
              fields: {
                user_id: 'string',
                amount: 'number',
                currency: 'string',
                country: 'string',
                created_at: { type: 'datetime', path: 'ts' },
              },
            },
            aggregate: {
              window: { tumbling: '1m' },
              time: { field: 'created_at' },
              group_by: ['currency', 'country'],
              measures: measureTexts,
              ...(idleMs === undefined ? {} : { idle_timeout: idleMs }),
              nats: { servers: [endpoints.nats], bucket: buckets[0] },
            },
            sink: {
              clickhouse: {
                url: endpoints.clickhouse,
                table,
                batch: { max_rows: 50_000, max_delay_ms: 500 },
                create_table: {
                  engine: `ReplicatedMergeTree('/clickhouse/tables/{shard}/${table}', '{replica}')`,
                  order_by: ['currency', 'country', 'window_start'],
                },
                exactly_once: {
                  mode: 'required',
                  nats: { servers: [endpoints.nats], bucket: buckets[1] },
                },
              },
            },
            dead_letter: { topic: `${topic}.dlq` },
          },
        ],
      },
      port,
    );
    try {
      const alive = () => agent.alive;
      const started = await groupJoined(admin, group, partitions, 120_000, alive);
      for (;;) {
        if (!alive()) throw new Error(`the agent exited:\n${agent.tail(30)}`);
        if ((await groupLag(admin, group, topic)) === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const seconds = (Date.now() - started) / 1000;
      const code = await agent.stop();
      if (code !== 0) throw new Error(`the agent exited with ${code}:\n${agent.tail(30)}`);
      const rs = await ch.query({
        query: `SELECT count() AS n FROM ${table}`,
        format: 'JSONEachRow',
      });
      const rows = Number((await rs.json<{ n: string }>())[0]?.n ?? 0);
      return { eventsPerSec: (events + partitions) / seconds, seconds, rows };
    } finally {
      await agent.stop();
    }
  } finally {
    await cleanup.run();
    await admin.disconnect();
    await ch.close();
  }
}

async function main(): Promise<void> {
  log(`${cpus().length} cores; ${events} events`);
  const engine = await engineAlone();
  log(`engine alone: ${Math.round(engine.eventsPerSec)} events/s (${engine.rows} rows)`);
  const e2e = flag('--engine-only') ? undefined : await endToEnd();
  if (e2e) log(`end to end: ${Math.round(e2e.eventsPerSec)} events/s (${e2e.rows} rows)`);
  process.stdout.write(
    `${JSON.stringify({
      command: `npm run bench:aggregate -- ${args.join(' ')}`.trim(),
      nproc: cpus().length,
      events,
      window: 'tumbling 1m by currency, country',
      idle_timeout_ms: idleMs ?? null,
      measures: Object.values(measureTexts),
      engine_events_per_s: Math.round(engine.eventsPerSec),
      engine_seconds: round(engine.seconds, 2),
      end_to_end_events_per_s: e2e ? Math.round(e2e.eventsPerSec) : null,
      end_to_end_seconds: e2e ? round(e2e.seconds, 2) : null,
      end_to_end_rows: e2e?.rows ?? null,
      method:
        'engine: process + checkpoint (in-memory store) + commit per 1000 records; end to end: from the consumer group joined to every offset committed, exactly-once into ClickHouse',
    })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
