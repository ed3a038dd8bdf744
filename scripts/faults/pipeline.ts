// The pipeline the fault scripts (chaos, soak) run: generated orders with 10% duplicates and 1%
// malformed records, through dedup, into a ReplicatedMergeTree table with exactly-once required
// (on ClickHouse 18.16 a replayed batch is dropped by its block hash). Fresh topic, table, group
// and dedup bucket per run; `counts()` is what the run is judged by.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { stringify } from 'yaml';
import { runGenerator, type GeneratorReport } from '../../src/generate/index.ts';
import {
  Cleanup,
  deleteBuckets,
  endpoints,
  freePort,
  freshId,
  groupLag,
  kafkaClient,
} from '../bench/stack.ts';
import { sleep, type Log } from './script.ts';

export interface FaultPipelineOptions {
  /** Prefix of the topic, table, group and pipeline names (chaos, soak). */
  name: string;
  partitions: number;
  /** The ClickHouse URL the agent writes to (e.g. a proxy in front of the server). */
  sinkUrl?: string;
  /** source.session_timeout_ms; default: Weir's. */
  sessionTimeoutMs?: number;
  /** The dedup window; default 1h (longer than any run: every duplicate is caught). */
  dedupWindow?: string;
}

export interface FaultPipeline {
  topic: string;
  table: string;
  group: string;
  configPath: string;
  /** Produces `count` records at `rate` per second; resolves when all are acknowledged. */
  produce(o: { count: number; rate: number; seed: number }): Promise<GeneratorReport>;
  /** Waits until the group has committed every offset; false when `timeoutMs` ran out first. */
  drain(timeoutMs: number, log: Log): Promise<boolean>;
  /** Rows in the table and distinct event ids among them. */
  counts(): Promise<{ rows: number; unique: number }>;
  cleanup(): Promise<void>;
}

export async function openFaultPipeline(o: FaultPipelineOptions): Promise<FaultPipeline> {
  const id = `${Date.now().toString(36)}${freshId()}`;
  const topic = `weir-${o.name}-${id}`;
  const dlq = `${topic}.dlq`;
  const table = `${o.name}_${id}`;
  const group = `weir-${o.name}-${id}`;
  const bucket = `weir_${o.name}_${id}`;
  const cleanup = new Cleanup();
  const admin = kafkaClient(`weir-${o.name}`).admin();
  await admin.connect();
  cleanup.add('disconnect the admin client', () => admin.disconnect());
  await admin.createTopics({
    topics: [{ topic, numPartitions: o.partitions }],
    waitForLeaders: true,
  });
  cleanup.add('delete the topics', () => admin.deleteTopics({ topics: [topic, dlq] }));
  const ch = createClient({ url: endpoints.clickhouse, request_timeout: 60_000 });
  cleanup.add('close the ClickHouse client', () => ch.close());
  await ch.command({
    query: `CREATE TABLE ${table} (event_id String, user_id String, amount Float64, created_at DateTime)
            ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${table}', '{replica}') ORDER BY event_id`,
  });
  cleanup.add('drop the table', () => ch.command({ query: `DROP TABLE IF EXISTS ${table}` }));
  cleanup.add('delete the dedup bucket', () => deleteBuckets([bucket]));
  const config = {
    agent: { http: { host: '127.0.0.1', port: await freePort() }, shutdown_timeout_ms: 10_000 },
    pipelines: [
      {
        name: `${o.name}_${id}`,
        source: {
          brokers: [endpoints.kafka],
          topics: [topic],
          group_id: group,
          ...(o.sessionTimeoutMs ? { session_timeout_ms: o.sessionTimeoutMs } : {}),
        },
        schema: {
          fields: {
            event_id: 'uuid',
            user_id: 'string',
            amount: 'number',
            created_at: { type: 'datetime', path: 'ts' },
          },
        },
        dedup: {
          key: ['event_id'],
          window: o.dedupWindow ?? '1h',
          nats: { servers: [endpoints.nats], bucket },
        },
        sink: {
          clickhouse: {
            url: o.sinkUrl ?? endpoints.clickhouse,
            table,
            batch: { max_rows: 5000, max_delay_ms: 300 },
            retry: { initial_ms: 100, max_ms: 2000 },
            exactly_once: 'required',
          },
        },
        dead_letter: { topic: dlq },
      },
    ],
  };
  const configPath = join(mkdtempSync(join(tmpdir(), `weir-${o.name}-`)), 'weir.yaml');
  writeFileSync(configPath, stringify(config));

  return {
    topic,
    table,
    group,
    configPath,
    produce: ({ count, rate, seed }) =>
      runGenerator({
        brokers: [endpoints.kafka],
        topic,
        count,
        rate,
        dupRate: 0.1,
        badRate: 0.01,
        seed,
        partitions: o.partitions,
      }),
    drain: async (timeoutMs, log) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lag = await groupLag(admin, group, topic);
        if (lag === 0) return true;
        if (Date.now() > deadline) {
          log(`not drained after ${Math.round(timeoutMs / 1000)} s (lag ${lag})`);
          return false;
        }
        await sleep(500);
      }
    },
    counts: async () => {
      const rs = await ch.query({
        query: `SELECT count() AS rows, uniqExact(event_id) AS uniq FROM ${table}`,
        format: 'JSONEachRow',
      });
      const [r] = await rs.json<{ rows: string; uniq: string }>();
      return { rows: Number(r?.rows ?? 0), unique: Number(r?.uniq ?? 0) };
    },
    cleanup: () => cleanup.run(),
  };
}
