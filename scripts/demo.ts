// `npm run demo`: the whole path on one machine. Brings the local stack up, resets the demo topic
// and table, runs the demo pipeline (examples/demo.yaml) inside this process, produces generated
// orders (with malformed records), waits until every offset is committed, and prints where every
// record went, from the agent's own counters (they add up to what was produced).
import { createClient } from '@clickhouse/client';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { connect as natsConnect } from 'nats';
import { loadConfig } from '../src/config/load.ts';
import { sinkFields, type PipelineConfig } from '../src/config/schema.ts';
import { createTableSql } from '../src/sink/clickhouse/ddl.ts';
import { serverInfo } from '../src/sink/clickhouse/describe.ts';
import { runGenerator, type GeneratorReport } from '../src/generate/index.ts';
import { Agent } from '../src/pipeline/agent.ts';
import { createLogger } from '../src/telemetry/logger.ts';
import { adClicksDemo, postgresLookup } from './demo-adclicks.ts';

const repo = resolve(import.meta.dirname, '..');
const configPath = process.env.WEIR_DEMO_CONFIG ?? resolve(repo, 'examples/demo.yaml');
const events = Number(process.env.WEIR_DEMO_EVENTS ?? 200_000);
const rate = Number(process.env.WEIR_DEMO_RATE ?? 50_000);
const say = (msg: string) => console.log(`[demo] ${msg}`);

async function main(): Promise<number> {
  // No trace collector runs in the demo unless you point it at one.
  if (!process.env.OTEL_EXPORTER_OTLP_ENDPOINT) process.env.OTEL_SDK_DISABLED ??= 'true';
  say('starting the local stack (Kafka, ClickHouse, ZooKeeper, NATS, PostgreSQL)…');
  const up = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/stack/main.ts', 'up'], {
    cwd: repo,
    stdio: 'inherit',
  });
  if (up.status !== 0) return 1;

  const cfg = loadConfig(configPath);
  // The ad-click scenario (examples/adclicks.yaml) seeds its campaigns table and produces clicks.
  const campaignsLookup = postgresLookup(cfg);
  if (campaignsLookup) return adClicksDemo(cfg, campaignsLookup, { events, say });
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
  const counts = await readCounters(agent);
  await agent.stop();

  const table = `${ch.database}.${ch.table}`;
  const rows = await (
    await clickhouse.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })
  ).json<{ n: string }>();
  console.log('');
  say(`done in ${seconds.toFixed(1)} s`);
  for (const line of whereRecordsWent(p, report, counts, Number(rows[0]?.n ?? 0))) say(line);
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

/** The series of one of the agent's counters whose labels pass `where`. */
type Labels = Record<string, string>;
type Counters = (
  name: string,
  where?: (labels: Labels) => boolean,
) => { labels: Labels; value: number }[];

async function readCounters(agent: Agent): Promise<Counters> {
  const metrics = await agent.metrics.registry.getMetricsAsJSON();
  return (name, where = () => true) =>
    (metrics.find((m) => m.name === name)?.values ?? [])
      .map((v) => ({ labels: v.labels as Labels, value: v.value }))
      .filter((v) => where(v.labels));
}

const total = (series: { value: number }[]) => series.reduce((sum, v) => sum + v.value, 0);

function byReason(series: { labels: Labels; value: number }[]): Map<string, number> {
  const reasons = new Map<string, number>();
  for (const { labels, value } of series)
    reasons.set(labels.reason!, (reasons.get(labels.reason!) ?? 0) + value);
  return reasons;
}

const pad = (label: string, n: number) => `${label.padEnd(15)}${String(n).padStart(7)}  `;
const check = (a: number, b: number) => (a === b ? '✓' : `✗ (off by ${a - b})`);

/**
 * Where every produced order went, from the agent's own counters: inserted (or, through a join,
 * joined or unpaid), filtered, dropped as a duplicate, dead-lettered, or dropped for another
 * reason (late, …); these add up to what was produced. A join's right stream is counted apart.
 */
