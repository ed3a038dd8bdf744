// The ad-click demo (`WEIR_DEMO_CONFIG=examples/adclicks.yaml npm run demo`): every pipeline of
// the config on one topic of generated clicks, with a seeded campaigns table in PostgreSQL. Resets
// the topic, the tables, the groups and the state of the last run, runs the agent inside this
// process, produces the clicks, waits until every group has committed every offset, and prints
// where the clicks went, some enriched rows and the per-campaign aggregates.
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { connect as natsConnect } from 'nats';
import pg from 'pg';
import type { WeirConfig, PipelineConfig } from '../src/config/schema.ts';
import { sinkFields } from '../src/config/schema.ts';
import { campaigns, produceAdClicks } from '../src/generate/adclicks.ts';
import { Agent } from '../src/pipeline/agent.ts';
import { createTableSql } from '../src/sink/clickhouse/ddl.ts';
import { serverInfo } from '../src/sink/clickhouse/describe.ts';
import { createLogger } from '../src/telemetry/logger.ts';

type Say = (msg: string) => void;

interface LookupLike {
  lookup?: { table?: string; from?: { postgres?: { url?: string } } };
}

/** The config's PostgreSQL lookup (url and table) the demo seeds; undefined when it has none. */
export function postgresLookup(cfg: WeirConfig): { url: string; table: string } | undefined {
  for (const p of cfg.pipelines)
    for (const t of p.transforms as unknown as LookupLike[]) {
      const url = t.lookup?.from?.postgres?.url;
      if (url && t.lookup?.table) return { url, table: t.lookup.table };
    }
  return undefined;
}

async function query<T>(ch: ClickHouseClient, sql: string): Promise<T[]> {
  return (await ch.query({ query: sql, format: 'JSONEachRow' })).json<T>();
}

async function lagOf(admin: Admin, group: string, topic: string): Promise<number> {
  const highs = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return highs.reduce((sum, h) => {
    const c = Number(committed?.partitions.find((x) => x.partition === h.partition)?.offset ?? -1);
    return sum + Number(h.high) - Math.max(c, Number(h.low));
  }, 0);
}

async function resetTable(ch: ClickHouseClient, p: PipelineConfig): Promise<void> {
  const { database, table, create_table } = p.sink.clickhouse;
  await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await ch.command({ query: `DROP TABLE IF EXISTS ${database}.${table}` });
  // Replicated on the local stack (ZooKeeper is there), so replays are dropped and every pipeline
  // runs exactly-once; the config's create_table then finds it there.
  const server = await serverInfo(ch);
  await ch.command({
    query: createTableSql({
      database,
      table,
      fields: sinkFields(p),
      engine: `ReplicatedMergeTree('/clickhouse/tables/{shard}/${database}.${table}.${Date.now()}', '{replica}')`,
      orderBy: create_table?.order_by ?? [sinkFields(p)[0]!.name],
      partitionBy: create_table?.partition_by,
      server,
    }),
  });
}

