// `npm run bench -- [--events N] [--dup-rate R] [--partitions P] [--runs K] …`: Weir against the
// raw Node consumer and ClickHouse's own Kafka engine, in one run, on the local stack (started
// beforehand with `npm run stack -- up`; the bench never starts or stops services). Per run:
//   1. N generated JSON orders (~250 bytes, R duplicates, keyed by event_id) into a fresh topic;
//   2. raw: a kafkajs consumer group parses them all (the ceiling for a Node consumer here);
//   3. weir: the agent (dedup, exactly-once into a ReplicatedMergeTree table) until the table
//      holds the unique set; then the same at-least-once into a MergeTree table;
//   4. kafka_engine: a Kafka engine table + materialized view into a MergeTree table (no dedup);
//   5. latency: a steady rate for 60 s through the agent with a 1 s max batch delay.
// Each figure is the median over the runs (and the ratios are medians of per-run ratios, so Weir
// is compared with raw under the same load). Progress goes to stderr; the last line of stdout is
// one JSON object. Options: scripts/bench/options.ts; method: README, section Performance.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { runGenerator } from '../src/generate/index.ts';
import {
  runKafkaEngine,
  runRaw,
  runWeir,
  type Backlog,
  type ContenderResult,
  type KafkaEngineResult,
  type WeirResult,
} from './bench/contenders.ts';
import { runLatency, type LatencyResult } from './bench/latency.ts';
import { parseBenchArgs, usage, type BenchOptions } from './bench/options.ts';
import { median, round } from './bench/stats.ts';
import {
  Cleanup,
  clickhouseClient,
  endpoints,
  freePort,
  freshId,
  kafkaClient,
  log,
  natsReachable,
} from './bench/stack.ts';

/** Between contenders: ClickHouse merges the previous one's parts, Kafka settles its groups. */
const SETTLE_MS = 3000;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

interface RunResult {
  unique: number;
  raw?: ContenderResult;
  weir: WeirResult;
  alo?: WeirResult;
  kafkaEngine?: KafkaEngineResult;
  kafkaEngineError?: string;
  latency?: LatencyResult;
}

function machine() {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
  return {
    nproc: cpus().length,
    cpu_model: model ?? cpus()[0]?.model ?? 'unknown',
    mem_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    load_avg_1m_at_start: round(loadavg()[0] ?? 0, 2),
  };
}

