// Shared setup for end-to-end pipeline tests: a fresh topic, table and consumer group per test,
// a config for the real CLI, and checks against ClickHouse and Kafka.
import type { ClickHouseClient } from '@clickhouse/client';
import { runGenerator, type GeneratorReport } from '../../src/generate/index.ts';
import type { GeneratorOptions } from '../../src/generate/options.ts';
import { freePort, getText, metricValue, waitUntil, writeConfig } from './agent.ts';
import { clickhouse, endpoints, kafka, randomName } from './stack.ts';

export interface PipelineFixture {
  topic: string;
  dlqTopic: string;
  table: string;
  group: string;
  port: number;
  configPath: string;
  /** The same config with another HTTP port (a second agent of the same pipeline). */
  configWithPort(port: number): string;
  ch: ClickHouseClient;
  cleanup(): Promise<void>;
}

export async function pipelineFixture(opts: {
  partitions?: number;
  maxDelayMs?: number;
  maxRows?: number;
  extraTransforms?: unknown[];
  stallTimeoutMs?: number;
  /** The ClickHouse URL the pipeline uses (e.g. a test proxy); default: the local server. */
  sinkUrl?: string;
  /** Extra options of the pipeline (e.g. event_time_field) and of the agent (e.g. telemetry). */
  pipeline?: Record<string, unknown>;
  agent?: Record<string, unknown>;
  /**
   * A ReplicatedMergeTree table (default): it drops replayed blocks, so the pipeline runs
   * exactly-once; false gives a plain MergeTree (at-least-once on ClickHouse 18.16).
   */
  replicated?: boolean;
  /** Extra options of sink.clickhouse (e.g. exactly_once). */
  sink?: Record<string, unknown>;
  /** Extra options of the source (e.g. session_timeout_ms). */
  source?: Record<string, unknown>;
  /** Topic configs of the source topic (e.g. max.message.bytes). */
  topicConfig?: Record<string, string>;
}): Promise<PipelineFixture> {
  const id = randomName('e2e');
  const topic = `weir-${id}`;
  const dlqTopic = `${topic}.dlq`;
  const table = `t_${id}`;
  const group = `g-${id}`;
  const port = await freePort();
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: opts.partitions ?? 4,
        configEntries: Object.entries(opts.topicConfig ?? {}).map(([name, value]) => ({
          name,
          value,
        })),
      },
    ],
    waitForLeaders: true,
  });
  const ch = clickhouse();
  await ch.command({
    query: `CREATE TABLE ${table} (
      event_id String, user_id String, amount Float64, currency String, status String,
      created_at DateTime, items String, src_partition Int32, src_offset String
    ) ENGINE = ${(opts.replicated ?? true) ? `ReplicatedMergeTree('/clickhouse/tables/{shard}/${table}', '{replica}')` : 'MergeTree'} ORDER BY (event_id)`,
  });
  const config = (httpPort: number) => ({
    agent: {
      http: { host: '127.0.0.1', port: httpPort },
      shutdown_timeout_ms: 20_000,
      stall_timeout_ms: opts.stallTimeoutMs ?? 5_000,
      ...opts.agent,
    },
    pipelines: [
      {
        name: 'e2e',
        source: { brokers: [endpoints.kafka], topics: [topic], group_id: group, ...opts.source },
        schema: {
          fields: {
            event_id: 'uuid',
            user_id: 'string',
            amount: 'number',
            currency: 'string',
            status: 'string',
            created_at: { type: 'datetime', path: 'ts' },
            items: 'json',
            src_partition: { type: 'integer', from: 'partition' },
            src_offset: { type: 'string', from: 'offset' },
          },
        },
        transforms: opts.extraTransforms ?? [],
        sink: {
          clickhouse: {
            url: opts.sinkUrl ?? endpoints.clickhouse,
            table,
            batch: { max_rows: opts.maxRows ?? 20_000, max_delay_ms: opts.maxDelayMs ?? 500 },
            retry: { initial_ms: 200, max_ms: 2000 },
            ...opts.sink,
          },
        },
        dead_letter: { topic: dlqTopic },
        ...opts.pipeline,
      },
    ],
  });
  return {
    topic,
    dlqTopic,
    table,
    group,
    port,
    configPath: writeConfig(config(port)),
    configWithPort: (p) => writeConfig(config(p)),
    ch,
    cleanup: async () => {
      await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
      await ch.close();
      await admin.deleteTopics({ topics: [topic, dlqTopic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

export function generate(
  f: PipelineFixture,
  o: Partial<GeneratorOptions>,
): Promise<GeneratorReport> {
  return runGenerator({ brokers: [endpoints.kafka], topic: f.topic, dupRate: 0, ...o });
}

export async function tableCounts(f: PipelineFixture): Promise<{ rows: number; unique: number }> {
  const rs = await f.ch.query({
    query: `SELECT count() AS rows, uniqExact(event_id) AS unique FROM ${f.table}`,
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ rows: string | number; unique: string | number }>();
  return { rows: Number(r?.rows ?? 0), unique: Number(r?.unique ?? 0) };
}

/** Sum over partitions of (high-water mark - committed offset) for the test's group. */
export async function groupLag(f: PipelineFixture): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const highs = await admin.fetchTopicOffsets(f.topic);
    const [committed] = await admin.fetchOffsets({ groupId: f.group, topics: [f.topic] });
    let lag = 0;
    for (const h of highs) {
      const c = committed?.partitions.find((p) => p.partition === h.partition)?.offset ?? '-1';
      lag += Number(h.high) - (Number(c) < 0 ? Number(h.low) : Number(c));
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

export async function waitForDrain(f: PipelineFixture, timeoutMs = 120_000): Promise<void> {
  await waitUntil(
    'the consumer group to commit every offset',
    async () => (await groupLag(f)) === 0,
    timeoutMs,
    500,
  );
}

export interface DeadLetterSeen {
  reason: string;
  stage: string;
  sourceOffset: string;
  sourcePartition: string;
  detail: string;
  value: string;
  /** Every header, as text. */
  headers: Record<string, string>;
  /** The key, as text. */
  key: string;
}

/** Reads the whole dead-letter topic. */
export async function readDeadLetters(
  f: Pick<PipelineFixture, 'dlqTopic'>,
  expected: number,
): Promise<DeadLetterSeen[]> {
  const consumer = kafka().consumer({ groupId: randomName('dlq-reader') });
  const seen: DeadLetterSeen[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: f.dlqTopic, fromBeginning: true });
  const h = (
    m: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
    k: string,
  ) => String(m?.[k] ?? '');
  await consumer.run({
    eachMessage: ({ message }) => {
      seen.push({
        reason: h(message.headers, 'weir.reason'),
        stage: h(message.headers, 'weir.stage'),
        sourceOffset: h(message.headers, 'weir.source.offset'),
        sourcePartition: h(message.headers, 'weir.source.partition'),
        detail: h(message.headers, 'weir.detail'),
        value: message.value?.toString() ?? '',
        headers: Object.fromEntries(
          Object.keys(message.headers ?? {}).map((k) => [k, h(message.headers, k)]),
        ),
        key: message.key?.toString() ?? '',
      });
      return Promise.resolve();
    },
  });
  try {
    await waitUntil(`${expected} dead letters`, () => seen.length >= expected, 60_000);
    await new Promise((r) => setTimeout(r, 1000)); // any extra ones would show up now
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

export async function metrics(f: PipelineFixture): Promise<string> {
  return (await getText(`http://127.0.0.1:${f.port}/metrics`)).body;
}

export { metricValue };

/** Waits until the fixture's agent answers /readyz with 200; its output tail in the timeout. */
export async function waitAgentReady(
  f: PipelineFixture,
  agent: { output(): string },
  timeoutMs = 60_000,
): Promise<void> {
  await waitUntil(
    'the agent to be ready',
    async () => (await getText(`http://127.0.0.1:${f.port}/readyz`)).status === 200,
    timeoutMs,
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${agent.output().slice(-2000)}`);
  });
}
