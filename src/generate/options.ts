// The generator's options, declared once: defaults, ranges and cross-field rules. The CLI, the
// programmatic API and docs/generator.md all follow this declaration.
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';

const fraction = () =>
  z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .number()
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);
const topicName = z
  .string()
  .regex(
    /^[A-Za-z0-9._-]{1,249}$/,
    'invalid Kafka topic name: use up to 249 letters, digits, dots, underscores and dashes',
  );
const broker = z
  .string()
  .regex(/^[^\s,:/]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9092 (no scheme)');

export const saslMechanisms = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

export const generatorOptionsSchema = z
  .strictObject({
    /** Bootstrap brokers, host:port. */
    brokers: z.array(broker).min(1, 'needs at least one broker').default(['127.0.0.1:9092']),
    /** The orders topic; created with `partitions` partitions if missing. */
    topic: topicName.default('weir-demo-orders'),
    /** The payments topic (the joinable stream); no payments when unset. */
    joinTopic: topicName.optional(),
    /** Records on the orders topic, including duplicates and malformed ones. */
    count: int(1).default(100_000),
    /** Target events/s on the orders topic; 0 = as fast as possible. */
    rate: z.number().min(0, 'must be 0 (unlimited) or more').default(0),
    dupRate: fraction().default(0.1),
    /** A duplicate repeats one of the last `dupWindow` distinct valid events. */
    dupWindow: int(1, 10_000_000).default(1000),
    badRate: fraction().default(0),
    /** Distinct user ids. */
    keySpread: int(1).default(10_000),
    partitions: int(1, 10_000).default(4),
    /** Key = event_id (payments: order_id), so duplicates and join pairs share a partition. */
    keyed: z.boolean().default(true),
    seed: int(Number.MIN_SAFE_INTEGER).default(1),
    /** Orders per produce request. */
    batchSize: int(1, 100_000).default(1000),
    /**
     * Produce requests awaiting acknowledgement at once. More than 1 is faster but can reorder
     * records within a partition, which event-time consumers (a join, dedup by event time) then
     * see as late.
     */
    maxInFlight: int(1, 64).default(1),
    /** Pad each order with a `note` field so its JSON is about this many bytes; 0 = no padding. */
    recordBytes: int(0, 100 * 1024 * 1024).default(0),
    /** Fraction of records that carry a W3C `traceparent` header. */
    traceparentRate: fraction().default(0),
    /** Fraction of distinct valid orders that get a payment (with joinTopic). */
    joinRate: fraction().default(0.8),
    /** A payment's ts is 0…joinDelayMs after its order's ts. */
    joinDelayMs: int(0).default(5000),
    /** Per distinct valid order, probability of an extra payment with no order (with joinTopic). */
    orphanRate: fraction().default(0.05),
    /** Events are up to this many ms late in event time (out of order). */
    jitterMs: int(0).default(0),
    /** Event-time step between records; default 1000/rate, or 0.01 ms (100k/s) when rate is 0. */
    intervalMs: z.number().positive('must be > 0').optional(),
    /** Event time of the first record, epoch ms; default: the start of the run. */
    baseTime: int(0).optional(),
    clientId: z.string().min(1).default('weir-generate'),
    ssl: z.boolean().default(false),
    sasl: z
      .strictObject({
        mechanism: z.enum(saslMechanisms),
        username: z.string().min(1, 'must not be empty'),
        password: z.string(),
      })
      .optional(),
    connectionTimeoutMs: int(100, 600_000).default(5000),
    /** kafkajs retries for connecting and producing before giving up. */
    retries: int(0, 100).default(5),
  })
  .superRefine((o, ctx) => {
    const inRange = (x: number) => x >= 0 && x <= 1;
    // Only when each is valid on its own, so one mistake is reported once.
    if (inRange(o.dupRate) && inRange(o.badRate) && o.dupRate + o.badRate > 1) {
      ctx.addIssue({ code: 'custom', path: ['dupRate'], message: 'dupRate + badRate must be ≤ 1' });
    }
    if (o.joinTopic !== undefined && o.joinTopic === o.topic) {
      ctx.addIssue({ code: 'custom', path: ['joinTopic'], message: 'must differ from topic' });
    }
  });

/** What callers pass: every option has a default except where noted. */
export type GeneratorOptions = z.input<typeof generatorOptionsSchema>;
/** Options with every default applied. */
export type ResolvedGeneratorOptions = z.output<typeof generatorOptionsSchema>;

export interface OptionProblem {
  /** Option name, e.g. `dupRate` or `sasl.username`. */
  option: string;
  message: string;
}

export class GeneratorOptionsError extends ConfigError {
  override name = 'GeneratorOptionsError';
  constructor(readonly problems: OptionProblem[]) {
    super(problems.map((p) => `${p.option}: ${p.message}`).join('; '), {
      hint: 'see docs/generator.md for every option and its range',
    });
  }
}

export function resolveGeneratorOptions(input: GeneratorOptions): ResolvedGeneratorOptions {
  const parsed = generatorOptionsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new GeneratorOptionsError(
    parsed.error.issues.map((issue) => ({
      option: issue.path.map(String).join('.') || '(options)',
      message: issue.message,
    })),
  );
}

/** Event-time step: real time at the target rate, or a nominal 100k events/s when unlimited. */
export function effectiveIntervalMs(o: ResolvedGeneratorOptions): number {
  return o.intervalMs ?? (o.rate > 0 ? 1000 / o.rate : 0.01);
}
