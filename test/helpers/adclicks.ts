// The ad-click scenario on the real stack: a fresh topic, campaigns table in PostgreSQL,
// ClickHouse tables and NATS buckets per test, and examples/adclicks.yaml run as it is shipped,
// pointed at them through its ${VAR}s.
import { resolve } from 'node:path';
import pg from 'pg';
import {
  campaigns,
  expectedClicks,
  produceAdClicks,
  type AdClickCounts,
  type AdClickOptions,
  type Campaign,
} from '../../src/generate/adclicks.ts';
import { freePort, runWeir, type WeirProcess } from './agent.ts';
import { clickhouse, deleteBuckets, endpoints, kafka, randomName } from './stack.ts';

export const EXAMPLE = resolve(import.meta.dirname, '..', '..', 'examples', 'adclicks.yaml');

export interface AdClicksFixture {
  id: string;
  topic: string;
  group: string;
  table: string;
  campaignsTable: string;
  env: NodeJS.ProcessEnv;
  ch: ReturnType<typeof clickhouse>;
  pg: pg.Client;
  /** Replaces the campaigns with their rows at `version` (campaign names end in -v<version>). */
  setCampaigns(version: number): Promise<void>;
  /** Runs an agent of the example on a free port. */
  agent(extraEnv?: NodeJS.ProcessEnv): Promise<{ process: WeirProcess; port: number }>;
  produce(o: AdClickOptions): Promise<AdClickCounts>;
  cleanup(): Promise<void>;
}

export const enrichedColumns = `
  click_id String, user_id String, ad_id Int64, clicked_at DateTime, ip_address String,
  campaign_name String, campaign_budget Float64, processed_at DateTime`;

/** The aggregate pipelines' tables: the enriched table's name plus these suffixes. */
export const aggregateColumns = {
  _per_minute: `campaign_name String, kafka_partition Int32, window_start DateTime, window_end DateTime, clicks UInt64, budget Nullable(Float64)`,
  _users_per_hour: `campaign_name String, kafka_partition Int32, window_start DateTime, window_end DateTime, users UInt64, clicks UInt64`,
};

