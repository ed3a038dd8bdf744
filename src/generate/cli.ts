// `weir generate`: flags → options → run → one JSON report line on stdout. Progress and errors go
// to stderr so the report can be piped.
import { ConfigError, describeError } from '../core/errors.ts';
import { closest } from '../config/suggest.ts';
import {
  byFlag,
  byOption,
  convert,
  generateHelp,
  PASSWORD_ENV,
  usage,
  type FlagTarget,
} from './flags.ts';
import {
  GeneratorOptionsError,
  resolveGeneratorOptions,
  type ResolvedGeneratorOptions,
} from './options.ts';
import { runGenerator } from './producer.ts';

export { generateFlags, generateHelp, PASSWORD_ENV } from './flags.ts';

/** Parses `weir generate` flags into validated options (defaults applied). */
export function parseGenerateArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): ResolvedGeneratorOptions {
  const raw = new Map<FlagTarget, unknown>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') throw usage(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const negated = name.startsWith('no-') ? byFlag.get(name.slice(3)) : undefined;
    if (negated?.kind === 'boolean' && inline === undefined) {
      raw.set(negated.option, false);
      continue;
    }
    const spec = byFlag.get(name);
    if (!spec) {
      const guess = closest(name, [...byFlag.keys()]);
      throw usage(`unknown flag --${name}${guess ? ` (did you mean --${guess}?)` : ''}`);
    }
    if (spec.kind === 'boolean' && inline === undefined) {
      raw.set(spec.option, true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw usage(`--${spec.flag} needs a value`);
    }
    const previous = raw.get(spec.option);
    const converted = convert(spec, value);
    // --brokers may be repeated; other flags: the last one wins.
    raw.set(
      spec.option,
      spec.kind === 'list' && Array.isArray(previous)
        ? [...(previous as unknown[]), ...(converted as unknown[])]
        : converted,
    );
  }
  return resolveFlags(raw, env);
}

function resolveFlags(
  raw: Map<FlagTarget, unknown>,
  env: NodeJS.ProcessEnv,
): ResolvedGeneratorOptions {
  const input: Record<string, unknown> = {};
  for (const [option, value] of raw) if (!option.startsWith('sasl.')) input[option] = value;
  const mechanism = raw.get('sasl.mechanism');
  const username = raw.get('sasl.username');
  if (mechanism !== undefined || username !== undefined) {
    if (mechanism === undefined) throw usage('--sasl-username needs --sasl-mechanism too');
    if (username === undefined) throw usage('--sasl-mechanism needs --sasl-username too');
    const password = env[PASSWORD_ENV];
    if (password === undefined) {
      throw new ConfigError(`SASL needs a password in the ${PASSWORD_ENV} environment variable`, {
        hint: `export ${PASSWORD_ENV}=… before running weir generate`,
      });
    }
    input.sasl = { mechanism, username, password };
  }
  try {
    return resolveGeneratorOptions(input);
  } catch (err) {
    if (!(err instanceof GeneratorOptionsError)) throw err;
    const lines = err.problems.map((p) => {
      const spec =
        byOption.get(p.option.split('.')[0] as FlagTarget) ?? byOption.get(p.option as FlagTarget);
      return spec ? `--${spec.flag}: ${p.message}` : `${p.option}: ${p.message}`;
    });
    throw usage(lines.join('; '));
  }
}

export interface GenerateIo {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Stops the run early; by default SIGINT does. */
  signal?: AbortSignal;
}

/** Runs `weir generate`; returns the exit code (0 ok, 1 failed, 2 bad flags, 130 interrupted). */
export async function generateMain(argv: string[], io: GenerateIo = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => void process.stderr.write(s));
  if (argv.includes('--help') || argv.includes('-h')) {
    out(generateHelp());
    return 0;
  }
  let options: ResolvedGeneratorOptions;
  try {
    options = parseGenerateArgs(argv, io.env ?? process.env);
  } catch (e) {
    err(`weir generate: error: ${describeError(e)}\n`);
    return 2;
  }
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  if (!io.signal) process.once('SIGINT', onSigint);
  const signal = io.signal ?? controller.signal;
  const log = (msg: string) => err(`weir generate: ${msg}\n`);
  try {
    const rate = options.rate > 0 ? `${options.rate} events/s` : 'as fast as possible';
    log(
      `producing ${options.count} events to ${options.topic} on ${options.brokers.join(',')} (${rate})`,
    );
    const report = await runGenerator(options, { log, signal });
    out(`${JSON.stringify(report)}\n`);
    return report.aborted ? 130 : 0;
  } catch (e) {
    err(`weir generate: error: ${describeError(e)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