function whereRecordsWent(
  p: PipelineConfig,
  report: GeneratorReport,
  count: Counters,
  tableRows: number,
): string[] {
  const topic = p.source.topics[0]!;
  const joinTopic = p.join?.right.topic;
  // Stages of the pipeline's own records: not the join's right side (join.*); with a join, the
  // sink counts rows rather than orders, so it is left out too.
  const orderStage = (l: Labels) =>
    !l.stage!.startsWith('join.') && !(joinTopic && l.stage === 'sink');
  const sum = (name: string, where?: (labels: Labels) => boolean) => total(count(name, where));
  const dead = byReason(count('weir_dead_letter_records_total', orderStage));
  const dropped = byReason(
    count('weir_stage_records_dropped_total', (l) => orderStage(l) && l.reason !== 'buffered'),
  );
  const produced = sum('weir_source_records_total', (l) => l.topic === topic);
  const filtered = dropped.get('filtered') ?? 0;
  const duplicates = dropped.get('duplicate') ?? 0;
  const deadTotal = [...dead.values()].reduce((a, b) => a + b, 0);
  // Dead-lettered records are dropped too, under the same reason: the rest was only dropped.
  const other = [...dropped]
    .filter(([reason]) => reason !== 'filtered' && reason !== 'duplicate')
    .map(([reason, n]) => [reason, n - (dead.get(reason) ?? 0)] as const)
    .filter(([, n]) => n > 0);
  const joined = sum('weir_join_records_total', (l) => l.side === 'left' && l.reason === 'matched');
  const unpaid = sum(
    'weir_join_records_total',
    (l) => l.side === 'left' && l.reason === 'unmatched',
  );
  const joinedRows = sum('weir_join_rows_total', (l) => l.reason === 'matched');
  const unpaidRows = sum('weir_join_rows_total', (l) => l.reason === 'unmatched');
  const inserted = sum('weir_stage_records_emitted_total', (l) => l.stage === 'sink');
  const landed = joinTopic ? joined + unpaid : inserted;
  const accounted =
    landed + filtered + duplicates + deadTotal + other.reduce((s, [, n]) => s + n, 0);
  const table = `${p.sink.clickhouse.database}.${p.sink.clickhouse.table}`;
  const filters = p.transforms.flatMap((t) => ('filter' in t ? [t.filter] : []));
  const c = report.counts;
  const malformed = c.malformed.invalid_json + c.malformed.wrong_type + c.malformed.missing_field;
  const list = (m: Map<string, number>) => [...m].map(([r, n]) => `${r} ${n}`).join(', ');

  const lines = [
    `${pad('produced', produced)}orders to ${topic}: ${c.unique} unique valid, ${c.duplicates} duplicates, ${malformed} malformed`,
    `where each went, by the agent's counters (/metrics):`,
    ...(joinTopic
      ? [
          `  ${pad('joined', joined)}orders with a payment → ${joinedRows} rows`,
          `  ${pad('unpaid', unpaid)}orders without one → ${unpaidRows} rows with null payment fields (left join)`,
        ]
      : [`  ${pad('inserted', inserted)}rows into ${table}`]),
    ...(filters.length > 0 ? [`  ${pad('filtered', filtered)}by ${filters.join(', ')}`] : []),
    ...(p.dedup ? [`  ${pad('duplicates', duplicates)}dropped by dedup`] : []),
    `  ${pad('dead-lettered', deadTotal)}to ${p.dead_letter.topic}, each with its reason in headers${deadTotal > 0 ? ` (${list(dead)})` : ''}`,
    ...other.map(([reason, n]) => `  ${pad(`dropped: ${reason}`, n)}`),
    `  ${pad('total', accounted)}${check(accounted, produced)} every produced order is counted once`,
  ];
  // A duplicate repeats an earlier valid order; when that order is filtered, so is its copy,
  // before dedup sees it.
  if (p.dedup && duplicates !== c.duplicates) {
    const gap = c.duplicates - duplicates;
    lines.push(
      gap > 0 && filters.length > 0
        ? `of the ${c.duplicates} generated duplicates, dedup dropped ${duplicates}; the other ${gap} copy orders the filter drops, so the filter dropped them first (counted as filtered)`
        : `the generator made ${c.duplicates} duplicates; dedup dropped ${duplicates}`,
    );
  }
  if (joinTopic) {
    const payments = sum('weir_source_records_total', (l) => l.topic === joinTopic);
    const buffered = sum(
      'weir_join_records_total',
      (l) => l.side === 'right' && l.reason === 'buffered',
    );
    const late = sum('weir_join_records_total', (l) => l.side === 'right' && l.reason === 'late');
    const deadPayments = sum('weir_dead_letter_records_total', (l) => l.stage!.startsWith('join.'));
    lines.push(
      `${pad('payments', payments)}to ${joinTopic}: ${joinedRows} joined an order, ${buffered - joinedRows} matched none (the generator made ${c.orphanPayments} orphans)` +
        (late + deadPayments > 0 ? `, ${late} late, ${deadPayments} dead-lettered` : ''),
    );
  }
  const rowsLanded = joinTopic ? joinedRows + unpaidRows : inserted;
  lines.push(
    `${pad('in ClickHouse', tableRows)}rows in ${table} ${check(tableRows, rowsLanded)}${joinTopic ? ` = ${joinedRows} joined + ${unpaidRows} unpaid` : ' = inserted'}`,
  );
  return lines;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[demo] error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