async function oneRun(o: BenchOptions, run: number): Promise<RunResult> {
  const id = freshId();
  const topic = `weir-bench-${id}`;
  const cleanup = new Cleanup();
  const admin = kafkaClient().admin();
  await admin.connect();
  const ch = clickhouseClient();
  try {
    log(`run ${run}: producing ${o.events} events (${o.dupRate * 100}% duplicates) into ${topic}`);
    cleanup.add(`delete ${topic}`, () =>
      admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined),
    );
    const report = await runGenerator({
      brokers: [endpoints.kafka],
      topic,
      count: o.events,
      dupRate: o.dupRate,
      dupWindow: 10_000,
      recordBytes: o.recordBytes,
      partitions: o.partitions,
      seed: o.seed,
    });
    const b: Backlog = {
      id,
      topic,
      partitions: o.partitions,
      events: o.events,
      unique: report.counts.unique,
      recordBytes: o.recordBytes,
    };
    log(
      `run ${run}: ${b.unique} unique, ${report.counts.duplicates} duplicates, ${Math.round(report.bytes / report.messages)} bytes/event (produced at ${report.eventsPerSec}/s)`,
    );
    const result: Partial<RunResult> = { unique: b.unique };
    if (o.raw) {
      result.raw = await runRaw(admin, b);
      log(`run ${run}: raw ${Math.round(result.raw.eps)} events/s`);
    }
    const weirRun = async (delivery: 'exactly_once' | 'at_least_once') => {
      await settle();
      return runWeir(admin, ch, cleanup, b, {
        delivery,
        maxRows: o.maxRows,
        maxInFlightBytes: o.maxInFlightBytes,
        port: await freePort(),
        cpuProfDir: o.cpuProf,
        nodeFlags: o.nodeFlags,
        runLabel: `${run}-${id}`,
      });
    };
    result.weir = await weirRun('exactly_once');
    log(
      `run ${run}: weir exactly-once ${Math.round(result.weir.eps)} events/s, ${result.weir.rows} rows (${result.weir.uniqueOk ? 'exact' : 'WRONG'}), ${round(result.weir.cpuCores, 2)} cores, ${round(result.weir.peakRssMb)} MiB`,
    );
    if (o.kafkaEngine) {
      const consumers = o.kafkaEngineConsumers ?? Math.min(o.partitions, machine().nproc);
      try {
        await settle();
        result.kafkaEngine = await runKafkaEngine(admin, ch, cleanup, b, consumers);
        log(`run ${run}: kafka engine ${Math.round(result.kafkaEngine.eps)} events/s`);
      } catch (err) {
        result.kafkaEngineError = err instanceof Error ? err.message : String(err);
        log(`run ${run}: kafka engine failed: ${result.kafkaEngineError}`);
      }
    }
    if (o.atLeastOnce) {
      result.alo = await weirRun('at_least_once');
      log(
        `run ${run}: weir at-least-once ${Math.round(result.alo.eps)} events/s, ${result.alo.rows} rows (${result.alo.uniqueOk ? 'exact' : 'WRONG'})`,
      );
    }
    if (o.latency) {
      await settle();
      result.latency = await runLatency(admin, ch, cleanup, {
        id,
        partitions: o.partitions,
        rate: o.rate,
        seconds: o.latencySeconds,
        dupRate: o.dupRate,
        seed: o.seed,
        port: await freePort(),
        nodeFlags: o.nodeFlags,
      });
      const l = result.latency;
      log(
        `run ${run}: latency at ${l.rateEps}/s: p50 ${round(l.p50Ms)} ms, p99 ${round(l.p99Ms)} ms (Weir's histogram: p99 ≈ ${round(l.histogramP99Ms)} ms), ${l.samples}/${l.uniqueExpected} rows seen`,
      );
    }
    return result as RunResult;
  } finally {
    if (!o.keep) await cleanup.run();
    await ch.close();
    await admin.disconnect();
  }
}

