// `npm run stack -- up | down | status | logs <svc>`: the local Kafka, ClickHouse, ZooKeeper, NATS
// and PostgreSQL that Weir's tests and demo run against, installed from apt and Maven Central, with
// TLS listeners beside the plaintext ones (certificates made with openssl, scripts/stack/tls.ts).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_KAFKA_VERSION, kafkaVersionFile, stackContext } from './context.ts';
import { ensureAptPackages, ensureKafkaJars, formatKafkaStorage, StackError } from './install.ts';
import {
  portOwner,
  removeFile,
  runningPid,
  startDetached,
  stopGroup,
  tailFile,
  waitFor,
} from './proc.ts';
import {
  dirs,
  kafka,
  kafkaFormatted,
  services,
  type ServiceDef,
  type StackContext,
} from './services.ts';
import { ensureTlsFiles } from './tls.ts';

const usage = `usage: npm run stack -- <command> [options]

commands:
  up            install what is missing, start what is not running, wait until ready
  down          stop the services this stack started
  status        one line per service with its health (exit 1 unless all are healthy)
  logs <svc>    print the tail of a service's log (${services.map((s) => s.name).join(', ')})

options:
  --fresh                 (up) stop everything and wipe all service data first
  --kafka-version <ver>   (up) Apache Kafka broker version from Maven Central (default ${DEFAULT_KAFKA_VERSION})
  --only <a,b>            act on these services only
  --lines <n>             (logs) how many lines to print (default 100)
`;

interface Args {
  command: string;
  service?: string;
  fresh: boolean;
  kafkaVersion?: string;
  only?: string[];
  lines: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { command: '', fresh: false, lines: 100 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new StackError(`${a} needs a value\n\n${usage}`);
      return v;
    };
    if (a === '--fresh') args.fresh = true;
    else if (a === '--kafka-version') args.kafkaVersion = value();
    else if (a === '--only') args.only = value().split(',');
    else if (a === '--lines') args.lines = Number(value());
    else if (a === '-h' || a === '--help') args.command = 'help';
    else if (a.startsWith('-')) throw new StackError(`unknown option ${a}\n\n${usage}`);
    else if (!args.command) args.command = a;
    else if (!args.service) args.service = a;
    else throw new StackError(`unexpected argument ${a}\n\n${usage}`);
  }
  return args;
}

const log = (msg: string): void => console.log(`[stack] ${msg}`);

function select(only?: string[]): ServiceDef[] {
  if (!only) return services;
  for (const name of only)
    if (!services.some((s) => s.name === name))
      throw new StackError(
        `unknown service '${name}'; choose from ${services.map((s) => s.name).join(', ')}`,
      );
  return services.filter((s) => only.includes(s.name));
}

const pidFile = (ctx: StackContext, s: ServiceDef) => join(dirs(ctx, s.name).base, `${s.name}.pid`);
const logFile = (ctx: StackContext, s: ServiceDef) => join(dirs(ctx, s.name).log, `${s.name}.out`);
const versionFile = (ctx: StackContext) => kafkaVersionFile(ctx.root);

function describeOwner(port: number): string | undefined {
  const owner = portOwner(port);
  if (!owner) return undefined;
  return owner.pid
    ? `pid ${owner.pid} (${owner.name ?? 'unknown'})`
    : 'another process (not visible to this user)';
}

