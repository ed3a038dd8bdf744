// `npm run bench:enrich -- [--events N] [--runs K] [--partitions P]`: what enrichment costs, on the
// local stack (started beforehand with `npm run stack -- up`; the bench starts no services).
// Per run, on one topic of N ad clicks (5% from bot ranges, no duplicates, nothing malformed) and
// a campaigns table in PostgreSQL, each variant is a fresh `weir run` (own group and table,
// exactly-once into a ReplicatedMergeTree table), timed from the group joined to every expected
// row in the table:
//   - plain: the CIDR filter, the time conversion and the ingest time, no lookup;
//   - warm: the same plus the campaigns lookup, its cache preloaded (every key a hit);
//   - cold: the same lookup with the cache off: one PostgreSQL query per fetch's distinct ads;
//   - aggregate: clicks per ad per minute (windowed aggregation), when the build has it.
// The variants of a run share the topic and alternate, so their ratios come from the same
// minutes of the same machine. Figures are medians over the runs. Progress goes to stderr; the
// last line of stdout is one JSON object.
import { cpus, loadavg, totalmem } from 'node:os';
import type { Admin } from 'kafkajs';
import pg from 'pg';
import { adClicks, campaigns, produceAdClicks } from '../src/generate/adclicks.ts';
import { postgresUrl } from './stack/postgres.ts';
import { CpuMeter, peakRssMiB } from './bench/proc.ts';
import { median, round } from './bench/stats.ts';
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

type Variant = 'plain' | 'warm' | 'cold' | 'aggregate';
const VARIANTS: Variant[] = ['plain', 'warm', 'cold', 'aggregate'];

interface Options {
  events: number;
  runs: number;
  partitions: number;
  variants: Variant[];
  seed: number;
}

const usage = `usage: npm run bench:enrich -- [--events N] [--runs K] [--partitions P] [--variants plain,warm,cold,aggregate] [--seed S]`;

function parseArgs(argv: string[]): Options {
  const o: Options = { events: 200_000, runs: 3, partitions: 4, variants: VARIANTS, seed: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${usage}`);
      return v;
    };
    const num = (min: number) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min) throw new Error(`${a} must be a whole number ≥ ${min}`);
      return n;
    };
    if (a === '--events') o.events = num(1000);
    else if (a === '--runs') o.runs = num(1);
    else if (a === '--partitions') o.partitions = num(1);
    else if (a === '--seed') o.seed = num(0);
    else if (a === '--variants') {
      const list = value().split(',') as Variant[];
      for (const v of list)
        if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v}\n${usage}`);
      o.variants = list;
    } else if (a === '--help' || a === '-h') {
      process.stderr.write(`${usage}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${usage}`);
  }
  return o;
}

const ENRICHED = `click_id String, user_id String, ad_id Int64, clicked_at DateTime, ip_address String, processed_at DateTime`;
const CAMPAIGN_COLUMNS = `campaign_name String, campaign_budget Float64`;
const AGGREGATE = `ad_id Int64, window_start DateTime, window_end DateTime, clicks UInt64, users UInt64`;

function config(
  v: Variant,
  n: { topic: string; group: string; table: string; ledger: string; campaigns: string },
  port: number,
): unknown {
  const lookup = {
    lookup: {
      name: 'campaigns',
      from: { postgres: { url: postgresUrl() } },
      table: n.campaigns,
      key: { field: 'ad_id', column: 'ad_id' },
      fields: { campaign_name: 'string', campaign_budget: 'number' },
      on_miss: 'default',
      defaults: { campaign_name: '(no campaign)', campaign_budget: 0 },
      ...(v === 'warm' ? { preload: { refresh: '10m' } } : { cache: { max_entries: 0 } }),
    },
  };
  const transforms: unknown[] = [
    { filter: 'not in_cidr(ip_address, ("192.168.1.0/24", "10.0.0.0/8", "2001:db8:bad::/48"))' },
    ...(v === 'warm' || v === 'cold' ? [lookup] : []),
    { convert: { timestamp_ms: { to: 'datetime', format: 'epoch_ms' } } },
    { rename: { timestamp_ms: 'clicked_at' } },
    ...(v === 'aggregate' ? [] : [{ ingest_time: 'processed_at' }]),
  ];
  return {
    agent: { http: { host: '127.0.0.1', port }, log_level: 'warn', shutdown_timeout_ms: 30_000 },
    pipelines: [
      {
        name: `bench_${v}`,
        source: { brokers: [endpoints.kafka], topics: [n.topic], group_id: n.group },
        schema: {
          fields: {
            click_id: 'uuid',
            user_id: 'string',
            ad_id: 'integer',
            timestamp_ms: 'integer',
            ip_address: 'string',
          },
        },
        transforms,
        ...(v === 'aggregate'
          ? {
              aggregate: {
                window: { tumbling: '1m' },
                time: { field: 'clicked_at' },
                group_by: ['ad_id'],
                measures: { clicks: 'count()', users: 'uniq(user_id)' },
                allowed_lateness: '5s',
                idle_timeout: '2s',
                nats: { servers: [endpoints.nats], bucket: `${n.ledger}_agg` },
              },
            }
          : {}),
        sink: {
          clickhouse: {
            url: endpoints.clickhouse,
            table: n.table,
            batch: { max_rows: 50_000, max_delay_ms: 1000 },
            exactly_once: {
              mode: 'required',
              nats: { servers: [endpoints.nats], bucket: n.ledger },
            },
          },
        },
        dead_letter: { topic: `${n.topic}.dlq` },
      },
    ],
  };
}

