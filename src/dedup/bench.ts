// The dedup benchmark (`npm run bench:dedup`), against the local stack. Prints one JSON object:
// - eps: events/s through the whole pipeline (Kafka → parse → dedup → ClickHouse, offsets
//   committed), for a backlog of generated events with 10% duplicates, run by the real CLI;
// - bytes_per_key: memory of the in-memory index at 5M keys;
// - rebuild_5m_keys_s: time to load 5M keys of 4 partitions from NATS into a fresh index.
// Options: --events <n> (default 1000000), --keys <n> (default 5000000), --skip-e2e.
// Everything it creates (topic, table, bucket) is deleted at the end.
import { createClient } from '@clickhouse/client';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { connect } from 'nats';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { systemClock } from '../core/clock.ts';
import { runGenerator } from '../generate/index.ts';
import { NatsKeyedStore, planKey } from '../state/keyed/index.ts';
import { ensureBucket } from '../state/nats.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { KeyBuffer } from './entries.ts';
import { hash64, type Hash64 } from './hash.ts';
import { KeyIndex, type Probe } from './key-index.ts';
import { createDedup } from './stage.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const EVENTS = arg('events', 1_000_000);
const KEYS = arg('keys', 5_000_000);
const KAFKA = process.env.WEIR_TEST_KAFKA ?? '127.0.0.1:9092';
const CLICKHOUSE = process.env.WEIR_TEST_CLICKHOUSE ?? 'http://127.0.0.1:8123';
const NATS = process.env.WEIR_TEST_NATS ?? '127.0.0.1:4222';
const repo = resolve(import.meta.dirname, '..', '..');
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Events/s of the real agent over a pre-produced backlog. */
async function endToEnd(): Promise<Record<string, number>> {
  const id = randomBytes(5).toString('hex');
  const topic = `weir-bench-dedup-${id}`;
  const table = `bench_dedup_${id}`;
  const group = `weir-bench-${id}`;
  const bucket = `weir_bench_${id}`;
  const kafka = new Kafka({ clientId: 'weir-bench', brokers: [KAFKA], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ch = createClient({ url: CLICKHOUSE });
  const port = 18000 + Math.floor(Math.random() * 2000);
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
    log(`producing ${EVENTS} events (10% duplicates) into ${topic}`);
    const report = await runGenerator({
      brokers: [KAFKA],
      topic,
      count: EVENTS,
      dupRate: 0.1,
      dupWindow: 100_000,
      seed: 5,
    });
    const config = {
      agent: { http: { host: '127.0.0.1', port }, log_level: 'warn' },
      pipelines: [
        {
          name: 'bench',
          source: { brokers: [KAFKA], topics: [topic], group_id: group },
          schema: {
            fields: {
              event_id: 'uuid',
              user_id: 'string',
              amount: 'number',
              currency: 'string',
              status: 'string',
              created_at: { type: 'datetime', path: 'ts' },
              items: 'json',
            },
          },
          dedup: {
            key: 'event_id',
            window: '24h',
            time: { field: 'created_at' },
            nats: { servers: [NATS], bucket },
          },
          sink: {
            clickhouse: {
              url: CLICKHOUSE,
              table,
              create_table: { engine: 'MergeTree', order_by: ['event_id'] },
              batch: { max_rows: 50_000, max_delay_ms: 1000 },
            },
          },
        },
      ],
    };
    const dir = mkdtempSync(join(tmpdir(), 'weir-bench-'));
    const file = join(dir, 'weir.yaml');
    writeFileSync(file, stringify(config));
    const agent = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/weir.ts', 'run', '-c', file],
      {
        cwd: repo,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    try {
      const consumed = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
        const text = res ? await res.text() : '';
        const m = /^weir_source_records_total\{[^}]*\} (\S+)/m.exec(text);
        return m ? Number(m[1]) : 0;
      };
      const lag = async () => {
        const highs = await admin.fetchTopicOffsets(topic);
        const [c] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        let sum = 0;
        for (const h of highs) {
          const off = Number(c?.partitions.find((p) => p.partition === h.partition)?.offset ?? -1);
          sum += Number(h.high) - (off < 0 ? 0 : off);
        }
        return sum;
      };
      while ((await consumed()) === 0) await sleep(50);
      const started = performance.now();
      while ((await lag()) > 0) await sleep(100);
      const seconds = (performance.now() - started) / 1000;
      const rs = await ch.query({
        query: `SELECT count() AS n FROM ${table}`,
        format: 'JSONEachRow',
      });
      const [row] = await rs.json<{ n: string }>();
      const rows = Number(row?.n);
      if (rows !== report.counts.unique)
        throw new Error(`expected ${report.counts.unique} rows, ClickHouse has ${rows}`);
      return {
        eps: Math.round(EVENTS / seconds),
        events: EVENTS,
        duplicates_dropped: report.counts.duplicates,
        rows: rows,
        e2e_seconds: Number(seconds.toFixed(2)),
      };
    } finally {
      agent.kill('SIGTERM');
      await new Promise((r) => agent.once('exit', r));
    }
  } finally {
    await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
    await ch.close();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    const nc = await connect({ servers: NATS });
    await (await nc.jetstreamManager()).streams.delete(`KV_${bucket}`).catch(() => undefined);
    await nc.close();
  }
}

