// Every `weir generate` flag, declared once: the table below becomes the commander options (parsing,
// --help) and names the flags in error messages (docs/generator.md mirrors it; a test checks that).
// Defaults are not repeated here: --help shows the ones of the options schema.
import { Command, Option } from 'commander';
import { ConfigError } from '../core/errors.ts';
import {
  generatorOptionsSchema,
  saslMechanisms,
  type ResolvedGeneratorOptions,
} from './options.ts';

/** The SASL password is read from here, never from a flag (flags show up in `ps`). */
export const PASSWORD_ENV = 'WEIR_SASL_PASSWORD';

export type FlagKind = 'string' | 'number' | 'list' | 'boolean';
export type FlagTarget =
  Exclude<keyof ResolvedGeneratorOptions, 'sasl'> | 'sasl.mechanism' | 'sasl.username';

/** The --help section a flag is listed in. */
type FlagGroup = 'What to produce' | 'How fast, and event time' | 'Kafka';

export interface FlagSpec {
  flag: string;
  option: FlagTarget;
  kind: FlagKind;
  help: string;
  group: FlagGroup;
}

const flags = (group: FlagGroup, specs: Omit<FlagSpec, 'group'>[]): FlagSpec[] =>
  specs.map((s) => ({ ...s, group }));

/** Every flag, once, in --help order. */
export const generateFlags: readonly FlagSpec[] = [
  ...flags('What to produce', [
    {
      flag: 'count',
      option: 'count',
      kind: 'number',
      help: 'records on the orders topic, incl. duplicates and malformed',
    },
    {
      flag: 'dup-rate',
      option: 'dupRate',
      kind: 'number',
      help: 'probability a record repeats an earlier event verbatim',
    },
    {
      flag: 'dup-window',
      option: 'dupWindow',
      kind: 'number',
      help: 'a duplicate repeats one of the last N distinct events',
    },
    {
      flag: 'bad-rate',
      option: 'badRate',
      kind: 'number',
      help: 'probability a record is malformed',
    },
    { flag: 'key-spread', option: 'keySpread', kind: 'number', help: 'distinct user ids' },
    {
      flag: 'record-bytes',
      option: 'recordBytes',
      kind: 'number',
      help: 'pad each order with a note field to about N bytes of JSON (0 = ~250 bytes, no padding)',
    },
    {
      flag: 'traceparent-rate',
      option: 'traceparentRate',
      kind: 'number',
      help: 'fraction of records with a W3C traceparent header',
    },
    {
      flag: 'join-topic',
      option: 'joinTopic',
      kind: 'string',
      help: 'payments topic, the joinable stream (off when unset)',
    },
    {
      flag: 'join-rate',
      option: 'joinRate',
      kind: 'number',
      help: 'fraction of orders that get a payment',
    },
    {
      flag: 'join-delay-ms',
      option: 'joinDelayMs',
      kind: 'number',
      help: 'payment ts = order ts + 0…this',
    },
    {
      flag: 'orphan-rate',
      option: 'orphanRate',
      kind: 'number',
      help: 'per order, probability of an extra payment with no order',
    },
    { flag: 'seed', option: 'seed', kind: 'number', help: 'same seed + flags = same events' },
  ]),
  ...flags('How fast, and event time', [
    {
      flag: 'rate',
      option: 'rate',
      kind: 'number',
      help: 'target events/s, smoothed per 10 ms; 0 = as fast as possible',
    },
    {
      flag: 'interval-ms',
      option: 'intervalMs',
      kind: 'number',
      help: 'event-time step (default 1000/rate; 0.01 when rate is 0)',
    },
    {
      flag: 'base-time',
      option: 'baseTime',
      kind: 'number',
      help: 'event time of the first record, epoch ms (default now)',
    },
    {
      flag: 'jitter-ms',
      option: 'jitterMs',
      kind: 'number',
      help: 'events up to this late in event time (out of order)',
    },
  ]),
  ...flags('Kafka', [
    {
      flag: 'brokers',
      option: 'brokers',
      kind: 'list',
      help: 'bootstrap brokers, comma-separated host:port (repeatable)',
    },
    { flag: 'topic', option: 'topic', kind: 'string', help: 'orders topic (created if missing)' },
    {
      flag: 'partitions',
      option: 'partitions',
      kind: 'number',
      help: 'partitions of topics the generator creates',
    },
    {
      flag: 'keyed',
      option: 'keyed',
      kind: 'boolean',
      help: 'key = event_id (payments: order_id)',
    },
    {
      flag: 'batch-size',
      option: 'batchSize',
      kind: 'number',
      help: 'orders per produce request',
    },
    {
      flag: 'max-in-flight',
      option: 'maxInFlight',
      kind: 'number',
      help: 'produce requests awaiting acks at once (more can reorder a partition)',
    },
    { flag: 'client-id', option: 'clientId', kind: 'string', help: 'Kafka client id' },
    { flag: 'ssl', option: 'ssl', kind: 'boolean', help: 'connect with TLS' },
    {
      flag: 'sasl-mechanism',
      option: 'sasl.mechanism',
      kind: 'string',
      help: `${saslMechanisms.join(' | ')} (password in ${PASSWORD_ENV})`,
    },
    { flag: 'sasl-username', option: 'sasl.username', kind: 'string', help: 'SASL user' },
  ]),
];

