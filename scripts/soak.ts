// `npm run soak -- --minutes N [--rate R]`: the long-running fault suite. Runs the chaos pipeline
// (dedup into a Replicated table, exactly-once required, Weir's default session timeout) while
// producing R records/s (10% duplicates, 1% malformed) for N minutes, and cycles through the
// faults - SIGKILL of the agent, ClickHouse restart, NATS restart, slow ClickHouse - one every
// ~minute (a fifth of the run when shorter, at least 15 s). The agent's resident memory is sampled
// every second from /proc. After the run it waits for the pipeline to drain and counts rows.
// The last line is one JSON object; the exit code is non-zero unless duplicates = missing = 0.
// Restarting ClickHouse and NATS disturbs anything else using the local stack.
import { readFileSync } from 'node:fs';
import { parseStatusMiB } from './bench/proc.ts';
import { endpoints } from './bench/stack.ts';
import { startProxy, targetOf } from '../test/helpers/proxy.ts';
import { AgentProcess } from './faults/agent.ts';
import { parseFlags } from './faults/args.ts';
import { FAULT_KINDS, injectFault, stack, type FaultKind } from './faults/faults.ts';
import { prefixedLog, runScript, sleep } from './faults/script.ts';
import { openFaultPipeline } from './faults/pipeline.ts';

const usage =
  '--minutes N [--rate R] [--fault-every S] [--seed S] [--partitions P] [--window-seconds W] (defaults: 10 min, 2000/s, a 120 s dedup window)';
const log = prefixedLog('soak');

/** Resident memory samples of whichever agent process is running, one a second. */
class RssSampler {
  readonly samples: { atMs: number; mib: number }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: () => number | undefined,
    private readonly t0: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  private sample(): void {
    const pid = this.pid();
    if (pid === undefined) return;
    try {
      const mib = parseStatusMiB(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
      this.samples.push({ atMs: Date.now() - this.t0, mib });
    } catch {
      // exited between the pid and the read
    }
  }

  /**
   * The last sample taken by `atMs` (after the warm-up), the last one, and the largest; and, since
   * one sample can fall on a restarted agent's catch-up, the medians of the minute after the
   * warm-up and of the last minute of production (`endMs`), and how far the second is from the
   * first, in percent.
   */
  summary(atMs: number, endMs: number) {
    const round = (v: number | undefined | null) =>
      v === undefined || v === null ? null : Math.round(v);
    const warm = this.samples.filter((s) => s.atMs <= atMs);
    const medianOf = (from: number, to: number) => {
      const v = this.samples
        .filter((s) => s.atMs > from && s.atMs <= to)
        .map((s) => s.mib)
        .sort((a, b) => a - b);
      return v.length === 0 ? null : v[Math.floor(v.length / 2)]!;
    };
    const startMedian = medianOf(atMs, atMs + 60_000);
    const endMedian = medianOf(endMs - 60_000, endMs);
    return {
      start: round((warm[warm.length - 1] ?? this.samples[0])?.mib),
      end: round(this.samples[this.samples.length - 1]?.mib),
      peak: round(Math.max(...this.samples.map((s) => s.mib))),
      start_median: round(startMedian),
      end_median: round(endMedian),
      end_vs_start_pct:
        startMedian && endMedian !== null
          ? Math.round(((endMedian - startMedian) / startMedian) * 1000) / 10
          : null,
    };
  }
}

async function main(): Promise<number> {
  const o = parseFlags(
    process.argv.slice(2),
    {
      minutes: 10,
      rate: 2000,
      faultEvery: 0,
      seed: Date.now() % 100_000,
      partitions: 4,
      windowSeconds: 120,
    },
    usage,
  );
  const durationMs = o.minutes * 60_000;
  if (durationMs <= 0 || o.rate <= 0)
    throw new Error(`--minutes and --rate must be > 0 (${usage})`);
  const everyMs = o.faultEvery * 1000 || Math.min(60_000, Math.max(15_000, durationMs / 5));
  // The dedup window is short so that its state stops growing early: after the warm-up (a window
  // and a minute, at most a fifth of the run) memory should be flat, and growth would be a leak.
  const warmupMs = Math.min(durationMs / 5, o.windowSeconds * 1000 + 60_000);
  log(`bringing the stack up`);
  stack('up');
  const proxy = await startProxy(targetOf(endpoints.clickhouse));
  const p = await openFaultPipeline({
    name: 'soak',
    partitions: o.partitions,
    sinkUrl: proxy.url,
    dedupWindow: `${o.windowSeconds}s`,
  });
  const agent = new AgentProcess(p.configPath, log);
  const t0 = Date.now();
  agent.start();
  const rss = new RssSampler(() => agent.pid, t0);
  rss.start();
  try {
    const events = Math.round((o.rate * durationMs) / 1000);
    log(
      `producing ${events} events at ${o.rate}/s for ${o.minutes} min, a fault every ${everyMs / 1000} s`,
    );
    const producing = p.produce({ count: events, rate: o.rate, seed: o.seed });

    const injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<
      FaultKind,
      number
    >;
    const slow = { forMs: Math.min(15_000, everyMs / 2), delayMs: 1000 };
    // Faults while records flow; the last at least half an interval before production ends.
    for (let k = 1; k * everyMs <= durationMs - everyMs / 2; k++) {
      await sleep(k * everyMs - (Date.now() - t0));
      const kind = FAULT_KINDS[(k - 1) % FAULT_KINDS.length]!;
      await injectFault(kind, { agent, log, clickhouseProxy: proxy, slow });
      injected[kind]++;
    }
    const report = await producing;
    const producedMs = Date.now() - t0;
    log(`produced: ${JSON.stringify(report.counts)}; draining`);
    await p.drain(300_000, log);
    const drainMs = Date.now() - t0 - producedMs;
    rss.stop();
    await agent.kill('SIGTERM');
    const { rows, unique } = await p.counts();
    const expected = report.counts.unique;
    const result = {
      events,
      unique_expected: expected,
      rows,
      duplicates: rows - unique,
      missing: expected - unique,
      rss_mb: rss.summary(warmupMs, producedMs),
      restarts: { ...injected, agent_exited: agent.exits },
      agent_starts: agent.starts,
      rate: o.rate,
      duration_s: Math.round(producedMs / 1000),
      drain_s: Math.round(drainMs / 1000),
      seed: o.seed,
    };
    console.log(JSON.stringify(result));
    return result.duplicates === 0 && result.missing === 0 ? 0 : 1;
  } finally {
    rss.stop();
    await agent.kill('SIGKILL'); // still running only when the soak itself failed
    await p.cleanup();
    await proxy.close();
  }
}

runScript('soak', main);