export async function adClicksDemo(
  cfg: WeirConfig,
  lookup: { url: string; table: string },
  o: { events: number; say: Say },
): Promise<number> {
  const { say } = o;
  const first = cfg.pipelines[0]!;
  const topic = first.source.topics[0]!;
  const kafka = new Kafka({
    clientId: 'weir-demo',
    brokers: first.source.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const c0 = first.sink.clickhouse;
  const ch = createClient({ url: c0.url, username: c0.username, password: c0.password });
  const db = new pg.Client({ connectionString: lookup.url });
  await db.connect();
  try {
    say(`resetting topic ${topic}, ${cfg.pipelines.length} pipelines' groups, tables and state`);
    const existing = new Set(await admin.listTopics());
    const topics = [topic, ...cfg.pipelines.map((p) => p.dead_letter.topic)].filter((t) =>
      existing.has(t),
    );
    if (topics.length > 0) await admin.deleteTopics({ topics });
    for (const p of cfg.pipelines) {
      await admin.deleteGroups([p.source.group_id]).catch(() => undefined);
      await resetTable(ch, p);
    }
    const nc = await natsConnect({ servers: first.sink.clickhouse.exactly_once.nats.servers });
    const jsm = await nc.jetstreamManager();
    for (const p of cfg.pipelines) {
      const buckets = [
        p.dedup?.nats.bucket,
        (p as { aggregate?: { nats?: { bucket?: string } } }).aggregate?.nats?.bucket,
      ];
      for (const b of buckets) if (b) await jsm.streams.delete(`KV_${b}`).catch(() => false);
      const ledger = await nc.jetstream().views.kv(p.sink.clickhouse.exactly_once.nats.bucket);
      const keys: string[] = [];
      for await (const key of await ledger.keys(`${p.name}.>`)) keys.push(key);
      for (const key of keys) await ledger.purge(key);
    }
    await nc.close();
    for (let i = 0; i < 50; i++) {
      const left = new Set(await admin.listTopics());
      if (!topics.some((t) => left.has(t))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });

    const rows = campaigns({}, 1);
    say(
      `seeding ${lookup.table} in PostgreSQL with ${rows.length} campaigns (10% of the 200 ads have none)`,
    );
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${lookup.table} (ad_id bigint PRIMARY KEY, campaign_name text NOT NULL, campaign_budget double precision NOT NULL)`,
    );
    await db.query(`TRUNCATE ${lookup.table}`);
    await db.query(
      `INSERT INTO ${lookup.table} (ad_id, campaign_name, campaign_budget) SELECT * FROM unnest($1::bigint[], $2::text[], $3::float8[])`,
      [
        rows.map((r) => r.ad_id),
        rows.map((r) => r.campaign_name),
        rows.map((r) => r.campaign_budget),
      ],
    );

    const agent = new Agent(cfg, { logger: createLogger({ level: 'warn' }) });
    await agent.start();
    say(
      `${cfg.pipelines.map((p) => `'${p.name}'`).join(', ')} running; API on http://127.0.0.1:${cfg.agent.http.port}`,
    );
    say(
      `producing ${o.events} clicks (15% duplicates across partitions, 5% from bot ranges, 1% malformed)…`,
    );
    const t0 = Date.now();
    const counts = await produceAdClicks({
      brokers: first.source.brokers,
      topic,
      count: o.events,
      seed: 42,
    });
    for (;;) {
      let lag = 0;
      for (const p of cfg.pipelines) lag += await lagOf(admin, p.source.group_id, topic);
      if (lag === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (Date.now() - t0) / 1000;
    await agent.stop();

    console.log('');
    say(`done in ${seconds.toFixed(1)} s`);
    say(
      `produced ${counts.records}: ${counts.clicks} distinct clicks (${counts.withoutCampaign} on ads without a campaign), ${counts.duplicates} duplicates, ${counts.bots} from bot ranges, ${counts.malformed} malformed`,
    );
    for (const p of cfg.pipelines) {
      const table = `${p.sink.clickhouse.database}.${p.sink.clickhouse.table}`;
      const [n] = await query<{ n: string }>(ch, `SELECT count() AS n FROM ${table}`);
      say(`${p.name}: ${n?.n ?? 0} rows in ${table}`);
      const sample = await query<Record<string, unknown>>(ch, `SELECT * FROM ${table} LIMIT 3`);
      for (const r of sample) console.log(`    ${JSON.stringify(r)}`);
    }
    const enriched = `${first.sink.clickhouse.database}.${first.sink.clickhouse.table}`;
    console.log(`
Try:
  clickhouse-client --query "SELECT campaign_name, count() AS clicks, uniqExact(user_id) AS users FROM ${enriched} GROUP BY campaign_name ORDER BY clicks DESC LIMIT 10"
  npm run weir -- run -c examples/adclicks.yaml   # run the pipelines yourself (Ctrl-C stops them cleanly)
  npm run stack -- down                          # stop the local services
`);
    return 0;
  } finally {
    await db.end();
    await ch.close();
    await admin.disconnect();
  }
}