/** What --no-<flag> means, for the boolean flags whose negation --help lists. */
const negationHelp: Partial<Record<string, string>> = {
  keyed: 'null message keys (round-robin partitions)',
};

export const HELP_HINT = 'run `weir generate --help` for every flag';

export function usage(message: string): ConfigError {
  return new ConfigError(message, { hint: HELP_HINT });
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** A flag's value as its option wants it; `previous` is the value of an earlier use. */
function convert(spec: FlagSpec, value: string, previous: unknown): unknown {
  // Commander takes the next argument as the value whatever it is: `--count --rate 5` forgot one.
  if (spec.kind !== 'boolean' && value.startsWith('--'))
    throw usage(`--${spec.flag} needs a value`);
  switch (spec.kind) {
    case 'number': {
      const clean = value.replaceAll('_', '');
      if (!NUMBER.test(clean)) throw usage(`--${spec.flag}: expected a number, got "${value}"`);
      return Number(clean);
    }
    case 'list': {
      const items = value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      // --brokers may be repeated; other flags: the last one wins.
      return Array.isArray(previous) ? [...(previous as unknown[]), ...items] : items;
    }
    case 'boolean':
      if (value === 'true') return true;
      if (value === 'false') return false;
      throw usage(`--${spec.flag}: expected true or false, got "${value}"`);
    case 'string':
      return value;
  }
}

function formatDefault(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean'
    ? `${value as string}`
    : JSON.stringify(value);
}

const PLACEHOLDER: Record<FlagKind, string> = {
  number: ' <n>',
  list: ' <list>',
  string: ' <value>',
  // --keyed alone means true; --keyed=false is accepted too.
  boolean: ' [bool]',
};

/** The command-line option of a flag, which takes its value through `convert`. */
function optionFor(spec: FlagSpec, defaults: Record<string, unknown>): Option {
  const d = defaults[spec.option];
  const shown = d === undefined ? '' : ` (default ${formatDefault(d)})`;
  return new Option(`--${spec.flag}${PLACEHOLDER[spec.kind]}`, `${spec.help}${shown}`)
    .argParser((value: string, previous: unknown) => convert(spec, value, previous))
    .helpGroup(`${spec.group}:`);
}

/** Where each flag's value lands in the parsed command (commander's attribute name). */
export interface GenerateCommand {
  command: Command;
  attributes: ReadonlyMap<FlagSpec, string>;
}

/**
 * The `weir generate` command line. It only parses: unknown flags and stray arguments are left in
 * `command.args` for the caller to report in Weir's words, and errors are not printed.
 * `--help` writes the help to `out` and throws commander's `helpDisplayed` error.
 */
export function generateCommand(
  out: (text: string) => void = (s) => void process.stdout.write(s),
): GenerateCommand {
  const defaults = generatorOptionsSchema.parse({}) as Record<string, unknown>;
  const command = new Command('generate')
    .description(
      'Produces realistic JSON order events (and optionally joinable payments) into Kafka, with ' +
        'known duplicates and malformed records, then prints one JSON report line. ' +
        'See docs/generator.md.\nExit codes: 0 done, 1 Kafka failure, 2 bad flags, 130 interrupted.',
    )
    .helpOption('-h, --help', 'this help')
    .allowUnknownOption()
    .allowExcessArguments()
    .exitOverride()
    .configureHelp({ commandUsage: () => 'weir generate [flags]' })
    .configureOutput({
      writeOut: out,
      // Piped help is not wrapped at 80 columns: every flag stays on one line.
      getOutHelpWidth: () => (process.stdout.isTTY ? process.stdout.columns : 120),
      outputError: () => undefined,
    });
  const attributes = new Map<FlagSpec, string>();
  for (const spec of generateFlags) {
    const option = optionFor(spec, defaults);
    command.addOption(option);
    attributes.set(spec, option.attributeName());
    if (spec.kind === 'boolean') {
      const help = negationHelp[spec.flag];
      const negation = new Option(`--no-${spec.flag}`, help).helpGroup(`${spec.group}:`);
      command.addOption(help === undefined ? negation.hideHelp() : negation);
    }
  }
  return { command, attributes };
}

export function generateHelp(): string {
  return generateCommand().command.helpInformation();
}
