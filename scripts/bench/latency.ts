// End-to-end latency at a steady rate: the agent runs first (exactly-once, 1 s max batch delay),
// then the load generator produces at the target rate while this process polls ClickHouse.
//
// Method: every row carries its Kafka record's partition, offset and timestamp (set by the
// producer when it sends the record). Weir inserts a partition's batches in offset order, so
// each poll (every POLL_MS) asks only for the rows of each partition past the highest offset
// seen so far. A row's latency is the time the poll that first returned it completed minus its
// Kafka timestamp: an upper bound, late by at most one poll interval plus the query time. Both
// times come from this process's clock. Weir's own histogram (weir_end_to_end_latency_seconds,
// Kafka timestamp → insert acknowledged) is interpolated as a cross-check.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin } from 'kafkajs';
import { runGenerator } from '../../src/generate/index.ts';
import { histogramQuantile, parseHistogram, quantileSorted } from './stats.ts';
import { countRows, deleteBuckets, endpoints, groupJoined, log, type Cleanup } from './stack.ts';
import { AgentChild, createWeirTable, weirConfig } from './weir.ts';

const POLL_MS = 100;

export interface LatencyOptions {
  id: string;
  partitions: number;
  rate: number;
  seconds: number;
  dupRate: number;
  seed: number;
  port: number;
  nodeFlags?: readonly string[];
}

export interface LatencyResult {
  /** The rate the generator achieved. */
  rateEps: number;
  rows: number;
  uniqueExpected: number;
  samples: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  maxMs: number | null;
  /** From Weir's histogram (bucket bounds 0.1, 0.25, 0.5, 1, 2, 5 s), interpolated. */
  histogramP50Ms: number | null;
  histogramP99Ms: number | null;
}

/** Collects latencies of rows as they become visible. */
class VisibilityPoller {
  private readonly highest: number[];
  private latencies = new Float64Array(1 << 16);
  count = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;
  error: unknown;

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly table: string,
    partitions: number,
  ) {
    this.highest = new Array<number>(partitions).fill(-1);
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const next = Date.now() + POLL_MS;
        try {
          await this.poll();
        } catch (err) {
          this.error = err;
        }
        await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async poll(): Promise<void> {
    const where = this.highest
      .map((o, p) => `(kafka_partition = ${p} AND kafka_offset > ${o})`)
      .join(' OR ');
    // TabSeparated: ClickHouse 18.16 has no JSONCompactEachRow.
    const rs = await this.ch.query({
      query: `SELECT kafka_partition, kafka_offset, kafka_ts FROM ${this.table} WHERE ${where}`,
      format: 'TabSeparated',
    });
    const text = await rs.text();
    const seenAt = Date.now();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const [partition, offset, ts] = line.split('\t');
      const p = Number(partition);
      const o = Number(offset);
      if (o > (this.highest[p] ?? -1)) this.highest[p] = o;
      this.add(seenAt - Number(ts));
    }
  }

  private add(ms: number): void {
    if (this.count === this.latencies.length) {
      const bigger = new Float64Array(this.latencies.length * 2);
      bigger.set(this.latencies);
      this.latencies = bigger;
    }
    this.latencies[this.count++] = ms;
  }

  sorted(): Float64Array {
    return this.latencies.slice(0, this.count).sort();
  }
}

export async function runLatency(
  admin: Admin,
  ch: ClickHouseClient,
  cleanup: Cleanup,
  o: LatencyOptions,
): Promise<LatencyResult> {
  const suffix = `${o.id}_${Date.now().toString(36)}`;
  const topic = `weir-bench-latency-${suffix}`;
  const table = `bench_latency_${suffix}`;
  const group = `weir-bench-latency-${suffix}`;
  const spec = {
    name: 'bench_latency',
    topic,
    table,
    group,
    port: o.port,
    delivery: 'exactly_once' as const,
    maxRows: 50_000,
    maxDelayMs: 1000,
    dedupBucket: `weir_bench_dedup_${suffix}`,
    ledgerBucket: `weir_bench_ledger_${suffix}`,
    kafkaMetadata: true,
  };
  await admin.createTopics({
    topics: [{ topic, numPartitions: o.partitions }],
    waitForLeaders: true,
  });
  cleanup.add(`delete ${topic}`, () => admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }));
  await createWeirTable(ch, table, 'exactly_once', true);
  cleanup.add(`drop ${table}`, () => ch.command({ query: `DROP TABLE IF EXISTS ${table}` }));
  cleanup.add(`delete group ${group}`, () => admin.deleteGroups([group]).catch(() => undefined));
  cleanup.add('delete buckets', () => deleteBuckets([spec.dedupBucket, spec.ledgerBucket]));
  const agent = new AgentChild(weirConfig(spec), o.port, { nodeFlags: o.nodeFlags });
  const poller = new VisibilityPoller(ch, table, o.partitions);
  try {
    await groupJoined(admin, group, o.partitions, 120_000, () => agent.alive).catch(
      (err: unknown) => {
        throw new Error(`${(err as Error).message}\nagent output:\n${agent.tail()}`);
      },
    );
    // Let the lanes load their ledger and dedup state before the clock matters.
    await new Promise((r) => setTimeout(r, 1000));
    poller.start();
    log(`latency: producing ${o.rate} events/s for ${o.seconds} s`);
    const report = await runGenerator({
      brokers: [endpoints.kafka],
      topic,
      count: Math.round(o.rate * o.seconds),
      rate: o.rate,
      dupRate: o.dupRate,
      dupWindow: 10_000,
      partitions: o.partitions,
      seed: o.seed,
    });
    const unique = report.counts.unique;
    const deadline = Date.now() + 60_000;
    while (poller.count < unique && Date.now() < deadline && agent.alive)
      await new Promise((r) => setTimeout(r, 200));
    await poller.stop();
    if (poller.count < unique)
      log(
        `latency: only ${poller.count} of ${unique} rows became visible (last poll error: ${String(poller.error)})`,
      );
    const buckets = parseHistogram(await agent.metrics(), 'weir_end_to_end_latency_seconds');
    const code = await agent.stop();
    if (code !== 0) throw new Error(`the agent exited with ${code}:\n${agent.tail()}`);
    const rows = await countRows(ch, table);
    const sorted = poller.sorted();
    const q = (x: number) => quantileSorted(sorted, x);
    const h = (x: number) => {
      const v = histogramQuantile(buckets, x);
      return v === null ? null : v * 1000;
    };
    return {
      rateEps: report.eventsPerSec,
      rows,
      uniqueExpected: unique,
      samples: poller.count,
      p50Ms: q(0.5),
      p90Ms: q(0.9),
      p99Ms: q(0.99),
      p999Ms: q(0.999),
      maxMs: q(1),
      histogramP50Ms: h(0.5),
      histogramP99Ms: h(0.99),
    };
  } finally {
    await poller.stop();
    await agent.stop();
  }
}