function summarize(o: BenchOptions, runs: RunResult[], env: ReturnType<typeof machine>) {
  const m = (pick: (r: RunResult) => number | null | undefined, digits = 0) =>
    round(median(runs.map(pick).filter((v): v is number => typeof v === 'number')), digits);
  const list = (pick: (r: RunResult) => number | null | undefined, digits = 0) =>
    runs.map((r) => round(pick(r) ?? null, digits));
  const keErrors = runs.map((r) => r.kafkaEngineError).filter((e) => e !== undefined);
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? a / b : null;
  return {
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: env,
    agent_node_flags: o.nodeFlags.join(' '),
    events: o.events,
    record_bytes: o.recordBytes || null,
    max_in_flight_bytes: o.maxInFlightBytes ?? null,
    dup_rate: o.dupRate,
    partitions: o.partitions,
    runs: runs.length,
    unique_expected: m((r) => r.unique),
    rows: m((r) => r.weir.rows),
    unique_ok: runs.every((r) => r.weir.uniqueOk && (r.alo?.uniqueOk ?? true)),
    exactly_once: runs.every((r) => r.weir.exactlyOnce),
    throughput_eps: m((r) => r.weir.eps),
    raw_consume_eps: o.raw ? m((r) => r.raw?.eps) : null,
    kafka_engine_eps: o.kafkaEngine ? m((r) => r.kafkaEngine?.eps) : null,
    kafka_engine_error: keErrors.length > 0 ? keErrors[0] : null,
    ratio_vs_raw: m((r) => ratio(r.weir.eps, r.raw?.eps), 3),
    ratio_vs_kafka_engine: m((r) => ratio(r.weir.eps, r.kafkaEngine?.eps), 3),
    at_least_once_eps: o.atLeastOnce ? m((r) => r.alo?.eps) : null,
    steady_rate_eps: o.latency ? m((r) => r.latency?.rateEps) : null,
    p50_latency_ms: o.latency ? m((r) => r.latency?.p50Ms) : null,
    p90_latency_ms: o.latency ? m((r) => r.latency?.p90Ms) : null,
    p99_latency_ms: o.latency ? m((r) => r.latency?.p99Ms) : null,
    p999_latency_ms: o.latency ? m((r) => r.latency?.p999Ms) : null,
    max_latency_ms: o.latency ? m((r) => r.latency?.maxMs) : null,
    p50_latency_ms_weir_histogram: o.latency ? m((r) => r.latency?.histogramP50Ms) : null,
    p99_latency_ms_weir_histogram: o.latency ? m((r) => r.latency?.histogramP99Ms) : null,
    latency_method:
      'Kafka record timestamp (producer send) to the first 100 ms ClickHouse poll that returns the row; an upper bound',
    dedup_bytes_per_key: m((r) => r.weir.dedupBytesPerKey, 1),
    peak_rss_mb: m((r) => r.weir.peakRssMb),
    cpu_cores: m((r) => r.weir.cpuCores, 2),
    raw_cpu_cores: o.raw ? m((r) => r.raw?.cpuCores, 2) : null,
    raw_peak_rss_mb: o.raw ? m((r) => r.raw?.peakRssMb) : null,
    kafka_engine_consumers: o.kafkaEngine ? (runs[0]?.kafkaEngine?.consumers ?? null) : null,
    kafka_engine_clickhouse_cpu_cores: o.kafkaEngine ? m((r) => r.kafkaEngine?.cpuCores, 2) : null,
    machine_busy_cores: {
      raw: o.raw ? m((r) => r.raw?.machineCores, 2) : null,
      weir: m((r) => r.weir.machineCores, 2),
      kafka_engine: o.kafkaEngine ? m((r) => r.kafkaEngine?.machineCores, 2) : null,
      weir_at_least_once: o.atLeastOnce ? m((r) => r.alo?.machineCores, 2) : null,
    },
    weir_wall_seconds: m((r) => r.weir.wallSeconds, 1),
    per_run: {
      throughput_eps: list((r) => r.weir.eps),
      raw_consume_eps: list((r) => r.raw?.eps),
      kafka_engine_eps: list((r) => r.kafkaEngine?.eps),
      at_least_once_eps: list((r) => r.alo?.eps),
      ratio_vs_raw: list((r) => ratio(r.weir.eps, r.raw?.eps), 3),
      cpu_cores: list((r) => r.weir.cpuCores, 2),
      peak_rss_mb: list((r) => r.weir.peakRssMb),
      p50_latency_ms: list((r) => r.latency?.p50Ms),
      p99_latency_ms: list((r) => r.latency?.p99Ms),
      p99_latency_ms_weir_histogram: list((r) => r.latency?.histogramP99Ms),
      steady_rate_eps: list((r) => r.latency?.rateEps),
    },
  };
}

/** Runs that fail (e.g. a service restarted by someone else) are run again, this many times. */
const MAX_RETRIES = 2;

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function stackReachable(): Promise<void> {
  const admin = kafkaClient().admin();
  const ch = clickhouseClient();
  try {
    await admin.connect();
    const ping = await ch.ping();
    if (!ping.success) throw ping.error;
    await natsReachable();
  } catch (err) {
    throw new Error(
      `the local stack is not reachable (${describe(err)}): start it with npm run stack -- up`,
      { cause: err },
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
    await ch.close();
  }
}

async function main(): Promise<number> {
  const o = parseBenchArgs(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const env = machine();
  log(
    `${env.nproc} cores (${env.cpu_model}), ${env.mem_gib} GiB, load ${env.load_avg_1m_at_start}; ${o.runs} run(s) of ${o.events} events`,
  );
  await stackReachable();
  const runs: RunResult[] = [];
  let retries = 0;
  for (let run = 1; run <= o.runs; run++) {
    let r: RunResult;
    try {
      r = await oneRun(o, run);
    } catch (err) {
      // The stack is shared: another user restarting a service fails a run, not the benchmark.
      if (retries >= MAX_RETRIES) throw err;
      retries++;
      log(`run ${run} failed (${describe(err)}); running it again in 15 s`);
      await new Promise((r) => setTimeout(r, 15_000));
      await stackReachable();
      run--;
      continue;
    }
    runs.push(r);
    // One run's figures as they come; with a single run they are the final line already.
    if (o.runs > 1) process.stderr.write(`${JSON.stringify(summarize(o, [r], env))}\n`);
  }
  const summary = summarize(o, runs, env);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary.unique_ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`error: ${describe(err)}`);
    process.exit(2);
  },
);
