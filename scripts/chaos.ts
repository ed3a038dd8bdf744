// `npm run chaos -- --events N --kills K`: the crash-fault suite. Runs a dedup pipeline into a
// Replicated table while producing N records (10% duplicates, 1% malformed), kills the agent with
// SIGKILL at K random moments (restarting it each time), restarts ClickHouse once and NATS once,
// waits for the pipeline to drain, then counts rows against the expected unique set.
// The last line is one JSON object; the exit code is non-zero unless duplicates = missing = 0.
import { AgentProcess } from './faults/agent.ts';
import { parseFlags } from './faults/args.ts';
import { injectFault, stack, type FaultKind } from './faults/faults.ts';
import { prefixedLog, runScript, sleep } from './faults/script.ts';
import { openFaultPipeline } from './faults/pipeline.ts';

const usage = '--events N --kills K [--rate R] [--seed S] [--partitions P] [--no-restarts]';

function parseArgs(argv: string[]) {
  return parseFlags(
    argv,
    {
      events: 200_000,
      kills: 10,
      rate: 10_000,
      seed: Date.now() % 100_000,
      partitions: 4,
      restarts: true,
    },
    usage,
  );
}

const log = prefixedLog('chaos');

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  log(`bringing the stack up`);
  stack('up');
  // A killed member holds its partitions until its session times out: 6 s, the broker's minimum.
  const p = await openFaultPipeline({
    name: 'chaos',
    partitions: o.partitions,
    sessionTimeoutMs: 6000,
  });
  const agent = new AgentProcess(p.configPath, log);
  agent.start();
  const produceSeconds = o.events / Math.max(1, o.rate);
  log(
    `producing ${o.events} events at ${o.rate}/s (~${produceSeconds.toFixed(0)} s), ${o.kills} kills`,
  );
  const producing = p.produce({ count: o.events, rate: o.rate, seed: o.seed });

  // Faults at random moments over the production window (plus a little after it).
  const windowMs = (produceSeconds + 5) * 1000;
  const faults: { at: number; kind: FaultKind }[] = [];
  for (let i = 0; i < o.kills; i++)
    faults.push({ at: 1000 + Math.random() * windowMs, kind: 'kill' });
  if (o.restarts) {
    faults.push({ at: 1000 + Math.random() * windowMs, kind: 'clickhouse' });
    faults.push({ at: 1000 + Math.random() * windowMs, kind: 'nats' });
  }
  faults.sort((a, b) => a.at - b.at);
  const start = Date.now();
  const injected: Record<FaultKind, number> = {
    kill: 0,
    clickhouse: 0,
    nats: 0,
    slow_clickhouse: 0,
  };
  for (const f of faults) {
    await sleep(Math.max(0, f.at - (Date.now() - start)));
    await injectFault(f.kind, { agent, log });
    injected[f.kind]++;
  }
  const report = await producing;
  log(`produced: ${JSON.stringify(report.counts)}`);
  await p.drain(300_000, log);
  await agent.kill('SIGTERM');
  const { rows, unique } = await p.counts();
  const expected = report.counts.unique;
  const result = {
    events: o.events,
    unique_expected: expected,
    rows,
    duplicates: rows - unique,
    missing: expected - unique,
    kills: injected.kill,
    clickhouse_restarts: injected.clickhouse,
    nats_restarts: injected.nats,
    agent_starts: agent.starts,
    seed: o.seed,
    elapsed_s: Math.round((Date.now() - t0) / 1000),
  };
  await p.cleanup();
  console.log(JSON.stringify(result));
  return result.duplicates === 0 && result.missing === 0 ? 0 : 1;
}

runScript('chaos', main);