interface Result {
  variant: Variant;
  run: number;
  rows: number;
  seconds: number;
  eventsPerSec: number;
  cpuCores: number | null;
  peakRssMb: number | null;
}

async function runVariant(
  v: Variant,
  run: number,
  o: Options,
  topic: string,
  campaignsTable: string,
  expected: { rows: number; aggregateRows: number },
  admin: Admin,
): Promise<Result> {
  const id = freshId();
  const n = {
    topic,
    group: `weir-bench-enrich-${v}-${id}`,
    table: `bench_enrich_${v}_${id}`,
    ledger: `weir_bench_enrich_${id}`,
    campaigns: campaignsTable,
  };
  const ch = clickhouseClient();
  const cleanup = new Cleanup();
  try {
    const columns =
      v === 'aggregate' ? AGGREGATE : v === 'plain' ? ENRICHED : `${ENRICHED}, ${CAMPAIGN_COLUMNS}`;
    await ch.command({
      query: `CREATE TABLE ${n.table} (${columns}) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${n.table}', '{replica}') ORDER BY tuple()`,
    });
    cleanup.add(`drop ${n.table}`, () => ch.command({ query: `DROP TABLE IF EXISTS ${n.table}` }));
    cleanup.add(`delete group ${n.group}`, () =>
      admin.deleteGroups([n.group]).catch(() => undefined),
    );
    cleanup.add('delete buckets', () => deleteBuckets([n.ledger, `${n.ledger}_agg`]));
    const port = await freePort();
    const agent = new AgentChild(config(v, n, port), port);
    try {
      const alive = () => agent.alive;
      const withTail = (err: unknown): never => {
        throw new Error(`${(err as Error).message}\nagent output:\n${agent.tail(30)}`, {
          cause: err,
        });
      };
      const started = await groupJoined(admin, n.group, o.partitions, 120_000, alive).catch(
        withTail,
      );
      const meter = new CpuMeter(agent.pid);
      meter.start();
      const target = v === 'aggregate' ? expected.aggregateRows : expected.rows;
      const done = await rowsReach(ch, n.table, target, `weir ${v}`, {
        alive,
        stallMs: 60_000,
      }).catch(withTail);
      const cpuCores = meter.cores();
      const peakRssMb = peakRssMiB(agent.pid);
      const code = await agent.stop();
      if (code !== 0) throw new Error(`the ${v} agent exited with ${code}:\n${agent.tail(30)}`);
      const rows = await countRows(ch, n.table);
      if (rows !== target) throw new Error(`${v}: ${rows} rows, expected ${target}`);
      const seconds = (done - started) / 1000;
      const r: Result = {
        variant: v,
        run,
        rows,
        seconds: round(seconds, 2) ?? seconds,
        eventsPerSec: Math.round(o.events / seconds),
        cpuCores: cpuCores === null ? null : round(cpuCores, 2),
        peakRssMb,
      };
      log(
        `run ${run} ${v}: ${r.eventsPerSec} events/s (${rows} rows in ${r.seconds} s, ${r.cpuCores} cores)`,
      );
      return r;
    } finally {
      await agent.stop();
    }
  } finally {
    await cleanup.run();
    await ch.close();
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  log(
    `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${round(loadavg()[0] ?? 0, 2)}; ${o.runs} run(s) of ${o.events} clicks: ${o.variants.join(', ')}`,
  );
  const admin = kafkaClient().admin();
  const db = new pg.Client({ connectionString: postgresUrl() });
  try {
    await admin.connect();
    await natsReachable();
    await db.connect();
  } catch (err) {
    await admin.disconnect().catch(() => undefined);
    throw new Error(
      `the local stack is not reachable (${err instanceof Error ? err.message : String(err)}): start it with npm run stack -- up`,
      { cause: err },
    );
  }
  const id = freshId();
  const topic = `weir-bench-enrich-${id}`;
  const campaignsTable = `bench_campaigns_${id}`;
  const results: Result[] = [];
  let error: string | null = null;
  try {
    await db.query(
      `CREATE TABLE ${campaignsTable} (ad_id bigint PRIMARY KEY, campaign_name text NOT NULL, campaign_budget double precision NOT NULL)`,
    );
    const rows = campaigns({}, 1);
    await db.query(
      `INSERT INTO ${campaignsTable} SELECT * FROM unnest($1::bigint[], $2::text[], $3::float8[])`,
      [
        rows.map((r) => r.ad_id),
        rows.map((r) => r.campaign_name),
        rows.map((r) => r.campaign_budget),
      ],
    );
    log(`producing ${o.events} clicks into ${topic}`);
    const counts = await produceAdClicks({
      brokers: [endpoints.kafka],
      topic,
      partitions: o.partitions,
      count: o.events,
      dupRate: 0,
      badRate: 0,
      botRate: 0.05,
      seed: o.seed,
      intervalMs: 10,
    });
    const aggregateRows = countAggregateRows(o);
    for (let run = 1; run <= o.runs && error === null; run++)
      for (const v of o.variants) {
        try {
          results.push(
            await runVariant(
              v,
              run,
              o,
              topic,
              campaignsTable,
              { rows: counts.clicks, aggregateRows },
              admin,
            ),
          );
        } catch (err) {
          error = `${v}: ${err instanceof Error ? err.message : String(err)}`;
          log(error);
          break;
        }
      }
  } finally {
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
    await db.query(`DROP TABLE IF EXISTS ${campaignsTable}`).catch(() => undefined);
    await db.end();
  }
  const med = (v: Variant) => {
    const eps = results.filter((r) => r.variant === v).map((r) => r.eventsPerSec);
    const m = median(eps);
    return m === null ? null : Math.round(m);
  };
  // Ratios within each run (same minutes of the machine), then their median.
  const ratio = (a: Variant, b: Variant) => {
    const per: number[] = [];
    for (let run = 1; run <= o.runs; run++) {
      const x = results.find((r) => r.run === run && r.variant === a);
      const y = results.find((r) => r.run === run && r.variant === b);
      if (x && y) per.push(x.eventsPerSec / y.eventsPerSec);
    }
    const m = median(per);
    return m === null ? null : round(m, 3);
  };
  const summary = {
    bench: 'enrich',
    events: o.events,
    runs: o.runs,
    cores: cpus().length,
    plain_eps: med('plain'),
    warm_eps: med('warm'),
    cold_eps: med('cold'),
    aggregate_eps: med('aggregate'),
    warm_vs_plain: ratio('warm', 'plain'),
    cold_vs_plain: ratio('cold', 'plain'),
    warm_ok: (ratio('warm', 'plain') ?? 0) >= 0.8,
    aggregate_ok: (med('aggregate') ?? 0) >= 40_000,
    results,
    error,
  };
  console.log(JSON.stringify(summary));
  return error === null ? 0 : 1;
}

/** The (ad, minute) pairs among the produced clicks outside the bot ranges (the generator is
 * deterministic for the seed): the aggregate table's rows. */
function countAggregateRows(o: Options): number {
  const pairs = new Set<string>();
  for (const rec of adClicks({
    count: o.events,
    dupRate: 0,
    badRate: 0,
    botRate: 0.05,
    seed: o.seed,
    intervalMs: 10,
  })) {
    if (rec.kind !== 'click') continue;
    const c = rec.click!;
    pairs.add(`${c.ad_id}:${Math.floor(c.timestamp_ms / 60_000)}`);
  }
  return pairs.size;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
