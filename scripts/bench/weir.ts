// Weir as the benchmark runs it: the table, the pipeline config (dedup, exactly-once on a
// ReplicatedMergeTree table, or at-least-once on a MergeTree table), and the agent as a child
// process of the real CLI, so its CPU and memory are its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { stringify } from 'yaml';
import { endpoints } from './stack.ts';

const repo = resolve(import.meta.dirname, '..', '..');

export type Delivery = 'exactly_once' | 'at_least_once';

export interface WeirSpec {
  name: string;
  topic: string;
  table: string;
  group: string;
  port: number;
  delivery: Delivery;
  maxRows: number;
  maxDelayMs: number;
  dedupBucket: string;
  ledgerBucket: string;
  /** Also store each record's Kafka partition, offset and timestamp (the latency run reads them). */
  kafkaMetadata: boolean;
  /** The events carry a `note` (padded records): the table and the pipeline take it too. */
  note?: boolean;
  /** source.max_in_flight_bytes; default: the config's. */
  maxInFlightBytes?: number;
}

/** The generated orders' fields (src/generate/orders.ts), the nested items as JSON text. */
const COLUMNS = `
  event_id String, user_id String, session_id String, amount Float64, currency String,
  status String, country String, device String, items String, created_at DateTime`;

/** When a record was produced, and where it is: what the latency measurement needs. */
const METADATA_COLUMNS = 'kafka_partition UInt32, kafka_offset UInt64, kafka_ts UInt64';

/** Creates the pipeline's table: Replicated for exactly-once (18.16 drops replayed blocks). */
export async function createWeirTable(
  ch: ClickHouseClient,
  table: string,
  delivery: Delivery,
  kafkaMetadata: boolean,
  note = false,
): Promise<void> {
  const engine =
    delivery === 'exactly_once'
      ? `ReplicatedMergeTree('/clickhouse/tables/{shard}/${table}', '{replica}')`
      : 'MergeTree';
  const columns = [COLUMNS, kafkaMetadata && METADATA_COLUMNS, note && 'note String']
    .filter(Boolean)
    .join(', ');
  await ch.command({
    query: `CREATE TABLE ${table} (${columns}) ENGINE = ${engine} ORDER BY event_id`,
  });
}

const eventFields = {
  event_id: 'uuid',
  user_id: 'string',
  session_id: 'string',
  amount: 'number',
  currency: 'string',
  status: 'string',
  country: 'string',
  device: 'string',
  items: 'json',
  created_at: { type: 'datetime', path: 'ts' },
};

const metadataFields = {
  kafka_partition: { type: 'integer', from: 'partition' },
  kafka_offset: { type: 'string', from: 'offset' },
  kafka_ts: { type: 'datetime', from: 'timestamp' },
};

export function weirConfig(s: WeirSpec): unknown {
  return {
    agent: {
      http: { host: '127.0.0.1', port: s.port },
      log_level: 'warn',
      shutdown_timeout_ms: 30_000,
    },
    pipelines: [
      {
        name: s.name,
        source: {
          brokers: [endpoints.kafka],
          topics: [s.topic],
          group_id: s.group,
          ...(s.maxInFlightBytes ? { max_in_flight_bytes: s.maxInFlightBytes } : {}),
        },
        schema: {
          fields: {
            ...eventFields,
            ...(s.kafkaMetadata ? metadataFields : {}),
            ...(s.note ? { note: 'string' } : {}),
          },
        },
        // Offsets are read as text and times as epoch ms: the UInt64 columns want integers.
        transforms: s.kafkaMetadata
          ? [{ convert: { kafka_offset: 'integer', kafka_ts: 'integer' } }]
          : [],
        dedup: {
          key: 'event_id',
          window: '24h',
          time: { field: 'created_at' },
          nats: { servers: [endpoints.nats], bucket: s.dedupBucket },
        },
        sink: {
          clickhouse: {
            url: endpoints.clickhouse,
            table: s.table,
            batch: { max_rows: s.maxRows, max_delay_ms: s.maxDelayMs },
            exactly_once:
              s.delivery === 'exactly_once'
                ? { mode: 'required', nats: { servers: [endpoints.nats], bucket: s.ledgerBucket } }
                : 'off',
          },
        },
        dead_letter: { topic: `${s.topic}.dlq` },
      },
    ],
  };
}

export interface AgentOptions {
  /**
   * Write V8 CPU profiles into this folder when the agent exits: one per thread (the main
   * thread's is the large one; tsx's module loader runs on a worker thread of its own).
   */
  cpuProfDir?: string;
  /** Extra flags for node, e.g. --max-semi-space-size=64. */
  nodeFlags?: readonly string[];
}

/** The `weir run` child process. */
export class AgentChild {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  readonly port: number;

  constructor(config: unknown, port: number, opts: AgentOptions = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'weir-bench-'));
    const file = join(dir, 'weir.yaml');
    writeFileSync(file, stringify(config));
    const prof: string[] = [];
    if (opts.cpuProfDir) {
      mkdirSync(opts.cpuProfDir, { recursive: true });
      prof.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`);
    }
    this.port = port;
    this.child = spawn(
      process.execPath,
      [
        ...(opts.nodeFlags ?? []),
        ...prof,
        '--import',
        'tsx',
        join(repo, 'src/cli/weir.ts'),
        'run',
        '-c',
        file,
      ],
      {
        cwd: repo,
        // Tracing off for throughput (an OTLP exporter without a collector only adds noise).
        env: { ...process.env, OTEL_SDK_DISABLED: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (d: Buffer) => {
      this.lines.push(...d.toString().split('\n').filter(Boolean));
      if (this.lines.length > 100) this.lines.splice(0, this.lines.length - 100);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  tail(n = 15): string {
    return this.lines.slice(-n).join('\n');
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.port}/metrics`, {
      signal: AbortSignal.timeout(10_000),
    });
    return res.text();
  }

  /** SIGTERM (a graceful stop: flush, commit), then SIGKILL after `graceMs`. */
  async stop(graceMs = 40_000): Promise<number | null> {
    if (!this.alive) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
