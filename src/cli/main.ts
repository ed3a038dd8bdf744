// The `weir` command: run, validate, generate.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { withApiToken } from '../api/auth.ts';
import { loadConfig } from '../config/load.ts';
import { ConfigError, describeError } from '../core/errors.ts';
import { redact } from '../core/redact.ts';
import { generateMain } from '../generate/cli.ts';
import { Agent } from '../pipeline/agent.ts';
import { describeMissing } from '../pipeline/check.ts';
import { createLogger } from '../telemetry/logger.ts';
import { windowLatencyLines } from './window-latency.ts';

/** The version in package.json, two folders up from src/cli/ and from dist/cli/ alike. */
function weirVersion(): string {
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

export function fail(err: unknown): number {
  process.stderr.write(`weir: error: ${describeError(err)}\n`);
  return 1;
}

async function run(configPath: string): Promise<number> {
  // WEIR_API_TOKEN overrides agent.http.token (validate checks it the same way).
  const cfg = withApiToken(loadConfig(configPath), process.env, configPath);
  const logger = createLogger({ level: cfg.agent.log_level });
  const agent = new Agent(cfg, { logger });
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal: sig }, 'second signal: exiting without flushing');
      process.exit(130);
    }
    logger.info({ signal: sig }, 'stopping: no more fetching, flushing and committing');
    void agent.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await agent.start();
  } catch (err) {
    await agent.stop();
    return fail(err);
  }
  const outcome = await Promise.race([
    agent.whenFailed().then((err) => ({ failed: err })),
    new Promise<{ stopped: true }>((resolve) => {
      const check = () => (signals > 0 ? resolve({ stopped: true }) : setTimeout(check, 100));
      check();
    }),
  ]);
  const clean = await agent.stop();
  if ('failed' in outcome) return fail(outcome.failed);
  logger.info({ clean }, 'stopped');
  return clean ? 0 : 1;
}

interface ValidateOptions {
  /** Check the file only, without connecting. */
  offline: boolean;
  /** Create what a run would create (side topics, the table with create_table, NATS buckets). */
  create: boolean;
}

async function validate(configPath: string, o: ValidateOptions): Promise<number> {
  if (o.offline && o.create)
    return fail(
      new ConfigError('--create and --offline exclude each other', {
        hint: 'drop --offline: creating needs the connections it skips',
      }),
    );
  const cfg = withApiToken(loadConfig(configPath), process.env, configPath);
  let notes: string[] = [];
  if (!o.offline) {
    const logger = createLogger({ level: 'error' });
    const agent = new Agent(cfg, { logger });
    try {
      notes = (await agent.check({ create: o.create })).flatMap(describeMissing);
    } finally {
      await agent.stop();
    }
  }
  const names = cfg.pipelines.map((p) => p.name).join(', ');
  const checked = o.offline
    ? 'connections not checked'
    : `Kafka topics, ClickHouse tables and NATS buckets checked; ${o.create ? 'what was missing is created' : 'nothing changed'}`;
  const lines = [
    `${configPath}: OK (${cfg.pipelines.length} pipeline${cfg.pipelines.length === 1 ? '' : 's'}: ${names}; ${checked})`,
    ...windowLatencyLines(cfg),
    ...notes,
  ];
  process.stdout.write(redact(`${lines.join('\n')}\n`));
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('weir')
    .description('Streaming ETL from Kafka into ClickHouse')
    .version(weirVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let result: Promise<number> = Promise.resolve(0);
  program
    .command('run')
    .description(
      'run the pipelines of a config file until SIGTERM/SIGINT (creating missing side topics, the table with create_table, and NATS buckets)',
    )
    .requiredOption('-c, --config <file>', 'YAML or JSON config file')
    .action((o: { config: string }) => {
      result = run(o.config);
    });
  program
    .command('validate')
    .description(
      'check a config file, and that its topics, tables and NATS buckets exist and fit; changes nothing, and lists what `weir run` would create',
    )
    .requiredOption('-c, --config <file>', 'YAML or JSON config file')
    .option('--offline', 'check the file only, do not connect to Kafka, ClickHouse or NATS')
    .option(
      '--create',
      'create what is missing, as `weir run` does: dead-letter and duplicates topics, the table (with create_table), NATS buckets',
    )
    .action((o: { config: string; offline?: boolean; create?: boolean }) => {
      result = validate(o.config, { offline: o.offline ?? false, create: o.create ?? false });
    });
  program
    .command('generate')
    .description('produce realistic JSON events into Kafka (see docs/generator.md)')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[flags...]')
    .action((flags: string[]) => {
      result = generateMain(flags);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return await result;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    return fail(err);
  }
}
