// The three throughput contenders over the same produced backlog. Each gets a fresh consumer group
// and is timed from the moment its group is joined (Stable, partitions assigned; the same Kafka
// protocol step for all three) until its work is done:
//   raw          a kafkajs consumer that parses every JSON value, nothing else (its own process);
//   weir         the agent (its own process) until the table holds exactly the unique set;
//   kafka_engine ClickHouse's Kafka table engine + a materialized view into a MergeTree table
//                (no dedup) until the table holds every event.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin } from 'kafkajs';
import { CpuMeter, MachineCpuMeter, peakRssMiB, pidFromFile } from './proc.ts';
import { metricSum } from './stats.ts';
import {
  countRows,
  deleteBuckets,
  endpoints,
  groupJoined,
  rowsReach,
  type Cleanup,
} from './stack.ts';
import { AgentChild, createWeirTable, weirConfig, type Delivery } from './weir.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const JOIN_TIMEOUT_MS = 120_000;

export interface Backlog {
  id: string;
  topic: string;
  partitions: number;
  events: number;
  unique: number;
  /** Events padded to this many bytes (a `note` field the agent also writes); 0 = not padded. */
  recordBytes: number;
}

export interface ContenderResult {
  eps: number;
  seconds: number;
  /** From starting the process (or creating the tables) to done, including start-up and join. */
  wallSeconds: number;
  cpuCores: number | null;
  peakRssMb: number | null;
  /** Cores busy on the whole machine meanwhile (the contender, Kafka, ClickHouse, NATS, others). */
  machineCores: number | null;
}

// ---------------------------------------------------------------- raw

export async function runRaw(admin: Admin, b: Backlog): Promise<ContenderResult> {
  const group = `weir-bench-raw-${b.id}-${Date.now().toString(36)}`;
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      resolve(repo, 'scripts/bench/raw-consumer.ts'),
      endpoints.kafka,
      b.topic,
      group,
      String(b.events),
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise((r) => child.once('exit', r));
  try {
    let out = '';
    const report = new Promise<{ done_at: number; parsed: number }>((res, rej) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) res(JSON.parse(line) as { done_at: number; parsed: number });
      });
      child.once('exit', (code) => rej(new Error(`raw consumer exited (code ${code})`)));
    });
    report.catch(() => undefined);
    const alive = () => child.exitCode === null;
    const started = await groupJoined(admin, group, b.partitions, JOIN_TIMEOUT_MS, alive);
    const meter = new CpuMeter(child.pid!);
    const machine = new MachineCpuMeter();
    meter.start();
    machine.start();
    const r = await report;
    const cpuCores = meter.cores();
    const machineCores = machine.cores();
    const peakRssMb = peakRssMiB(child.pid!);
    const seconds = (r.done_at - started) / 1000;
    return {
      eps: b.events / seconds,
      seconds,
      wallSeconds: (r.done_at - t0) / 1000,
      cpuCores,
      peakRssMb,
      machineCores,
    };
  } finally {
    child.kill('SIGTERM');
    await exited;
    await admin.deleteGroups([group]).catch(() => undefined);
  }
}

// ---------------------------------------------------------------- weir

export interface WeirResult extends ContenderResult {
  rows: number;
  uniqueOk: boolean;
  exactlyOnce: boolean;
  dedupBytesPerKey: number | null;
}

export interface WeirRunOptions {
  delivery: Delivery;
  maxRows: number;
  maxInFlightBytes?: number;
  port: number;
  cpuProfDir?: string;
  nodeFlags?: readonly string[];
  runLabel: string;
}