async function startService(ctx: StackContext, s: ServiceDef): Promise<void> {
  const pf = pidFile(ctx, s);
  const pid = runningPid(pf);
  if (pid !== undefined) {
    if (await s.ready(ctx).catch(() => false)) {
      log(`${s.name} already running (pid ${pid})`);
      return;
    }
    log(`${s.name} running (pid ${pid}) but not answering yet; waiting`);
  } else {
    removeFile(pf);
    for (const port of s.ports) {
      const owner = describeOwner(port);
      if (owner)
        throw new StackError(
          `port ${port} needed by ${s.name} is already in use by ${owner}; stop that process (or run 'npm run stack -- down' if it is an earlier stack) and retry`,
        );
    }
    await s.prepare(ctx);
    if (s === kafka) {
      const want = ctx.kafkaVersion;
      const had = existsSync(versionFile(ctx)) ? readFileSync(versionFile(ctx), 'utf8').trim() : '';
      if (kafkaFormatted(ctx) && had && had !== want)
        throw new StackError(
          `Kafka data was created by ${had}, not ${want}; run 'npm run stack -- up --fresh --kafka-version ${want}'`,
        );
      if (!kafkaFormatted(ctx)) {
        log(`formatting KRaft storage for Kafka ${want}`);
        formatKafkaStorage(ctx, join(dirs(ctx, 'kafka').conf, 'server.properties'));
        writeFileSync(versionFile(ctx), `${want}\n`);
      }
    }
    const cmd = s.command(ctx);
    const started = startDetached({
      ...cmd,
      cwd: dirs(ctx, s.name).base,
      logFile: logFile(ctx, s),
      pidFile: pf,
    });
    log(`${s.name} started (pid ${started})`);
  }
  const t0 = Date.now();
  const outcome = await waitFor(
    () => s.ready(ctx),
    s.startTimeoutMs,
    () => runningPid(pf) !== undefined,
  );
  if (outcome !== 'ready') {
    const why =
      outcome === 'exited'
        ? 'exited during start'
        : `did not answer within ${s.startTimeoutMs / 1000}s`;
    let tail = `--- ${logFile(ctx, s)} ---\n${tailFile(logFile(ctx, s))}`;
    if (s.extraLog) tail += `\n--- ${s.extraLog(ctx)} ---\n${tailFile(s.extraLog(ctx))}`;
    // A service started by an older checkout keeps its older config (e.g. without a TLS port).
    const stale =
      pid !== undefined
        ? ` It was already running: if an older config started it, restart it with 'npm run stack -- down --only ${s.name} && npm run stack -- up --only ${s.name}'.`
        : '';
    throw new StackError(`${s.name} ${why}.${stale} Last log lines:\n${tail}`);
  }
  log(`${s.name} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

async function up(ctx: StackContext, selected: ServiceDef[], fresh: boolean): Promise<void> {
  if (fresh) {
    await down(ctx, services);
    log(`wiping ${ctx.root}`);
    rmSync(ctx.root, { recursive: true, force: true });
  }
  ensureAptPackages(selected, log);
  // Before any service starts: Kafka, ClickHouse and nats-tls read them at start.
  ensureTlsFiles(ctx.root, log);
  if (selected.includes(kafka)) ensureKafkaJars(ctx, log);
  for (const s of selected) await startService(ctx, s);
  log('all services ready');
}

async function down(ctx: StackContext, selected: ServiceDef[]): Promise<void> {
  for (const s of [...selected].reverse()) {
    const pf = pidFile(ctx, s);
    const pid = runningPid(pf);
    if (pid === undefined) {
      removeFile(pf);
      continue;
    }
    const how = await stopGroup(pid, s.name === 'kafka' ? 30_000 : 15_000, s.stopSignal);
    removeFile(pf);
    log(`${s.name} ${how} (pid ${pid})`);
  }
}

async function status(ctx: StackContext, selected: ServiceDef[]): Promise<boolean> {
  let allHealthy = true;
  for (const s of selected) {
    const pid = runningPid(pidFile(ctx, s));
    let state: string;
    if (pid === undefined) {
      const taken = s.ports
        .map((p) => [p, describeOwner(p)] as const)
        .find(([, owner]) => owner !== undefined);
      state = taken ? `stopped (port ${taken[0]} held by ${taken[1]})` : 'stopped';
    } else {
      const ok = await s.ready(ctx).catch(() => false);
      state = ok ? `healthy  pid ${pid}` : `running, NOT answering  pid ${pid}`;
    }
    if (!state.startsWith('healthy')) allHealthy = false;
    const extra =
      s === kafka && existsSync(versionFile(ctx))
        ? ` kafka ${readFileSync(versionFile(ctx), 'utf8').trim()}`
        : (s.note?.(ctx) ?? '');
    console.log(`${s.name.padEnd(10)} ${state.padEnd(36)} ports ${s.ports.join(',')}${extra}`);
  }
  return allHealthy;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const ctx = stackContext(args);
  const selected = select(args.only);
  switch (args.command) {
    case 'up':
      await up(ctx, selected, args.fresh);
      return (await status(ctx, selected)) ? 0 : 1;
    case 'down':
      await down(ctx, selected);
      return 0;
    case 'status':
      return (await status(ctx, selected)) ? 0 : 1;
    case 'logs': {
      const s = select([args.service ?? ''])[0]!;
      console.log(tailFile(logFile(ctx, s), args.lines));
      if (s.extraLog)
        console.log(`--- ${s.extraLog(ctx)} ---\n${tailFile(s.extraLog(ctx), args.lines)}`);
      return 0;
    }
    case 'help':
      console.log(usage);
      return 0;
    default:
      console.error(args.command ? `unknown command '${args.command}'\n\n${usage}` : usage);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[stack] error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
