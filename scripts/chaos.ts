// `npm run chaos -- --events N --kills K`: the crash-fault suite. Runs a dedup pipeline into a
// Replicated table while producing N records (10% duplicates, 1% malformed), kills the agent with
// SIGKILL at K random moments (restarting it each time), restarts ClickHouse once and NATS once,
// waits for the pipeline to drain, then counts rows against the expected unique set.
// The last line is one JSON object; the exit code is non-zero unless duplicates = missing = 0.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient } from '@clickhouse/client';
import { createServer } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { stringify } from 'yaml';
import { runGenerator } from '../src/generate/index.ts';

const repo = resolve(import.meta.dirname, '..');

interface Options {
  events: number;
  kills: number;
  rate: number;
  seed: number;
  partitions: number;
  restarts: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    events: 200_000,
    kills: 10,
    rate: 10_000,
    seed: Date.now() % 100_000,
    partitions: 4,
    restarts: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a non-negative number`);
      return v;
    };
    if (a === '--events') o.events = num();
    else if (a === '--kills') o.kills = num();
    else if (a === '--rate') o.rate = num();
    else if (a === '--seed') o.seed = num();
    else if (a === '--partitions') o.partitions = num();
    else if (a === '--no-restarts') o.restarts = false;
    else
      throw new Error(
        `unknown option ${a} (use --events N --kills K [--rate R] [--seed S] [--partitions P] [--no-restarts])`,
      );
  }
  return o;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

const log = (msg: string) =>
  console.log(`[chaos] ${new Date().toISOString().slice(11, 23)} ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stack(...args: string[]): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/stack/main.ts', ...args], {
    cwd: repo,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`stack ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
}

class AgentProcess {
  child: ChildProcess | undefined;
  starts = 0;
  private tail: string[] = [];
  constructor(private readonly configPath: string) {}
  start(): void {
    this.starts++;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repo, 'src/cli/weir.ts'), 'run', '-c', this.configPath],
      {
        cwd: repo,
        env: { ...process.env, WEIR_LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (d: Buffer) => {
      this.tail.push(...d.toString().split('\n').filter(Boolean));
      if (this.tail.length > 200) this.tail.splice(0, this.tail.length - 200);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('exit', (code, signal) => {
      if (this.child === child && signal !== 'SIGKILL' && signal !== 'SIGTERM') {
        log(
          `agent exited on its own (code ${code}); restarting. Last lines:\n${this.tail.slice(-10).join('\n')}`,
        );
        this.child = undefined;
        setTimeout(() => this.start(), 500);
      }
    });
    this.child = child;
  }
  async kill(signal: NodeJS.Signals): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  log(`bringing the stack up`);
  stack('up');
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const topic = `weir-chaos-${id}`;
  const table = `chaos_${id}`;
  const kafka = new Kafka({
    clientId: 'weir-chaos',
    brokers: ['127.0.0.1:9092'],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: o.partitions }],
    waitForLeaders: true,
  });
  const ch = createClient({ url: 'http://127.0.0.1:8123', request_timeout: 60_000 });
  // Replicated: on ClickHouse 18.16 a replayed batch is dropped by its block hash.
  await ch.command({
    query: `CREATE TABLE ${table} (event_id String, user_id String, amount Float64, created_at DateTime)
            ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${table}', '{replica}') ORDER BY event_id`,
  });
  const group = `weir-chaos-${id}`;
  const config = {
    agent: { http: { host: '127.0.0.1', port: await freePort() }, shutdown_timeout_ms: 10_000 },
    pipelines: [
      {
        name: `chaos_${id}`,
        source: {
          brokers: ['127.0.0.1:9092'],
          topics: [topic],
          group_id: group,
          session_timeout_ms: 6000,
        },
        schema: {
          fields: {
            event_id: 'uuid',
            user_id: 'string',
            amount: 'number',
            created_at: { type: 'datetime', path: 'ts' },
          },
        },
        dedup: { key: ['event_id'], window: '1h', nats: { servers: ['127.0.0.1:4222'] } },
        sink: {
          clickhouse: {
            url: 'http://127.0.0.1:8123',
            table,
            batch: { max_rows: 5000, max_delay_ms: 300 },
            retry: { initial_ms: 100, max_ms: 2000 },
            exactly_once: 'required',
          },
        },
        dead_letter: { topic: `${topic}.dlq` },
      },
    ],
  };
  const dir = mkdtempSync(join(tmpdir(), 'weir-chaos-'));
  const configPath = join(dir, 'chaos.yaml');
  writeFileSync(configPath, stringify(config));

  const agent = new AgentProcess(configPath);
  agent.start();
  const produceSeconds = o.events / Math.max(1, o.rate);
  log(
    `producing ${o.events} events at ${o.rate}/s (~${produceSeconds.toFixed(0)} s), ${o.kills} kills`,
  );
  const producing = runGenerator({
    brokers: ['127.0.0.1:9092'],
    topic,
    count: o.events,
    rate: o.rate,
    dupRate: 0.1,
    badRate: 0.01,
    seed: o.seed,
    partitions: o.partitions,
  });

  // Faults at random moments over the production window (plus a little after it).
  const windowMs = (produceSeconds + 5) * 1000;
  type Fault = { at: number; kind: 'kill' | 'clickhouse' | 'nats' };
  const faults: Fault[] = [];
  for (let i = 0; i < o.kills; i++)
    faults.push({ at: 1000 + Math.random() * windowMs, kind: 'kill' });
  if (o.restarts) {
    faults.push({ at: 1000 + Math.random() * windowMs, kind: 'clickhouse' });
    faults.push({ at: 1000 + Math.random() * windowMs, kind: 'nats' });
  }
  faults.sort((a, b) => a.at - b.at);
  const start = Date.now();
  let kills = 0;
  let clickhouseRestarts = 0;
  let natsRestarts = 0;
  for (const f of faults) {
    await sleep(Math.max(0, f.at - (Date.now() - start)));
    if (f.kind === 'kill') {
      await agent.kill('SIGKILL');
      kills++;
      log(`SIGKILL #${kills}`);
      await sleep(200 + Math.random() * 1500);
      agent.start();
    } else {
      const svc = f.kind;
      log(`restarting ${svc}`);
      stack('down', '--only', svc);
      await sleep(2000 + Math.random() * 3000);
      stack('up', '--only', svc);
      if (svc === 'clickhouse') clickhouseRestarts++;
      else natsRestarts++;
    }
  }
  const report = await producing;
  log(`produced: ${JSON.stringify(report.counts)}`);

  // Drain: every offset committed by the group.
  const deadline = Date.now() + 300_000;
  for (;;) {
    const highs = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const lag = highs.reduce((s, h) => {
      const c = Number(
        committed?.partitions.find((p) => p.partition === h.partition)?.offset ?? -1,
      );
      return s + Number(h.high) - Math.max(c, Number(h.low));
    }, 0);
    if (lag === 0) break;
    if (Date.now() > deadline) {
      log(`not drained after 300 s (lag ${lag})`);
      break;
    }
    await sleep(500);
  }
  await agent.kill('SIGTERM');
  const rs = await ch.query({
    query: `SELECT count() AS rows, uniqExact(event_id) AS uniq FROM ${table}`,
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ rows: string; uniq: string }>();
  const rows = Number(r?.rows ?? 0);
  const uniq = Number(r?.uniq ?? 0);
  const expected = report.counts.unique;
  const result = {
    events: o.events,
    unique_expected: expected,
    rows,
    duplicates: rows - uniq,
    missing: expected - uniq,
    kills,
    clickhouse_restarts: clickhouseRestarts,
    nats_restarts: natsRestarts,
    agent_starts: agent.starts,
    seed: o.seed,
    elapsed_s: Math.round((Date.now() - t0) / 1000),
  };
  await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
  await ch.close();
  await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
  await admin.disconnect();
  console.log(JSON.stringify(result));
  return result.duplicates === 0 && result.missing === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[chaos] error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
