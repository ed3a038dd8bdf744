// `weir generate`: flags → options → run → one JSON report line on stdout. Progress and errors go
// to stderr so the report can be piped.
import { CommanderError } from 'commander';
import { ConfigError, describeError } from '../core/errors.ts';
import { closest } from '../config/suggest.ts';
import {
  generateCommand,
  generateFlags,
  PASSWORD_ENV,
  usage,
  type FlagSpec,
  type FlagTarget,
} from './flags.ts';
import {
  GeneratorOptionsError,
  resolveGeneratorOptions,
  type ResolvedGeneratorOptions,
} from './options.ts';
import { runGenerator } from './producer.ts';

export { generateFlags, generateHelp, PASSWORD_ENV } from './flags.ts';

/**
 * Parses `weir generate` flags into validated options (defaults applied). `--help` writes the help
 * to `out` and throws commander's `helpDisplayed` error.
 */
export function parseGenerateArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  out?: (text: string) => void,
): ResolvedGeneratorOptions {
  const { command, attributes } = generateCommand(out);
  try {
    command.parse(argv, { from: 'user' });
  } catch (err) {
    // A flag's value is the next argument whatever it is, so only the last flag can lack one.
    if (err instanceof CommanderError && err.code === 'commander.optionMissingArgument')
      throw usage(`${argv.at(-1)} needs a value`);
    throw err;
  }
  const [stray] = command.args;
  if (stray !== undefined) throw strayArgument(stray);
  const raw = new Map<FlagTarget, unknown>();
  for (const [spec, attribute] of attributes) {
    const value: unknown = command.getOptionValue(attribute);
    if (value !== undefined) raw.set(spec.option, value);
  }
  return resolveFlags(raw, env);
}

/** What commander left over: the first unknown flag or argument. */
function strayArgument(arg: string): ConfigError {
  if (!arg.startsWith('-')) return usage(`unexpected argument "${arg}"`);
  const name = arg.replace(/^--?/, '').split('=')[0]!;
  const guess = closest(
    name,
    generateFlags.map((f) => f.flag),
  );
  return usage(`unknown flag ${arg.split('=')[0]}${guess ? ` (did you mean --${guess}?)` : ''}`);
}

const byOption = new Map<FlagTarget, FlagSpec>(generateFlags.map((f) => [f.option, f]));

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
  let options: ResolvedGeneratorOptions;
  try {
    options = parseGenerateArgs(argv, io.env ?? process.env, out);
  } catch (e) {
    if (e instanceof CommanderError && e.code === 'commander.helpDisplayed') return 0;
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