/** Bytes per key and insert cost of the index at KEYS keys. */
function indexMemory(): Record<string, number> {
  const index = new KeyIndex(86_400, 'arrival');
  const stream = index.openStream();
  const now = Math.floor(Date.now() / 1000);
  index.setNow(now);
  const h: Hash64 = { hi: 0, lo: 0 };
  const probe: Probe = { slot: 0, found: false };
  const prefix = randomBytes(4).toString('hex');
  const started = performance.now();
  for (let i = 0; i < KEYS; i++) {
    hash64(`${prefix}-${i}-0000-4000-8000-000000000000`, h);
    index.put(h.hi, h.lo, stream, i, now, probe);
  }
  const ms = performance.now() - started;
  return {
    index_keys: index.size,
    bytes_per_key: Number((index.bytes / index.size).toFixed(1)),
    index_insert_ns_per_key: Math.round((ms * 1e6) / KEYS),
  };
}

/** Writes KEYS keys of 4 partitions as deltas, then times a fresh stage loading them. */
async function rebuild(): Promise<Record<string, number>> {
  const bucket = `weir_bench_${randomBytes(5).toString('hex')}`;
  const nc = await connect({ servers: NATS });
  const logger = createLogger({ level: 'warn' });
  try {
    const maxEntryBytes = 1_000_000 - 1024;
    const b = await ensureBucket(nc, bucket, {
      maxAgeMs: 3_600_000,
      replicas: 1,
      maxValueBytes: maxEntryBytes,
      description: 'weir dedup benchmark',
    });
    const writer = new NatsKeyedStore(b, bucket, maxEntryBytes);
    const now = Math.floor(Date.now() / 1000);
    const h: Hash64 = { hi: 0, lo: 0 };
    const perPartition = Math.ceil(KEYS / 4);
    log(`writing ${KEYS} keys to NATS bucket ${bucket}`);
    for (let p = 0; p < 4; p++) {
      // As the stage writes them: one delta per checkpoint (here 50k keys each).
      for (let from = 0; from < perPartition; from += 50_000) {
        const buf = new KeyBuffer(50_000);
        for (let i = from; i < Math.min(perPartition, from + 50_000); i++) {
          hash64(`p${p}-${i}`, h);
          buf.add(h.hi, h.lo, i, now);
        }
        await writer.append('orders', p, buf.encode(maxEntryBytes));
      }
    }
    const stage = createDedup(
      {
        pipeline: 'bench',
        keyOf: planKey('id', [{ name: 'id', type: { kind: 'string' }, nullable: false }]),
        windowMs: 86_400_000,
        late: 'keep',
        mode: 'keyed',
      },
      {
        keyed: new NatsKeyedStore(b, bucket, maxEntryBytes),
        metrics: createMetrics(new Registry(), { defaults: false }),
        logger,
        clock: systemClock,
      },
    );
    const started = performance.now();
    await Promise.all([0, 1, 2, 3].map((p) => stage.onAssign('orders', p)));
    const seconds = (performance.now() - started) / 1000;
    const keys = stage.index.size;
    await stage.close();
    return {
      rebuild_keys: keys,
      rebuild_5m_keys_s: Number(seconds.toFixed(2)),
      rebuild_bytes_per_key: Number((stage.index.bytes / keys).toFixed(1)),
    };
  } finally {
    await (await nc.jetstreamManager()).streams.delete(`KV_${bucket}`).catch(() => undefined);
    await nc.close();
  }
}

const result: Record<string, number | string> = { command: 'npm run bench:dedup' };
if (!process.argv.includes('--skip-e2e')) Object.assign(result, await endToEnd());
Object.assign(result, indexMemory());
Object.assign(result, await rebuild());
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