export async function adClicksFixture(
  o: { partitions?: number; scenario?: Pick<AdClickOptions, 'ads' | 'missingRate'> } = {},
): Promise<AdClicksFixture> {
  const id = randomName('ads').replace(/-/g, '_');
  const topic = `weir-${id}`;
  const group = `g-${id}`;
  const table = `clicks_${id}`;
  const campaignsTable = `campaigns_${id}`;
  const dedupBucket = `dedup-${id}`.replace(/_/g, '-');
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: o.partitions ?? 4 }],
    waitForLeaders: true,
  });
  const ch = clickhouse();
  // Replicated: ClickHouse 18.16 then drops a replayed block whose bytes are the same, so a
  // replay that carried different lookup values or ingest times would show as duplicates.
  await ch.command({
    query: `CREATE TABLE ${table} (${enrichedColumns}) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${table}', '{replica}') ORDER BY (clicked_at, click_id)`,
  });
  for (const [suffix, columns] of Object.entries(aggregateColumns))
    await ch.command({
      query: `CREATE TABLE ${table}${suffix} (${columns}) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${table}${suffix}', '{replica}') ORDER BY (window_start, campaign_name, kafka_partition)`,
    });
  const client = new pg.Client({ connectionString: endpoints.postgres });
  await client.connect();
  await client.query(
    `CREATE TABLE ${campaignsTable} (ad_id bigint PRIMARY KEY, campaign_name text NOT NULL, campaign_budget double precision NOT NULL)`,
  );
  const setCampaigns = async (version: number) => {
    const rows: Campaign[] = campaigns(o.scenario ?? {}, version);
    await client.query('BEGIN');
    await client.query(`DELETE FROM ${campaignsTable}`);
    await client.query(
      `INSERT INTO ${campaignsTable} (ad_id, campaign_name, campaign_budget)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::float8[])`,
      [
        rows.map((r) => r.ad_id),
        rows.map((r) => r.campaign_name),
        rows.map((r) => r.campaign_budget),
      ],
    );
    await client.query('COMMIT');
  };
  await setCampaigns(1);
  const env: NodeJS.ProcessEnv = {
    KAFKA_BROKER: endpoints.kafka,
    ADCLICKS_TOPIC: topic,
    ADCLICKS_GROUP: group,
    ADCLICKS_DATABASE: 'default',
    ADCLICKS_TABLE: table,
    ADCLICKS_DEDUP_BUCKET: dedupBucket,
    ADCLICKS_EXACTLY_ONCE: 'required',
    CAMPAIGNS_PG_URL: endpoints.postgres,
    CAMPAIGNS_TABLE: campaignsTable,
    CLICKHOUSE_URL: endpoints.clickhouse,
    NATS_SERVER: endpoints.nats,
    OTEL_SDK_DISABLED: 'true',
    WEIR_LOG_LEVEL: 'info',
  };
  return {
    id,
    topic,
    group,
    table,
    campaignsTable,
    env,
    ch,
    pg: client,
    setCampaigns,
    agent: async (extraEnv = {}) => {
      const port = await freePort();
      const process = runWeir(['run', '-c', EXAMPLE], {
        ...env,
        WEIR_HTTP_PORT: String(port),
        ...extraEnv,
      });
      return { process, port };
    },
    produce: (s) =>
      produceAdClicks({
        brokers: [endpoints.kafka],
        topic,
        partitions: o.partitions ?? 4,
        ...o.scenario,
        ...s,
      }),
    cleanup: async () => {
      for (const t of [table, ...Object.keys(aggregateColumns).map((x) => table + x)])
        await ch.command({ query: `DROP TABLE IF EXISTS ${t}` }).catch(() => undefined);
      await ch.close();
      const dlqs = ['dlq', 'per-minute.dlq', 'per-hour.dlq'].map((x) => `${topic}.${x}`);
      await admin.deleteTopics({ topics: [topic, ...dlqs] }).catch(() => undefined);
      await admin.disconnect();
      await client.query(`DROP TABLE IF EXISTS ${campaignsTable}`).catch(() => undefined);
      await client.end();
      const buckets = ['', '-per-minute', '-per-hour', '-agg-minute', '-agg-hour'];
      await deleteBuckets(buckets.map((x) => dedupBucket + x)).catch(() => undefined);
    },
  };
}

export interface EnrichedRow {
  click_id: string;
  ad_id: number;
  campaign_name: string;
  campaign_budget: number;
  clicked_at: string;
  processed_at: string;
}

/** What must be in the table: the distinct valid clicks outside the bot ranges. */
export function expectedFor(o: AdClickOptions) {
  return expectedClicks(o);
}

/** Row counts of the enriched table: all rows and distinct click ids. */
export async function clickCounts(f: AdClicksFixture): Promise<{ rows: number; unique: number }> {
  const rs = await f.ch.query({
    query: `SELECT count() AS rows, uniqExact(click_id) AS unique FROM ${f.table}`,
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ rows: string; unique: string }>();
  return { rows: Number(r?.rows ?? 0), unique: Number(r?.unique ?? 0) };
}

/** The consumer groups of the example's three pipelines. */
export const groupsOf = (f: AdClicksFixture): string[] => [
  f.group,
  `${f.group}-per-minute`,
  `${f.group}-users-per-hour`,
];

/** Sum over the pipelines' groups and partitions of (high-water mark − committed offset). */
export async function adClicksLag(f: AdClicksFixture): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const highs = await admin.fetchTopicOffsets(f.topic);
    let lag = 0;
    for (const groupId of groupsOf(f)) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [f.topic] });
      for (const h of highs) {
        const c = committed?.partitions.find((p) => p.partition === h.partition)?.offset ?? '-1';
        lag += Number(h.high) - (Number(c) < 0 ? Number(h.low) : Number(c));
      }
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/** Rows of a query as sorted JSON lines, for comparing two result sets. */
export async function lines(f: AdClicksFixture, sql: string): Promise<string[]> {
  const rs = await f.ch.query({ query: sql, format: 'JSONEachRow' });
  return (await rs.json<Record<string, unknown>>()).map((r) => JSON.stringify(r)).sort();
}
