// The benchmark's view of the local stack: endpoints, fresh names, and the few Kafka, ClickHouse
// and NATS calls every contender needs (group joined, lag, row counts, cleanup).
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { connect } from 'nats';

export const endpoints = {
  kafka: process.env.WEIR_BENCH_KAFKA ?? '127.0.0.1:9092',
  clickhouse: process.env.WEIR_BENCH_CLICKHOUSE ?? 'http://127.0.0.1:8123',
  nats: process.env.WEIR_BENCH_NATS ?? '127.0.0.1:4222',
};

export const log = (msg: string): void => {
  process.stderr.write(`[bench] ${new Date().toISOString().slice(11, 23)} ${msg}\n`);
};

/** A short random id for topic, table, group and bucket names. */
export const freshId = (): string => randomBytes(4).toString('hex');

export function kafkaClient(clientId = 'weir-bench'): Kafka {
  return new Kafka({ clientId, brokers: [endpoints.kafka], logLevel: logLevel.NOTHING });
}

export function clickhouseClient(): ClickHouseClient {
  // Failures surface as the bench's own errors; the client's log would repeat them.
  return createClient({ url: endpoints.clickhouse, log: { level: ClickHouseLogLevel.OFF } });
}

export async function countRows(ch: ClickHouseClient, table: string): Promise<number> {
  const rs = await ch.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' });
  const [row] = await rs.json<{ n: string }>();
  return Number(row?.n ?? 0);
}

/**
 * Waits until the group is Stable with every partition of the topic assigned, polling every 25 ms;
 * resolves with that moment (epoch ms). This is when a contender starts fetching: the same
 * Kafka group protocol for every contender, so their clocks start at the same point.
 */
export async function groupJoined(
  admin: Admin,
  group: string,
  partitions: number,
  timeoutMs: number,
  alive: () => boolean = () => true,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the consumer of group ${group} exited before joining`);
    const { groups } = await admin.describeGroups([group]);
    const g = groups[0];
    if (g?.state === 'Stable' && g.members.length > 0) {
      let assigned = 0;
      for (const m of g.members) assigned += assignedPartitions(m.memberAssignment);
      // Some clients (librdkafka) leave the assignment opaque to the broker: members suffice.
      if (assigned >= partitions || assigned === 0) return Date.now();
    }
    await sleep(25);
  }
  throw new Error(`group ${group} did not join within ${timeoutMs} ms`);
}

/** Partitions in a consumer-protocol member assignment (v0/v1 layout); 0 when unreadable. */
export function assignedPartitions(assignment: Buffer): number {
  try {
    let at = 2; // version
    const topics = assignment.readInt32BE(at);
    at += 4;
    let n = 0;
    for (let t = 0; t < topics; t++) {
      const len = assignment.readInt16BE(at);
      at += 2 + len;
      const parts = assignment.readInt32BE(at);
      at += 4 + 4 * parts;
      n += parts;
    }
    return n;
  } catch {
    return 0;
  }
}

/** Records of the topic not yet committed by the group. */
export async function groupLag(admin: Admin, group: string, topic: string): Promise<number> {
  const highs = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  let lag = 0;
  for (const h of highs) {
    const c = Number(committed?.partitions.find((p) => p.partition === h.partition)?.offset ?? -1);
    lag += Number(h.high) - Math.max(c, Number(h.low));
  }
  return lag;
}

/**
 * Polls the row count of a table every 100 ms until it reaches `target`; resolves with that
 * moment (epoch ms). Fails when the count stops moving for `stallMs`, or the process exits.
 */
export async function rowsReach(
  ch: ClickHouseClient,
  table: string,
  target: number,
  what: string,
  { stallMs = 60_000, alive = () => true }: { stallMs?: number; alive?: () => boolean } = {},
): Promise<number> {
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const rows = await countRows(ch, table);
    if (rows >= target) return Date.now();
    if (rows !== last) {
      last = rows;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs)
      throw new Error(`${what}: stuck at ${rows} of ${target} rows for ${stallMs / 1000} s`);
    if (!alive()) throw new Error(`${what}: the process exited at ${rows} of ${target} rows`);
    await sleep(100);
  }
}

/** Connects to NATS once (throws when it is down). */
export async function natsReachable(): Promise<void> {
  const nc = await connect({ servers: endpoints.nats });
  await nc.close();
}

export async function deleteBuckets(names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const nc = await connect({ servers: endpoints.nats });
  try {
    const jsm = await nc.jetstreamManager();
    for (const b of names) await jsm.streams.delete(`KV_${b}`).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** Cleanup steps run at the end (in reverse order), each allowed to fail. */
export class Cleanup {
  private readonly steps: { what: string; fn: () => Promise<unknown> }[] = [];

  add(what: string, fn: () => Promise<unknown>): void {
    this.steps.push({ what, fn });
  }

  /** Runs every step; a failed one is tried once more after 10 s (a service restarting). */
  async run(): Promise<void> {
    const failed: { what: string; fn: () => Promise<unknown> }[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.fn();
      } catch {
        failed.push(step);
      }
    }
    if (failed.length === 0) return;
    await sleep(10_000);
    for (const { what, fn } of failed) {
      try {
        await fn();
      } catch (err) {
        log(`cleanup: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

/** A free TCP port on 127.0.0.1 (for the agent's HTTP API). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}
