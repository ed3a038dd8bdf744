// `npm run demo`: the whole path on one machine. Brings the local stack up, resets the demo topic
// and table, runs the demo pipeline (examples/demo.yaml) inside this process, produces generated
// orders (with malformed records), waits until every offset is committed, and prints the result.
import { createClient } from '@clickhouse/client';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { connect as natsConnect } from 'nats';
import { loadConfig } from '../src/config/load.ts';
import { sinkFields } from '../src/config/schema.ts';
import { createTableSql } from '../src/sink/clickhouse/ddl.ts';
import { serverInfo } from '../src/sink/clickhouse/describe.ts';
import { runGenerator } from '../src/generate/index.ts';
import { Agent } from '../src/pipeline/agent.ts';
import { createLogger } from '../src/telemetry/logger.ts';

const repo = resolve(import.meta.dirname, '..');
const configPath = process.env.WEIR_DEMO_CONFIG ?? resolve(repo, 'examples/demo.yaml');
const events = Number(process.env.WEIR_DEMO_EVENTS ?? 200_000);
const rate = Number(process.env.WEIR_DEMO_RATE ?? 50_000);
const say = (msg: string) => console.log(`[demo] ${msg}`);

async function main(): Promise<number> {
  // No trace collector runs in the demo unless you point it at one.
  if (!process.env.OTEL_EXPORTER_OTLP_ENDPOINT) process.env.OTEL_SDK_DISABLED ??= 'true';
  say('starting the local stack (Kafka, ClickHouse, ZooKeeper, NATS)…');
  const up = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/stack/main.ts', 'up'], {
    cwd: repo,
    stdio: 'inherit',
  });
  if (up.status !== 0) return 1;

  const cfg = loadConfig(configPath);
  const p = cfg.pipelines[0]!;
  // Duplicates only make sense once the pipeline removes them.
  const withDedup = 'dedup' in p && p.dedup !== undefined;
  const ch = p.sink.clickhouse;
  const topic = p.source.topics[0]!;
  // A join config (examples/join.yaml) also gets its right topic, with payments for the orders.
  const joinTopic = p.join?.right.topic;
  const topics = joinTopic ? [topic, joinTopic] : [topic];
  const kafka = new Kafka({
    clientId: 'weir-demo',
    brokers: p.source.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const clickhouse = createClient({ url: ch.url, username: ch.username, password: ch.password });

  say(
    `resetting topic ${topic}, dead-letter topic ${p.dead_letter.topic}, group ${p.source.group_id}, table ${ch.database}.${ch.table}`,
  );
  const existing = new Set(await admin.listTopics());
  const toDelete = [...topics, p.dead_letter.topic].filter((t) => existing.has(t));
  if (toDelete.length > 0) await admin.deleteTopics({ topics: toDelete });
  await admin.deleteGroups([p.source.group_id]).catch(() => undefined);
  await clickhouse.command({ query: `DROP TABLE IF EXISTS ${ch.database}.${ch.table}` });
  // On the local stack the demo table is Replicated (ZooKeeper is there), so replays are dropped
  // and the pipeline runs exactly-once; the config's create_table then finds it already there.
  const server = await serverInfo(clickhouse);
  if (p.sink.clickhouse.create_table) {
    await clickhouse.command({
      query: createTableSql({
        database: ch.database,
        table: ch.table,
        fields: sinkFields(p),
        engine: `ReplicatedMergeTree('/clickhouse/tables/{shard}/${ch.database}.${ch.table}.${Date.now()}', '{replica}')`,
        orderBy: p.sink.clickhouse.create_table.order_by,
        partitionBy: p.sink.clickhouse.create_table.partition_by,
        server,
      }),
    });
  }
  for (let i = 0; i < 50; i++) {
    const left = new Set(await admin.listTopics());
    if (!toDelete.some((t) => left.has(t))) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await admin.createTopics({
    topics: topics.map((t) => ({ topic: t, numPartitions: 4 })),
    waitForLeaders: true,
  });
  // A fresh start for the state too: the dedup keys and the batch ledger of the last demo run.
  const nc = await natsConnect({ servers: p.sink.clickhouse.exactly_once.nats.servers });
  const jsm = await nc.jetstreamManager();
  const dedupBucket = p.dedup?.nats.bucket;
  if (dedupBucket) await jsm.streams.delete(`KV_${dedupBucket}`).catch(() => false);
  const joinBucket = p.join?.nats.bucket;
  if (joinBucket) await jsm.streams.delete(`KV_${joinBucket}`).catch(() => false);
  const ledger = await nc.jetstream().views.kv(p.sink.clickhouse.exactly_once.nats.bucket);
  const ledgerKeys: string[] = [];
  for await (const key of await ledger.keys(`${p.name}.>`)) ledgerKeys.push(key);
  for (const key of ledgerKeys) await ledger.purge(key);
  await nc.close();

  const logger = createLogger({ level: 'warn' });
  const agent = new Agent(cfg, { logger });
  await agent.start();
  say(
    `pipeline '${p.name}' running; API on http://127.0.0.1:${cfg.agent.http.port} (/metrics, /readyz)`,
  );

  say(
    `producing ${events} orders at ${rate}/s (2% malformed, ${withDedup ? '10% duplicates' : 'no duplicates'})…`,
  );
  const t0 = Date.now();
  const report = await runGenerator({
    brokers: p.source.brokers,
    topic,
    count: events,
    rate,
    badRate: 0.02,
    dupRate: withDedup ? 0.1 : 0,
    seed: 42,
    ...(joinTopic ? { joinTopic, joinRate: 0.8, orphanRate: 0.02 } : {}),
  });

  // Done when the group has committed every offset: everything is in ClickHouse or dead-lettered.
  for (;;) {
    let lag = 0;
    for (const t of topics) {
      const highs = await admin.fetchTopicOffsets(t);
      const [committed] = await admin.fetchOffsets({ groupId: p.source.group_id, topics: [t] });
      lag += highs.reduce((sum, h) => {
        const c = Number(
          committed?.partitions.find((x) => x.partition === h.partition)?.offset ?? -1,
        );
        return sum + Number(h.high) - Math.max(c, Number(h.low));
      }, 0);
    }
    if (lag === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const seconds = (Date.now() - t0) / 1000;
  const dropped = (await agent.metrics.registry.getMetricsAsJSON()).find(
    (m) => m.name === 'weir_stage_records_dropped_total',
  );
  const duplicatesDropped = (dropped?.values ?? [])
    .filter((v) => v.labels.reason === 'duplicate')
    .reduce((sum, v) => sum + v.value, 0);
  const joinRows = (await agent.metrics.registry.getMetricsAsJSON()).find(
    (m) => m.name === 'weir_join_rows_total',
  );
  const joined = (reason: string) =>
    (joinRows?.values ?? []).find((v) => v.labels.reason === reason)?.value ?? 0;
  await agent.stop();

  const table = `${ch.database}.${ch.table}`;
  const rows = await (
    await clickhouse.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })
  ).json<{ n: string }>();
  const dlq = await admin.fetchTopicOffsets(p.dead_letter.topic);
  const dead = dlq.reduce((s, x) => s + Number(x.high) - Number(x.low), 0);
  const m = report.counts.malformed;
  console.log('');
  say(`done in ${seconds.toFixed(1)} s`);
  say(
    `produced        ${report.counts.total} records (${report.counts.unique} unique valid, ${report.counts.duplicates} duplicates, ${m.invalid_json + m.wrong_type + m.missing_field} malformed)`,
  );
  say(`duplicates      ${duplicatesDropped} dropped by the dedup stage before ClickHouse`);
  if (joinTopic) {
    say(
      `payments        ${report.counts.payments} on ${joinTopic} (${report.counts.joinablePairs} for an order, ${report.counts.orphanPayments} for none)`,
    );
    say(
      `joined          ${joined('matched')} order+payment rows, ${joined('unmatched')} unpaid orders with null payment fields`,
    );
  }
  say(
    `in ClickHouse   ${rows[0]?.n} rows in ${table}${p.transforms.some((t) => 'filter' in t) ? ' (the filter drops status = "test")' : ''}`,
  );
  say(
    `dead letters    ${dead} records in topic ${p.dead_letter.topic}, each with its reason in headers`,
  );
  console.log(`
Try:
  clickhouse-client --query "SELECT status, count(), round(sum(amount), 2) FROM ${table} GROUP BY status"
  curl -s 'http://127.0.0.1:8123/?query=SELECT+currency,count()+FROM+${table}+GROUP+BY+currency'
  npm run weir -- run -c ${configPath}      # run the pipeline yourself (Ctrl-C stops it cleanly)
  npm run stack -- down                     # stop the local services
`);
  await clickhouse.close();
  await admin.disconnect();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[demo] error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
