// Every `weir generate` flag, declared once: it drives parsing, --help and the flag names in
// error messages (docs/generator.md mirrors it; a test checks that).
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

export interface FlagSpec {
  flag: string;
  option: FlagTarget;
  kind: FlagKind;
  help: string;
}

/** Every flag, once: drives parsing, --help, and the names in error messages. */
export const generateFlags: readonly FlagSpec[] = [
  {
    flag: 'brokers',
    option: 'brokers',
    kind: 'list',
    help: 'bootstrap brokers, comma-separated host:port',
  },
  { flag: 'topic', option: 'topic', kind: 'string', help: 'orders topic (created if missing)' },
  {
    flag: 'join-topic',
    option: 'joinTopic',
    kind: 'string',
    help: 'payments topic, the joinable stream (off when unset)',
  },
  {
    flag: 'count',
    option: 'count',
    kind: 'number',
    help: 'records on the orders topic, incl. duplicates and malformed',
  },
  {
    flag: 'rate',
    option: 'rate',
    kind: 'number',
    help: 'target events/s, smoothed per 10 ms; 0 = as fast as possible',
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
    flag: 'partitions',
    option: 'partitions',
    kind: 'number',
    help: 'partitions of topics the generator creates',
  },
  {
    flag: 'keyed',
    option: 'keyed',
    kind: 'boolean',
    help: 'key = event_id (payments: order_id); --no-keyed: null keys',
  },
  { flag: 'seed', option: 'seed', kind: 'number', help: 'same seed + flags = same events' },
  {
    flag: 'traceparent-rate',
    option: 'traceparentRate',
    kind: 'number',
    help: 'fraction of records with a W3C traceparent header',
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
  {
    flag: 'jitter-ms',
    option: 'jitterMs',
    kind: 'number',
    help: 'events up to this late in event time (out of order)',
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
  { flag: 'batch-size', option: 'batchSize', kind: 'number', help: 'orders per produce request' },
  {
    flag: 'max-in-flight',
    option: 'maxInFlight',
    kind: 'number',
    help: 'produce requests awaiting acks at once (default 1; more can reorder a partition)',
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
];

export const byFlag = new Map(generateFlags.map((f) => [f.flag, f]));
export const byOption = new Map(generateFlags.map((f) => [f.option, f]));
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;
export const HELP_HINT = 'run `weir generate --help` for every flag';

export function usage(message: string): ConfigError {
  return new ConfigError(message, { hint: HELP_HINT });
}

export function convert(spec: FlagSpec, value: string): unknown {
  switch (spec.kind) {
    case 'number': {
      const clean = value.replaceAll('_', '');
      if (!NUMBER.test(clean)) throw usage(`--${spec.flag}: expected a number, got "${value}"`);
      return Number(clean);
    }
    case 'list':
      return value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
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

export function generateHelp(): string {
  const defaults = generatorOptionsSchema.parse({}) as Record<string, unknown>;
  const width = Math.max(
    ...generateFlags.map((f) => f.flag.length + (f.kind === 'boolean' ? 0 : 8)),
  );
  const row = (left: string, text: string) => `  ${left.padEnd(width + 4)}${text}`;
  const lines = generateFlags.map((f) => {
    const left =
      f.kind === 'boolean'
        ? `--${f.flag}`
        : `--${f.flag} <${f.kind === 'list' ? 'list' : f.kind === 'number' ? 'n' : 'value'}>`;
    const d = defaults[f.option];
    const shown = d === undefined ? '' : ` (default ${formatDefault(d)})`;
    return row(left, `${f.help}${shown}`);
  });
  return [
    'Usage: weir generate [flags]',
    '',
    'Produces realistic JSON order events (and optionally joinable payments) into Kafka, with known',
    'duplicates and malformed records, then prints one JSON report line. See docs/generator.md.',
    '',
    ...lines,
    row('--no-keyed', 'null message keys (round-robin partitions)'),
    row('--help', 'this help'),
    '',
  ].join('\n');
}