export async function runWeir(
  admin: Admin,
  ch: ClickHouseClient,
  cleanup: Cleanup,
  b: Backlog,
  o: WeirRunOptions,
): Promise<WeirResult> {
  const tag = o.delivery === 'exactly_once' ? 'eo' : 'alo';
  const suffix = `${b.id}_${tag}_${Date.now().toString(36)}`;
  const table = `bench_weir_${suffix}`;
  const group = `weir-bench-weir-${suffix}`;
  const spec = {
    name: `bench_${tag}`,
    topic: b.topic,
    table,
    group,
    port: o.port,
    delivery: o.delivery,
    maxRows: o.maxRows,
    maxDelayMs: 1000,
    dedupBucket: `weir_bench_dedup_${suffix}`,
    ledgerBucket: `weir_bench_ledger_${suffix}`,
    kafkaMetadata: false,
    note: b.recordBytes > 0,
    maxInFlightBytes: o.maxInFlightBytes,
  };
  await createWeirTable(ch, table, o.delivery, false, spec.note);
  cleanup.add(`drop ${table}`, () => ch.command({ query: `DROP TABLE IF EXISTS ${table}` }));
  cleanup.add(`delete group ${group}`, () => admin.deleteGroups([group]).catch(() => undefined));
  cleanup.add('delete buckets', () => deleteBuckets([spec.dedupBucket, spec.ledgerBucket]));
  const t0 = Date.now();
  const agent = new AgentChild(weirConfig(spec), o.port, {
    cpuProfDir: o.cpuProfDir && join(o.cpuProfDir, `weir-${o.runLabel}-${tag}`),
    nodeFlags: o.nodeFlags,
  });
  try {
    const alive = () => agent.alive;
    let started: number;
    try {
      started = await groupJoined(admin, group, b.partitions, JOIN_TIMEOUT_MS, alive);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nagent output:\n${agent.tail()}`, { cause: err });
    }
    const meter = new CpuMeter(agent.pid);
    const machine = new MachineCpuMeter();
    meter.start();
    machine.start();
    const done = await rowsReach(ch, table, b.unique, `weir ${tag}`, { alive }).catch(
      (err: unknown) => {
        throw new Error(`${(err as Error).message}\nagent output:\n${agent.tail()}`);
      },
    );
    const cpuCores = meter.cores();
    const machineCores = machine.cores();
    const peakRssMb = peakRssMiB(agent.pid);
    const text = await agent.metrics();
    const keys = metricSum(text, 'weir_dedup_index_keys');
    const bytes = metricSum(text, 'weir_dedup_index_bytes');
    const exactlyOnce = metricSum(text, 'weir_exactly_once') === 1;
    const code = await agent.stop();
    if (code !== 0) throw new Error(`the agent exited with ${code}:\n${agent.tail()}`);
    // After a clean stop nothing more can land: the count is final.
    const rows = await countRows(ch, table);
    const seconds = (done - started) / 1000;
    return {
      eps: b.events / seconds,
      seconds,
      wallSeconds: (done - t0) / 1000,
      cpuCores,
      peakRssMb,
      machineCores,
      rows,
      uniqueOk: rows === b.unique,
      exactlyOnce,
      dedupBytesPerKey: keys > 0 ? bytes / keys : null,
    };
  } finally {
    await agent.stop();
  }
}

// ---------------------------------------------------------------- ClickHouse Kafka engine

export interface KafkaEngineResult extends ContenderResult {
  rows: number;
  consumers: number;
}

/** The running clickhouse-server of the local stack, for its CPU time. */
function clickhousePid(): number | undefined {
  return pidFromFile(resolve(repo, '.weir/stack/clickhouse/clickhouse.pid'));
}

export async function runKafkaEngine(
  admin: Admin,
  ch: ClickHouseClient,
  cleanup: Cleanup,
  b: Backlog,
  consumers: number,
): Promise<KafkaEngineResult> {
  const suffix = `${b.id}_${Date.now().toString(36)}`;
  const target = `bench_ke_${suffix}`;
  const queue = `bench_ke_queue_${suffix}`;
  const view = `bench_ke_mv_${suffix}`;
  const group = `weir-bench-ke-${suffix}`;
  await ch.command({
    query: `CREATE TABLE ${target} (
      event_id String, user_id String, session_id String, amount Float64, currency String,
      status String, country String, device String, created_at DateTime
    ) ENGINE = MergeTree ORDER BY event_id`,
  });
  cleanup.add(`drop ${target}`, () => ch.command({ query: `DROP TABLE IF EXISTS ${target}` }));
  // librdkafka in 18.16 starts a new group at the end of the topic and the server config cannot
  // change that here: commit the beginning for the fresh group first, so it reads the backlog.
  const lows = await admin.fetchTopicOffsets(b.topic);
  await admin.setOffsets({
    groupId: group,
    topic: b.topic,
    partitions: lows.map((p) => ({ partition: p.partition, offset: p.low })),
  });
  cleanup.add(`delete group ${group}`, () => admin.deleteGroups([group]).catch(() => undefined));
  const stopEngine = async () => {
    await ch.command({ query: `DROP TABLE IF EXISTS ${view}` });
    await ch.command({ query: `DROP TABLE IF EXISTS ${queue}` });
  };
  cleanup.add(`drop ${queue}`, stopEngine);
  const chPid = clickhousePid();
  const t0 = Date.now();
  // 18.16 takes the SETTINGS form; JSONEachRow skips the fields the table does not declare
  // (the engine sets input_format_skip_unknown_fields), e.g. the nested items.
  await ch.command({
    query: `CREATE TABLE ${queue} (
      event_id String, user_id String, session_id String, amount Float64, currency String,
      status String, country String, device String, ts UInt64
    ) ENGINE = Kafka SETTINGS
      kafka_broker_list = '${endpoints.kafka}',
      kafka_topic_list = '${b.topic}',
      kafka_group_name = '${group}',
      kafka_format = 'JSONEachRow',
      kafka_num_consumers = ${consumers}`,
  });
  const joined = groupJoined(admin, group, b.partitions, JOIN_TIMEOUT_MS);
  await ch.command({
    query: `CREATE MATERIALIZED VIEW ${view} TO ${target} AS
      SELECT event_id, user_id, session_id, amount, currency, status, country, device,
             toDateTime(intDiv(ts, 1000)) AS created_at
      FROM ${queue}`,
  });
  const started = await joined;
  const meter = chPid !== undefined ? new CpuMeter(chPid) : undefined;
  const machine = new MachineCpuMeter();
  meter?.start();
  machine.start();
  // A Kafka engine that cannot read the broker simply inserts nothing: the stall check says so.
  const done = await rowsReach(ch, target, b.events, 'kafka engine');
  const cpuCores = meter?.cores() ?? null;
  const machineCores = machine.cores();
  await stopEngine();
  const rows = await countRows(ch, target);
  const seconds = (done - started) / 1000;
  return {
    eps: b.events / seconds,
    seconds,
    wallSeconds: (done - t0) / 1000,
    cpuCores,
    peakRssMb: null,
    machineCores,
    rows,
    consumers,
  };
}
