// The one declaration of Weir's configuration (docs/config-shape.md). Parsing, defaults, cross-field
// rules, the TypeScript types and docs/config-reference.md all come from this file.
import { z } from 'zod';
import { scalarTypes } from '../core/fields.ts';
import { redactUrl, splitCredentials } from '../core/redact.ts';
import {
  checkClickHouseTls,
  checkFieldSpec,
  checkRetry,
  checkSasl,
  checkTls,
} from './field-rules.ts';
import { checkConfig, pipelineRules, withDerivedDefaults } from './pipeline-rules.ts';
import { checkLookup } from './lookup-rules.ts';
import { addProblem, matching, nonEmptyRecord, unlessIssuesAt } from './rules.ts';
import { parseDuration } from './duration.ts';

/** Meta keys understood by the reference generator and the secret masking. */
export interface OptionMeta {
  description?: string;
  /** Never printed: masked in errors, logs and `redactConfig`. */
  secret?: boolean;
  /** Default computed from other options, shown in the reference instead of a literal. */
  defaultDoc?: string;
  /** How to write a value of a union, shown when none of its forms fits. */
  hint?: string;
}

const secret = { secret: true } satisfies OptionMeta;
const positiveInt = () => z.number().int().positive();
const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
const kafkaTopicName = /^[A-Za-z0-9._-]{1,249}$/;
/** Kafka's record batch codecs, by the names Kafka's own clients use. */
export const kafkaCompressions = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export const saslMechanisms = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'] as const;

const fieldName = z
  .string()
  .superRefine(
    matching(
      identifier,
      (v) => `invalid field name "${v}"`,
      'use letters, digits and underscores, starting with a letter or underscore',
    ),
  );
const columnName = z
  .string()
  .superRefine(
    matching(
      /^[A-Za-z_][A-Za-z0-9_.]*$/,
      (v) => `invalid column name "${v}"`,
      'use letters, digits, underscores and dots, starting with a letter or underscore',
    ),
  );
const topicName = z
  .string()
  .superRefine(
    matching(
      kafkaTopicName,
      (v) => `invalid Kafka topic name "${v}"`,
      'use up to 249 letters, digits, dots, underscores and dashes',
    ),
  );
const broker = z.string().superRefine(
  matching(
    /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([1-9][0-9]{0,4})$/,
    (v) => `invalid broker address "${v}"`,
    'write host:port, e.g. 127.0.0.1:9092, one list item per broker',
    (v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535,
  ),
);
const httpUrl = z.string().superRefine(
  matching(
    /^https?:\/\/[^\s/]+(\/\S*)?$/,
    (v) => `invalid URL "${redactUrl(v)}"`,
    'write an http:// or https:// URL, e.g. http://127.0.0.1:8123',
    (v) => URL.canParse(v),
  ),
);
const clickHouseIdentifier = (what: string) =>
  z
    .string()
    .superRefine(
      matching(
        identifier,
        (v) => `invalid ${what} name "${v}"`,
        'use letters, digits and underscores, starting with a letter or underscore',
      ),
    );

export const fieldTypeNameSchema = z
  .enum(scalarTypes)
  .describe('A field type: string, integer, number, boolean, datetime, date, uuid or json.');

const timeFormatSchema = z.enum(['auto', 'epoch_ms', 'epoch_s', 'iso']);

// ---------------------------------------------------------------- agent

/** Shortest API token accepted: 16 random characters are beyond guessing over HTTP. */
export const minApiTokenLength = 16;

/**
 * What is wrong with an API token (from the config or WEIR_API_TOKEN), or undefined. Never quotes
 * the token. Empty means "no token". Whitespace is refused rather than trimmed: a token read from a
 * file with its trailing newline would otherwise differ from what the scraper sends.
 */
export function apiTokenProblem(token: string): { problem: string; fix: string } | undefined {
  const fix = `use at least ${minApiTokenLength} letters and digits, e.g. from: openssl rand -hex 32`;
  if (token === '') return undefined;
  if (!/^[\x21-\x7e]+$/.test(token))
    return {
      problem:
        'the API token contains a space, a line break or a non-ASCII character (a trailing newline from a file?)',
      fix,
    };
  if (token.length < minApiTokenLength)
    return { problem: `the API token is shorter than ${minApiTokenLength} characters`, fix };
  return undefined;
}

const telemetrySchema = z
  .strictObject({
    tracing: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'Export one trace per batch over OTLP (HTTP/protobuf to OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318, where a local collector or agent listens). When nothing answers there, one warning says so and spans are dropped until it does; the pipelines are not affected. OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none also turn it off. Default true.',
          ),
        sample_ratio: z
          .number()
          .min(0)
          .max(1)
          .default(1)
          .describe(
            'Fraction of batches traced when no producer trace context decides (parent-based sampling); OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG win when set. Default 1.',
          ),
        service_name: z
          .string()
          .min(1)
          .default('weir')
          .describe(
            'service.name of the traces, unless OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) is set. Default "weir".',
          ),
      })
      .prefault({})
      .describe('Traces: one per batch, with spans for fetch, each stage, insert and commit.'),
    lag_interval_ms: positiveInt()
      .default(5000)
      .describe(
        'How often consumer lag is read from the brokers\u2019 high-water marks (also while a pipeline is stalled). Default 5000.',
      ),
  })
  .prefault({})
  .describe('Traces and consumer lag; metrics are always served on /metrics.');

export const agentSchema = z
  .strictObject({
    http: z
      .strictObject({
        // All interfaces by default, as Prometheus exporters do: in a container the probes and the
        // scrapes come from outside the pod, so a loopback default would break both.
        host: z
          .string()
          .min(1)
          .default('0.0.0.0')
          .describe(
            'Address the HTTP server (health, readiness, metrics) listens on: "0.0.0.0" for every interface (what containers need: probes and scrapes come from outside), "127.0.0.1" for this machine only. Default "0.0.0.0".',
          ),
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .default(8090)
          .describe('Port of the HTTP server; 0 picks a free port. Default 8090.'),
        token: z
          .string()
          .meta(secret)
          .superRefine((value, ctx) => {
            const p = apiTokenProblem(value);
            if (p) addProblem(ctx, [], p.problem, { fix: p.fix });
          })
          .optional()
          .describe(
            'Bearer token every endpoint but /healthz requires (Authorization: Bearer <token>); /readyz still answers its status code without it, with no detail. At least 16 visible ASCII characters, e.g. from `openssl rand -hex 32`; use ${VAR} to read it from the environment. WEIR_API_TOKEN, when set, wins over this. Default: none (the API is open, and a warning says so at start).',
          ),
      })
      .prefault({})
      .describe('The HTTP server serving /healthz, /readyz and /metrics.'),
    log_level: z
      .enum(['trace', 'debug', 'info', 'warn', 'error'])
      .default('info')
      .describe(
        'Minimum level of the JSON logs: trace, debug, info, warn or error. Default "info".',
      ),
    shutdown_timeout_ms: positiveInt()
      .default(30000)
      .describe(
        'On stop, how long to wait for in-flight batches to be inserted and committed before exiting anyway. Default 30000.',
      ),
    stall_timeout_ms: positiveInt()
      .default(60000)
      .describe(
        'A pipeline that has pending records but makes no progress for this long is reported not ready; ClickHouse is pinged often enough that an outage shows within this time too. Default 60000.',
      ),
    telemetry: telemetrySchema,
  })
  .prefault({})
  .describe('Process-wide settings of the agent.');

// ---------------------------------------------------------------- source

/**
 * The TLS files of a connection: one shape for Kafka, ClickHouse and NATS (each adds its own
 * switches), checked by checkTls (cert_file and key_file go together). The files are read when
 * the agent connects (src/tls/files.ts), so a path that only exists where the agent runs validates.
 */
const tlsFilesShape = (certificates: string) => ({
  ca_file: z
    .string()
    .min(1)
    .optional()
    .describe(`PEM file of the CA that signed ${certificates}. Default: the system CAs.`),
  cert_file: z
    .string()
    .min(1)
    .optional()
    .describe('PEM client certificate for mutual TLS; needs key_file. Default: none.'),
  key_file: z
    .string()
    .min(1)
    .optional()
    .describe('PEM private key of cert_file (unencrypted). Default: none.'),
});

const tlsBase = z.strictObject({
  enabled: z.boolean().default(true).describe('Connect to the brokers over TLS. Default true.'),
  ...tlsFilesShape('the brokers\u2019 certificates'),
  reject_unauthorized: z
    .boolean()
    .default(true)
    .describe('Refuse brokers whose certificate does not verify. Default true.'),
});

const saslBase = z.strictObject({
  mechanism: z
    .enum(saslMechanisms)
    .describe('SASL mechanism: plain, scram-sha-256, scram-sha-512 or oauthbearer. Required.'),
  username: z.string().min(1).optional().describe('SASL user name. Required for plain and scram.'),
  password: z
    .string()
    .meta(secret)
    .optional()
    .describe(
      'SASL password. Required for plain and scram; use ${VAR} to read it from the environment.',
    ),
  token_file: z
    .string()
    .min(1)
    .optional()
    .describe(
      'oauthbearer: a file holding the access token (a JWT), read again at every authentication, so a sidecar or a projected Kubernetes token that rewrites it refreshes the token. One of token_file or token_env.',
    ),
  token_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .optional()
    .describe(
      'oauthbearer: the environment variable holding the access token, read at every authentication. One of token_file or token_env.',
    ),
});

export const kafkaSourceSchema = z
  .strictObject({
    brokers: z
      .array(broker)
      .min(1)
      .describe('Kafka bootstrap brokers, each as host:port. Required, at least one.'),
    topics: z.array(topicName).min(1).describe('Topics to consume. Required, at least one.'),
    group_id: z
      .string()
      .min(1)
      .optional()
      .meta({ defaultDoc: 'weir-<pipeline name>' })
      .describe(
        'Kafka consumer group; agents running the same pipeline share it and split the partitions. Default "weir-<pipeline name>".',
      ),
    client_id: z
      .string()
      .min(1)
      .default('weir')
      .describe(
        'Client id sent to the brokers (visible in broker logs and quotas). Default "weir".',
      ),
    start_from: z
      .enum(['earliest', 'latest'])
      .default('earliest')
      .describe(
        'Where a new consumer group starts when it has no committed offset: earliest or latest. Default "earliest".',
      ),
    sasl: saslBase
      .superRefine(checkSasl)
      .optional()
      .describe('SASL authentication. Default: none.'),
    tls: tlsBase
      .superRefine(checkTls)
      .optional()
      .describe('TLS towards the brokers. Default: plaintext.'),
    // 10 s rather than kafkajs's 30 s: a killed agent (SIGKILL, OOM) cannot leave the group, and
    // its replacement waits this long for its partitions (measured: 30 s -> 29.9 s, 10 s -> 10.0 s).
    // The price: heartbeats go out between batches, so a stall longer than this is a rebalance.
    session_timeout_ms: positiveInt()
      .default(10000)
      .describe(
        'Consumer session timeout: a consumer silent for this long is removed from the group and its partitions go to the others. It is also how long the partitions of an agent killed without a clean stop (SIGKILL, out of memory) stay unread: an agent started in its place waits this long for them. Heartbeats are sent every session_timeout_ms / 10 (at least 1 s) between batches, so processing that stalls longer than this (a blocked event loop, a state store down) costs a rebalance. Brokers accept 6000 to 1800000 by default (group.min/max.session.timeout.ms). Default 10000.',
      ),
    connection_timeout_ms: positiveInt()
      .default(5000)
      .describe('Timeout for opening a connection to a broker. Default 5000.'),
    max_bytes_per_partition: positiveInt()
      .default(1048576)
      .describe('Most bytes fetched from one partition per request. Default 1048576 (1 MiB).'),
    // 8 MiB: far above any JSON event worth a row (a few KiB), far below what would hurt memory:
    // a lane holds up to max_in_flight_records records, and a topic raised to take 100 MiB values
    // must not be able to take the agent down. Above it a record is a mistake (an upload in the
    // wrong topic), not data.
    max_record_bytes: positiveInt()
      .default(8 * 1024 * 1024)
      .describe(
        'Records larger than this (key, value and headers) are not parsed: they go to the dead-letter topic with reason oversize (their value truncated to fit it, see weir.truncated) and the partition keeps flowing. Kafka itself caps records at the topic\u2019s max.message.bytes (1 MiB by default); this guards topics configured for more. Default 8388608 (8 MiB).',
      ),
    max_in_flight_records: positiveInt()
      .default(200000)
      .describe(
        'Backpressure: partitions are paused while more records than this are read but not yet acknowledged, and resumed at half. Default 200000.',
      ),
    // 64 MiB of record bytes: a record in flight is held about three times over (its bytes as
    // read, its parsed fields, its row as serialized for the insert), so ~200 MiB of heap at the
    // bound, which leaves room in the 1 GiB manifest for the join buffer and the dedup index.
    // Small records reach max_in_flight_records first (200k × 250 B = 50 MiB), so throughput on
    // ordinary events does not change.
    max_in_flight_bytes: positiveInt()
      .default(64 * 1024 * 1024)
      .describe(
        'Backpressure in bytes: partitions are paused while the records read but not yet acknowledged take more than this many bytes (key and value, as read from Kafka), and resumed at half. Memory held is about three times this (raw, parsed, serialized). Default 67108864 (64 MiB).',
      ),
  })
  .describe('The Kafka topics a pipeline reads.');

// ---------------------------------------------------------------- schema

const fieldObjectBase = z.strictObject({
  type: z
    .enum([...scalarTypes, 'array', 'map'])
    .describe(
      'Field type: string, integer, number, boolean, datetime, date, uuid, json, array or map. Required.',
    ),
  items: fieldTypeNameSchema
    .optional()
    .describe(
      'Type of the elements of an array field. Required when type is array, otherwise not allowed.',
    ),
  values: fieldTypeNameSchema
    .optional()
    .describe(
      'Type of the values of a map field (keys are strings). Required when type is map, otherwise not allowed.',
    ),
  path: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Dotted path of the value inside the JSON message value, e.g. "customer.id". Only with from: value. Default: the field\u2019s name.',
    ),
  from: z
    .enum(['value', 'key', 'topic', 'partition', 'offset', 'timestamp', 'header'])
    .default('value')
    .describe(
      'Where the field comes from: value (the JSON message), key, topic, partition (integer), offset (string), timestamp (datetime, the Kafka record time) or header. key, topic and header are strings. Default "value".',
    ),
  header: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Name of the Kafka header to read. Required when from is header, otherwise not allowed.',
    ),
  nullable: z
    .boolean()
    .default(false)
    .describe(
      'Allow null or a missing value (it becomes null). Default false: such records are dead-lettered.',
    ),
  default: z
    .unknown()
    .optional()
    .describe(
      'Value used when the field is missing (not when it is null); must fit the field type. Default: none (a missing field is an error unless nullable).',
    ),
  format: timeFormatSchema
    .default('auto')
    .describe(
      'How datetime and date inputs are read: auto (numbers are epoch ms, strings ISO 8601), epoch_ms, epoch_s or iso. Only for datetime/date fields. Default "auto".',
    ),
});
const fieldObjectSchema = fieldObjectBase
  .superRefine(checkFieldSpec)
  .describe('A field declared in full.');

export const fieldSpecSchema = z
  .union([fieldTypeNameSchema, fieldObjectSchema])
  .meta({ hint: 'write a type name (e.g. string) or an object with at least type: <type name>' })
  .describe(
    'A field of the parsed record: either a type name (shorthand for { type: <name> }) or an object.',
  );

export const recordSchemaSchema = z
  .strictObject({
    fields: z
      .record(fieldName, fieldSpecSchema)
      .superRefine(
        nonEmptyRecord('declares no fields', 'declare at least one field, e.g. id: string'),
      )
      .describe('The fields parsed from each record, by name. Required, at least one.'),
  })
  .describe('The shape of the records read from Kafka.');

// ---------------------------------------------------------------- lookup

/** Where a lookup reads its dimension rows: exactly one of postgres, clickhouse or http. */
const lookupFromSchema = z
  .strictObject({
    postgres: z
      .strictObject({
        url: z
          .string()
          .superRefine(
            matching(
              /^postgres(ql)?:\/\/\S+$/,
              (v) => `invalid PostgreSQL URL "${redactUrl(v)}"`,
              'write postgres://user:password@host:5432/database',
              (v) => URL.canParse(v),
            ),
          )
          .describe(
            'PostgreSQL connection URL, postgres://user:password@host:5432/database (percent-encode special characters; use ${VAR} for the password); the password is never printed. Required.',
          ),
        tls: z
          .strictObject({
            ...tlsFilesShape('the PostgreSQL server\u2019s certificate'),
            reject_unauthorized: z
              .boolean()
              .default(true)
              .describe('Refuse a server whose certificate does not verify. Default true.'),
          })
          .superRefine(checkTls)
          .optional()
          .describe('Connect over TLS. Default: plaintext (or what sslmode in the URL says).'),
      })
      .optional()
      .describe('Rows from a PostgreSQL table or query.'),
    clickhouse: z
      .strictObject({
        url: httpUrl
          .default('http://127.0.0.1:8123')
          .describe(
            'HTTP(S) endpoint of ClickHouse; user:password@ in it are sent as credentials and never printed. Default "http://127.0.0.1:8123".',
          ),
        username: z
          .string()
          .min(1)
          .default('default')
          .describe('ClickHouse user. Default "default".'),
        password: z
          .string()
          .default('')
          .meta(secret)
          .describe('ClickHouse password; use ${VAR}. Default "" (empty).'),
        database: clickHouseIdentifier('database')
          .default('default')
          .describe('Database of the table. Default "default".'),
        tls: z
          .strictObject(tlsFilesShape('the ClickHouse server\u2019s certificate'))
          .superRefine(checkTls)
          .optional()
          .describe('TLS files for an https:// url. Default: the system CAs.'),
      })
      .optional()
      .describe('Rows from a ClickHouse table or query.'),
    http: z
      .strictObject({
        url: httpUrl.describe(
          'Endpoint answering POST {"keys": [...]} with a JSON object {"<key>": {<column>: <value>, ...} | null, ...}; a key left out or null is a miss (see the README, Lookups). Required.',
        ),
        headers: z
          .record(z.string().min(1), z.string().meta(secret).describe('The header\u2019s value.'))
          .default({})
          .describe(
            'HTTP headers sent with every request, e.g. { Authorization: "Bearer ${TOKEN}" }; their values are never printed. Default {}.',
          ),
      })
      .optional()
      .describe('Rows from an HTTP service.'),
  })
  .superRefine(
    (from, ctx) => {
      const given = (['postgres', 'clickhouse', 'http'] as const).filter(
        (k) => from[k] !== undefined,
      );
      if (given.length !== 1)
        addProblem(
          ctx,
          [],
          given.length === 0 ? 'no source given' : `several sources given (${given.join(', ')})`,
          { fix: 'give exactly one of postgres, clickhouse or http' },
        );
    },
    { when: (payload) => payload.issues.length === 0 },
  )
  .describe('Where the dimension rows come from: exactly one of postgres, clickhouse or http.');

const lookupFieldSchema = z
  .union([
    fieldTypeNameSchema,
    z
      .strictObject({
        type: fieldTypeNameSchema.describe('Type of the output field. Required.'),
        column: columnName
          .optional()
          .describe(
            'The column of the dimension row it comes from. Default: the field\u2019s name.',
          ),
      })
      .describe('An output field with its column.'),
  ])
  .meta({ hint: 'write a type name (e.g. string) or { type: <type name>, column: <column> }' })
  .describe('An output field: its type, or { type, column }.');

const lookupDuration = (what: string, maxDays: number) =>
  durationSchema({
    examples: '"30s", "5m" or "1h"',
    hint: ['30s', '5m'],
    outOfRange: (ms, v) =>
      ms > maxDays * 86_400_000
        ? { message: `${what} must be at most ${maxDays}d, got ${String(v)}`, fix: 'e.g. 5m' }
        : undefined,
  });

const lookupBase = z.strictObject({
  name: z
    .string()
    .superRefine(
      matching(
        /^[a-z][a-z0-9_-]{0,62}$/,
        (v) => `invalid lookup name "${v}"`,
        'use 1-63 lowercase letters, digits, "_" and "-", starting with a letter',
      ),
    )
    .optional()
    .meta({ defaultDoc: 'lookup[<index in transforms>]' })
    .describe(
      'Name of the lookup: its stage name in metrics, readiness, logs and dead letters. Default "lookup[<i>]" (its index in transforms).',
    ),
  from: lookupFromSchema,
  table: z
    .string()
    .superRefine(
      matching(
        /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/,
        (v) => `invalid table name "${v}"`,
        'write table or schema.table (database.table for ClickHouse)',
      ),
    )
    .optional()
    .describe(
      'The dimension table (schema.table or database.table allowed). One of table or query (not for http).',
    ),
  query: z
    .string()
    .min(1)
    .optional()
    .describe(
      'A query returning the dimension rows for a list of keys, one row per key: PostgreSQL takes the keys as $1, an array (`SELECT ... FROM t WHERE id = ANY($1)`); ClickHouse as {keys}, a parenthesized list (`SELECT ... FROM t WHERE id IN {keys}`). With preload, the query runs once with every key: write it without the key condition. One of table or query (not for http).',
    ),
  key: z
    .union([
      fieldName.describe('A field of the record, matched against the column of the same name.'),
      z
        .strictObject({
          field: fieldName.describe('The record field holding the key. Required.'),
          column: columnName
            .optional()
            .describe('The key column of the dimension rows. Default: the field\u2019s name.'),
        })
        .describe('A record field and the key column it matches.'),
    ])
    .meta({ hint: 'write a field name, or { field: <field>, column: <column> }' })
    .describe(
      'The record field whose value is looked up and the key column it matches. The key column must hold one row per key. Required.',
    ),
  fields: z
    .record(fieldName, lookupFieldSchema)
    .superRefine(
      nonEmptyRecord('declares no fields', 'declare the fields to add, e.g. campaign_name: string'),
    )
    .describe(
      'The fields added to the record from the dimension row, by name: a type, or { type, column }. The column must exist and its type convert to the field\u2019s (checked at start). Required, at least one.',
    ),
  on_miss: z
    .union([z.null(), z.enum(['null', 'default', 'drop', 'dead_letter'])])
    .transform((v) => v ?? 'null')
    .default('null')
    .meta({ hint: 'write null, default, drop or dead_letter' })
    .describe(
      'A record whose key has no row (or is null): null sets the fields to null (they become nullable); default sets them to defaults; drop drops the record (reason lookup_miss); dead_letter sends it to the dead-letter topic (reason lookup_miss). Default "null".',
    ),
  defaults: z
    .record(fieldName, z.unknown().describe('The field\u2019s value on a miss (null allowed).'))
    .optional()
    .describe(
      'With on_miss: default, the value of each field on a miss; each must fit the field\u2019s type. Required then, otherwise not allowed.',
    ),
  cache: z
    .strictObject({
      max_entries: positiveInt()
        .default(100_000)
        .describe('Most keys cached (hits and misses). Default 100000.'),
      // 64 MiB: the cache's share of the 1 GiB pod of deploy/kubernetes, like the join buffer's
      // 128 MiB; entries are counted with an overhead, so this bounds the heap they take.
      max_bytes: positiveInt()
        .default(64 * 1024 * 1024)
        .describe(
          'Most bytes cached: each entry counts the UTF-8 bytes of its key and values plus 100 bytes for holding it. The least recently used entries go first. Default 67108864 (64 MiB).',
        ),
      ttl: lookupDuration('the cache ttl', 7)
        .prefault('5m')
        .describe(
          'How long a row found is used before it is read again: how stale an enrichment may be. 0 turns the cache off. Default "5m".',
        ),
      negative_ttl: lookupDuration('the negative ttl', 7)
        .prefault('30s')
        .describe(
          'How long a key without a row is remembered as a miss before it is asked again. Default "30s".',
        ),
    })
    .prefault({})
    .describe('The in-memory cache of looked-up keys.'),
  preload: z
    .strictObject({
      refresh: lookupDuration('the preload refresh', 7)
        .prefault('5m')
        .describe(
          'How often the whole table is read again (0: never); a failed refresh keeps the rows loaded before (and is retried at the next refresh). Default "5m".',
        ),
    })
    .optional()
    .describe(
      'Load the whole (small) table at start, and again every refresh: lookups never query, a key not loaded is a miss. The table must fit cache.max_entries and cache.max_bytes. Default: off (keys are queried as records need them).',
    ),
  max_keys_per_query: positiveInt()
    .default(1000)
    .describe(
      'Keys asked in one query at most: the distinct keys of a fetch not cached are split into queries of this many. Default 1000.',
    ),
  max_concurrency: positiveInt()
    .default(4)
    .describe('Queries of this lookup running at once at most (over all partitions). Default 4.'),
  timeout_ms: positiveInt()
    .default(10_000)
    .describe('Timeout of one query (and of connecting). Default 10000.'),
  retry: z
    .strictObject({
      initial_ms: positiveInt()
        .default(250)
        .describe('Delay before the first retry of a failed query. Default 250.'),
      max_ms: positiveInt()
        .default(10000)
        .describe(
          'Longest delay between retries (exponential backoff with jitter). Default 10000.',
        ),
    })
    .superRefine(checkRetry)
    .prefault({})
    .describe(
      'Backoff of failed queries. A lookup that fails is retried until it succeeds, the pipeline paused meanwhile (weir_pipeline_paused{reason="lookup"}, readiness check lookup:<name>); no record is skipped.',
    ),
});

export const lookupSchema = lookupBase
  .superRefine(checkLookup)
  .describe(
    'Enriches each record with fields of a dimension row found by a key (PostgreSQL, ClickHouse or HTTP), batched per fetch and cached.',
  );

// ---------------------------------------------------------------- transforms

const convertTargetSchema = z
  .union([
    fieldTypeNameSchema,
    z
      .strictObject({
        to: fieldTypeNameSchema.describe('The new type. Required.'),
        format: timeFormatSchema
          .optional()
          .describe(
            'How a value converted to datetime or date is read: auto, epoch_ms, epoch_s or iso. Default "auto".',
          ),
      })
      .describe('A conversion with options.'),
  ])
  .meta({ hint: 'write a type name (e.g. integer) or { to: <type name>, format: <format> }' })
  .describe('Target of a conversion: a type name or { to, format }.');

const computeSpecSchema = z
  .union([
    z.string().min(1).describe('The expression.'),
    z
      .strictObject({
        expr: z.string().min(1).describe('Expression over the fields at this point. Required.'),
        type: fieldTypeNameSchema
          .optional()
          .describe('Type of the result, checked per record. Default: any (checked at the sink).'),
        nullable: z.boolean().optional().describe('Whether the result may be null. Default false.'),
      })
      .describe('A computed field with options.'),
  ])
  .meta({ hint: 'write an expression string or { expr: <expression>, type: <type name> }' })
  .describe('A computed field: an expression, or { expr, type, nullable }.');

export const transformSchema = z
  .union([
    z
      .strictObject({
        filter: z
          .string()
          .min(1)
          .describe('Keep only records for which this expression is true; the others are dropped.'),
      })
      .describe('Keep records matching an expression.'),
    z
      .strictObject({
        rename: z
          .record(fieldName, fieldName.describe('The new name of the field.'))
          .describe('Renames fields: old name -> new name. The new name must not exist yet.'),
      })
      .describe('Rename fields.'),
    z
      .strictObject({
        convert: z
          .record(fieldName, convertTargetSchema)
          .describe('Changes the type of fields: field -> new type.'),
      })
      .describe('Convert field types.'),
    z
      .strictObject({
        compute: z
          .record(fieldName, computeSpecSchema)
          .describe('Adds (or replaces) fields computed from expressions: field -> expression.'),
      })
      .describe('Compute fields.'),
    z
      .strictObject({
        drop: z.array(fieldName).min(1).describe('Removes these fields from the record.'),
      })
      .describe('Drop fields.'),
    z
      .strictObject({
        ingest_time: fieldName.describe(
          'The field (added, or replaced) that gets the time the record was taken in, a datetime: e.g. processed_at. All records of one fetch get the same time; with exactly-once it is recorded with the pending batch and reused when the batch is replayed, so a replay carries the same rows.',
        ),
      })
      .describe('Add the ingest time.'),
    z.strictObject({ lookup: lookupSchema }).describe('Enrich records from a dimension table.'),
  ])
  .meta({
    hint: 'write each transform as a one-key object: filter, rename, convert, compute, drop, ingest_time or lookup',
  })
  .describe(
    'One step applied to each record, in order: filter, rename, convert, compute, drop, ingest_time or lookup (one per list item).',
  );

// ---------------------------------------------------------------- NATS and exactly-once

const natsServer = z
  .string()
  .superRefine(
    matching(
      /^((nats|tls|ws|wss):\/\/)?([^\s/@]+@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$/,
      (v) => `invalid NATS server "${redactUrl(v)}"`,
      'write host:port or nats://host:port, e.g. 127.0.0.1:4222',
    ),
  );

const natsTls = z.strictObject({
  ...tlsFilesShape('the NATS servers\u2019 certificates'),
  server_name: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Host name the servers\u2019 certificates must name, when it differs from the host in servers (e.g. servers given by IP address). Default: the host of each server.',
    ),
});

/** How to reach NATS: shared by the dedup state and the batch ledger. */
const natsConnectionShape = () => ({
  servers: z
    .array(natsServer)
    .min(1)
    .default(['127.0.0.1:4222'])
    .describe(
      'NATS servers with JetStream, host:port or nats://host:port; credentials may be given as nats://user:password@host:port or nats://token@host:port (percent-encode special characters; the same on every server, instead of user/password or token; never printed). Default ["127.0.0.1:4222"].',
    ),
  user: z.string().min(1).optional().describe('NATS user; needs password. Default: none.'),
  password: z
    .string()
    .meta(secret)
    .optional()
    .describe('Password of user; use ${VAR} to read it from the environment. Default: none.'),
  token: z.string().meta(secret).optional().describe('NATS authentication token. Default: none.'),
  credentials_file: z
    .string()
    .min(1)
    .optional()
    .describe('NATS credentials (.creds) file for JWT authentication. Default: none.'),
  timeout_ms: positiveInt()
    .default(5000)
    .describe('Timeout of connecting and of one NATS request. Default 5000.'),
  tls: natsTls
    .superRefine(checkTls)
    .optional()
    .describe(
      'TLS towards NATS: with this section the connection must be encrypted (a server without TLS is refused). Default: whatever the server offers (plaintext, or TLS with the system CAs when it requires TLS).',
    ),
});

/** A NATS KV bucket name (the stream behind it is KV_<name>). */
const bucketName = z
  .string()
  .superRefine(
    matching(
      /^[A-Za-z0-9_-]{1,128}$/,
      (v) => `invalid KV bucket name "${v}"`,
      'use letters, digits, "_" and "-"',
    ),
  );

const exactlyOnceSchema = z
  .strictObject({
    mode: z
      .enum(['required', 'preferred', 'off'])
      .default('preferred')
      .describe(
        'required: refuse to start unless replays are dropped (a batch ledger in NATS and a table that deduplicates inserts); preferred: the same, but run at-least-once with a warning (and weir_exactly_once = 0) when it cannot hold; off: at-least-once, no ledger. Default "preferred".',
      ),
    nats: z
      .strictObject({
        ...natsConnectionShape(),
        bucket: bucketName
          .default('weir_ledger')
          .describe('The KV bucket of the batch ledger; created by Weir. Default "weir_ledger".'),
      })
      .prefault({})
      .describe('Where the batch ledger lives (NATS JetStream KV).'),
  })
  .prefault({})
  .describe(
    'Exactly-once delivery: every batch is recorded in a ledger before it is written and replays are cut over the same offsets with the same insert token, so a crash never doubles rows.',
  );

// ---------------------------------------------------------------- sink

const retryBase = z.strictObject({
  initial_ms: positiveInt()
    .default(250)
    .describe('Delay before the first retry of a failed insert. Default 250.'),
  max_ms: positiveInt()
    .default(10000)
    .describe('Longest delay between retries (exponential backoff with jitter). Default 10000.'),
});

export const clickHouseSinkSchema = z
  .strictObject({
    url: httpUrl
      .default('http://127.0.0.1:8123')
      .describe(
        'HTTP(S) endpoint of ClickHouse. Credentials may be given in it, http://user:password@host:8123 (percent-encode special characters): they are sent as username and password, take their place, and are never printed; a password in both is an error. Default "http://127.0.0.1:8123".',
      ),
    tls: z
      .strictObject(tlsFilesShape('the ClickHouse server\u2019s certificate'))
      .superRefine(checkTls)
      .optional()
      .describe(
        'TLS files for an https:// url: the CA to trust instead of the system CAs, and a client certificate. With cert_file, the client asks the server to authenticate the user by the certificate (X-ClickHouse-SSL-Certificate-Auth): servers that support it (21.x and later) want the user IDENTIFIED WITH ssl_certificate and no password. Default: the system CAs, no client certificate.',
      ),
    username: z.string().min(1).default('default').describe('ClickHouse user. Default "default".'),
    password: z
      .string()
      .default('')
      .meta(secret)
      .describe(
        'ClickHouse password; use ${VAR} to read it from the environment. Default "" (empty).',
      ),
    database: clickHouseIdentifier('database')
      .default('default')
      .describe('Database of the table. Default "default".'),
    table: clickHouseIdentifier('table').describe('The table rows are inserted into. Required.'),
    columns: z
      .record(columnName, fieldName.describe('The output field that fills this column.'))
      .optional()
      .describe(
        'Which field fills each column: column -> field. Default: every field goes to the column of the same name.',
      ),
    create_table: z
      .strictObject({
        engine: z
          .string()
          .min(1)
          .default('MergeTree')
          .describe(
            'Table engine, e.g. MergeTree or ReplicatedMergeTree(...). Default "MergeTree".',
          ),
        order_by: z
          .array(z.string().min(1))
          .min(1)
          .describe('Sorting key: columns of the table (non-nullable). Required, at least one.'),
        partition_by: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Partition key expression, e.g. toYYYYMM(created_at). Default: no partitioning.',
          ),
      })
      .optional()
      .describe(
        'Create the table from the output fields at start if it does not exist. Default: the table must already exist.',
      ),
    batch: z
      .strictObject({
        max_rows: positiveInt()
          .default(50000)
          .describe('A batch is inserted once it holds this many rows. Default 50000.'),
        max_bytes: positiveInt()
          .default(16777216)
          .describe(
            'A batch is inserted once its rows take this many bytes. Default 16777216 (16 MiB).',
          ),
        max_delay_ms: positiveInt()
          .default(1000)
          .describe(
            'A batch is inserted at most this long after its first row arrived. Default 1000.',
          ),
      })
      .prefault({})
      .describe('When a batch is cut; whichever limit is reached first.'),
    async_insert: z
      .boolean()
      .default(false)
      .describe(
        'Use ClickHouse asynchronous inserts (always waiting for the server to confirm). Default false.',
      ),
    request_timeout_ms: positiveInt()
      .default(30000)
      .describe('Timeout of one request to ClickHouse. Default 30000.'),
    retry: retryBase
      .superRefine(checkRetry)
      .prefault({})
      .describe(
        'Backoff of retryable insert failures; retries go on until they succeed or Weir stops.',
      ),
    settings: z
      .record(
        z.string().min(1),
        z
          .union([z.string(), z.number(), z.boolean()])
          .meta({ hint: 'write a string, a number or true/false' })
          .describe('The value of the setting.'),
      )
      .default({})
      .describe(
        'ClickHouse settings sent with every insert, e.g. max_insert_block_size. Default {}.',
      ),
    exactly_once: z
      .union([z.enum(['required', 'preferred', 'off']), exactlyOnceSchema])
      .transform((v) => (typeof v === 'string' ? exactlyOnceSchema.parse({ mode: v }) : v))
      .prefault({})
      .meta({ hint: 'write required, preferred or off, or { mode, nats }' })
      .describe(
        'Exactly-once delivery (see below); a bare mode is short for { mode: <mode> }. Default { mode: preferred } with NATS at 127.0.0.1:4222.',
      ),
  })
  .superRefine((ch, ctx) => {
    // Two passwords would leave one silently unused.
    if (ch.password !== '' && splitCredentials(ch.url).password !== undefined)
      addProblem(ctx, ['password'], 'both url and password give a password', {
        fix: 'keep one: remove password, or the user:password@ part of url',
      });
  })
  .superRefine(checkClickHouseTls)
  .describe('The ClickHouse table a pipeline writes to.');

// ---------------------------------------------------------------- dedup

/** The longest dedup window accepted (the design asks for at least 7 days). */
export const MAX_DEDUP_WINDOW_MS = 90 * 86_400_000;

/**
 * A duration: milliseconds, or a number with a unit ("500ms", "30s", "24h", "7d"), parsed to
 * milliseconds. `outOfRange` tells what is wrong with a value that parsed, if anything.
 */
function durationSchema(o: {
  /** Examples in the description, e.g. `"90s", "15m", "24h" or "7d"`. */
  examples: string;
  /** Two examples for the hint, e.g. `24h or 7d`; the first one ends the fix. */
  hint: [string, string];
  outOfRange: (ms: number, v: string | number) => { message: string; fix: string } | undefined;
}) {
  return z
    .union([
      z.number().int().describe('Milliseconds.'),
      z.string().describe(`A duration such as ${o.examples}.`),
    ])
    .meta({
      hint: `write a duration such as ${o.hint[0]} or ${o.hint[1]}, or a number of milliseconds`,
    })
    .superRefine((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined)
        addProblem(ctx, [], `invalid duration "${String(v)}"`, {
          fix: `write a number with a unit: ms, s, m, h or d, e.g. ${o.hint[0]}`,
        });
      else {
        const wrong = o.outOfRange(ms, v);
        if (wrong) addProblem(ctx, [], wrong.message, { fix: wrong.fix });
      }
    })
    .transform((v) => parseDuration(v)!);
}

const dedupWindowSchema = durationSchema({
  examples: '"90s", "15m", "24h" or "7d"',
  hint: ['24h', '7d'],
  outOfRange: (ms, v) =>
    ms < 1000 || ms % 1000 !== 0 || ms > MAX_DEDUP_WINDOW_MS
      ? {
          message: `the window must be whole seconds from 1s to 90d, got ${String(v)}`,
          fix: 'e.g. 10m, 24h or 7d',
        }
      : undefined,
});

/** What identifies a record for dedup or a join: a field, several fields, or an expression. */
const keySchema = z
  .union([
    fieldName.describe('One field.'),
    z.array(fieldName).min(1).describe('Several fields; the key is their combination.'),
    z
      .strictObject({
        expr: z
          .string()
          .min(1)
          .describe('Expression over the fields at this point, e.g. lower(email).'),
      })
      .describe('A key computed by an expression.'),
  ])
  .meta({ hint: 'write a field name, a list of field names, or { expr: <expression> }' });

export const dedupSchema = z
  .strictObject({
    key: keySchema.describe(
      'What makes two records the same event: a field, a list of fields, or { expr }. Fields are the output fields (after transforms). Required.',
    ),
    window: dedupWindowSchema
      .prefault('24h')
      .describe(
        'How long an accepted key is remembered: a duration ("10m", "24h", "7d") or milliseconds; whole seconds from 1s to 90d. Default "24h".',
      ),
    // 4M keys: at <= 32 bytes per key the index takes 128 MB (a table of 6.25M 20-byte slots at
    // most). It grows by 1.25x with the old table alive for the moment of the copy, so the peak is
    // 100 + 125 = 225 MB. That leaves room in the 1 GiB pod of deploy/kubernetes for the agent
    // itself (~250 MiB RSS measured), records in flight and batches.
    max_keys: positiveInt()
      .default(4_000_000)
      .describe(
        'The most keys the in-memory dedup index holds (about 32 bytes each). At the cap, dedup holds its records (unacknowledged in Kafka: nothing lost, nothing let through twice) until expiring keys bring the count below 90 % of it; meanwhile weir_pipeline_paused{reason="dedup_keys"} is 1 and /readyz is not ready (check dedup_keys). With arrival time keys expire as time passes and the pipeline resumes by itself; with event time they expire only as newer events arrive, which are held too, so it may stay paused until restarted with a larger cap. Size it as keys accepted per window × 32 bytes; the index is a typed array outside the JavaScript heap, so it counts against the container\u2019s memory limit, not --max-old-space-size. Default 4000000: 4M × 32 B = 128 MB, about 225 MB for the moment the table grows, within the 1 GiB memory limit of deploy/kubernetes next to the agent\u2019s other buffers.',
      ),
    time: z
      .union([
        z.literal('arrival').describe('When the agent processes the record.'),
        z
          .strictObject({
            field: fieldName.describe('An output field of type datetime (epoch ms). Required.'),
          })
          .describe('Event time from a field.'),
      ])
      .meta({ hint: 'write arrival, or { field: <datetime field> }' })
      .default('arrival')
      .describe(
        'The clock of the window: "arrival" (processing time), or { field } for event time (a null value falls back to the Kafka timestamp). Default "arrival".',
      ),
    late: z
      .enum(['keep', 'drop'])
      .default('keep')
      .describe(
        'Event time only: a record older than the window behind the newest time of its partition is late; its duplicates may already be forgotten. keep passes it on (unremembered), drop drops it (reason late). Default "keep".',
      ),
    mode: z
      .enum(['keyed', 'global'])
      .default('keyed')
      .describe(
        'keyed: state per partition, loaded on assignment (correct for any number of agents when the topic is keyed by the dedup key, and for one agent always). global: every new key is claimed in NATS with compare-and-set, for several agents on an unkeyed topic (about 6-9k new keys/s). Default "keyed".',
      ),
    duplicates_topic: topicName
      .optional()
      .describe(
        'Kafka topic that receives every dropped duplicate with the original bytes and the origin it repeats (created if missing). Default: duplicates are only counted.',
      ),
    nats: z
      .strictObject({
        ...natsConnectionShape(),
        bucket: bucketName
          .optional()
          .meta({ defaultDoc: 'weir_dedup_<pipeline name>' })
          .describe(
            'The KV bucket holding the state; created and configured by Weir (max age = window + 1h). Default "weir_dedup_<pipeline name>".',
          ),
        replicas: z
          .number()
          .int()
          .min(1)
          .max(5)
          .default(1)
          .describe('Replicas of the bucket in a NATS cluster (1, 3 or 5). Default 1.'),
      })
      .prefault({})
      .describe('The NATS JetStream KV bucket holding the dedup state.'),
  })
  .describe(
    'Drops duplicate events: records whose key was accepted within the window. Runs after the transforms. Default: off.',
  );

// ---------------------------------------------------------------- join

/** A duration from 0 to 7 days, in whole milliseconds. */
const joinDuration = (what: string) =>
  durationSchema({
    examples: '"500ms", "30s" or "10m"',
    hint: ['30s', '10m'],
    outOfRange: (ms, v) =>
      ms < 0 || ms > 7 * 86_400_000
        ? { message: `${what} must be from 0 to 7d, got ${String(v)}`, fix: 'e.g. 30s or 10m' }
        : undefined,
  });

export const joinSchema = z
  .strictObject({
    type: z
      .enum(['inner', 'left'])
      .default('inner')
      .describe(
        'inner: only left events with a match land. left: every left event lands; one without a match lands once its window closes, with the right fields null. Default "inner".',
      ),
    within: joinDuration('the join window').describe(
      'A left and a right event match when their keys are equal and their event times are at most this far apart (either way), e.g. "30s". Required.',
    ),
    allowed_lateness: joinDuration('the allowed lateness')
      .prefault('5s')
      .describe(
        'How far behind the newest event time of its partition an event may arrive and still be joined. A later right event is dropped (reason late); a later left event is dropped by an inner join and handled by late_left in a left join. It also delays every decision by as much (a left event lands after within + allowed_lateness of event time). The default tolerates ordinary producer jitter (events written in arrival order a few seconds out of event-time order). Default "5s".',
      ),
    late_left: z
      .enum(['emit_unmatched', 'dead_letter'])
      .default('emit_unmatched')
      .describe(
        'Left joins only: what becomes of a left event later than the allowed lateness. emit_unmatched lands it at once with the right fields null (its matches may already have left the buffer, so it is never looked up); dead_letter sends it to the dead-letter topic with reason late. Either way it is counted (weir_join_records_total reason late) and logged (rate-limited). Default "emit_unmatched".',
      ),
    match: z
      .enum(['all', 'latest'])
      .default('all')
      .describe(
        'all: one row per matching right event in the window (one-to-many). latest: one row per left event, with the right event of the greatest event time in the window (ties: the later offset). Default "all".',
      ),
    idle_timeout: joinDuration('the idle timeout')
      .prefault('10s')
      .describe(
        'When a right partition receives nothing for this long, the windows of the waiting left events are closed as if its event time had moved past them; right events that arrive afterwards for a closed window are late. Default "10s".',
      ),
    left: z
      .strictObject({
        key: keySchema.describe(
          'The join key of a left event, over the fields after the transforms (and dedup). Required.',
        ),
        time: fieldName.describe(
          'A datetime field of the left event holding its event time. Required.',
        ),
      })
      .describe('The left side: the pipeline\u2019s own records (source.topics).'),
    right: z
      .strictObject({
        topic: topicName.describe(
          'The Kafka topic of the right events; same partition count as the source topics, keyed by the join key. Required.',
        ),
        schema: recordSchemaSchema.describe('The fields parsed from each right event. Required.'),
        key: keySchema.describe('The join key of a right event, over its fields. Required.'),
        time: fieldName.describe(
          'A datetime field of the right event holding its event time. Required.',
        ),
      })
      .describe('The right side: a second topic, read by the same consumer group.'),
    fields: z
      .record(
        fieldName,
        z
          .string()
          .superRefine(
            matching(
              /^(left|right)\.[A-Za-z_][A-Za-z0-9_]*$/,
              (v) => `invalid join output "${v}"`,
              'write left.<field> or right.<field>',
            ),
          )
          .describe('Where the output field comes from: left.<field> or right.<field>.'),
      )
      .optional()
      .describe(
        'The output fields, by name: "left.<field>" or "right.<field>", e.g. { paid: right.amount }. Default: every left field, then every right field (a name on both sides is an error: list the fields then).',
      ),
    max_buffer_records: positiveInt()
      .default(2_000_000)
      .describe(
        'Right events held in memory for all partitions at most; beyond it the right partitions are paused until left events close windows. The buffer is full at this or at max_buffer_bytes, whichever comes first (with the defaults, the byte bound). Default 2000000.',
      ),
    // 128 MiB: the buffer's share of the 1 GiB the Kubernetes manifest gives, next to the records
    // in flight, the dedup index, the batches being inserted, Node itself and the garbage
    // collector's headroom. Counted with a per-event overhead, it bounds the heap the buffer takes
    // whatever the event size: ~13,000 events of 10 KB or ~270,000 of 100 bytes.
    max_buffer_bytes: positiveInt()
      .default(128 * 1024 * 1024)
      .describe(
        'Bytes of right events held in memory for all partitions at most; beyond it the right partitions are paused until left events close windows, as at max_buffer_records. An event counts the UTF-8 bytes of its key and of the right fields the output uses, plus 400 bytes for holding it (its objects and index entries), so this bounds the heap the buffer takes. It is checked after each batch a right partition delivers, so the buffer may pass it by up to one fetch per partition (source.max_bytes_per_partition). A paused partition is not idle (idle_timeout closes no window meanwhile), so size it above what the windows need or the pipeline stalls: the right events of 2 × (within + allowed_lateness) of event time, plus, when catching up on a backlog, of the event time one fetch of a left partition spans (source.max_bytes_per_partition). Default 134217728 (128 MiB).',
      ),
    nats: z
      .strictObject({
        ...natsConnectionShape(),
        bucket: bucketName
          .optional()
          .meta({ defaultDoc: 'weir_join_<pipeline name>' })
          .describe(
            'The KV bucket holding the join state; created and configured by Weir. Default "weir_join_<pipeline name>".',
          ),
      })
      .prefault({})
      .describe('The NATS JetStream KV bucket holding the buffered right events.'),
  })
  .describe(
    'Joins each left event (the pipeline\u2019s records, after the transforms and dedup) with the events of a second topic whose key is equal and whose event time is within the window. Default: off.',
  );

// ---------------------------------------------------------------- aggregate

/** A window length or hop: from 1 ms to 31 days. */
const windowDuration = (what: string) =>
  durationSchema({
    examples: '"10s", "1m" or "1h"',
    hint: ['1m', '1h'],
    outOfRange: (ms, v) =>
      ms < 1 || ms > 31 * 86_400_000
        ? { message: `${what} must be from 1ms to 31d, got ${String(v)}`, fix: 'e.g. 1m or 1h' }
        : undefined,
  });

export const aggregateSchema = z
  .strictObject({
    window: z
      .union([
        z
          .strictObject({
            tumbling: windowDuration('a tumbling window').describe(
              'Window length, e.g. "1m": windows [k × length, (k + 1) × length) of epoch time.',
            ),
          })
          .describe('Back-to-back windows of one length; each record is in exactly one.'),
        z
          .strictObject({
            hopping: z
              .strictObject({
                size: windowDuration('a hopping window').describe(
                  'Window length, e.g. "1h"; a whole multiple of hop. Required.',
                ),
                hop: windowDuration('the hop').describe(
                  'How far apart window starts are, e.g. "5m". Required.',
                ),
              })
              .describe('Windows of length size starting every hop.'),
          })
          .describe('Overlapping windows; each record is in size / hop of them.'),
      ])
      .meta({ hint: 'write { tumbling: 1m } or { hopping: { size: 1h, hop: 5m } }' })
      .describe(
        'The windows, aligned to the epoch (UTC): { tumbling: <length> } or { hopping: { size, hop } }. Required.',
      ),
    time: z
      .union([
        z
          .strictObject({
            field: fieldName.describe(
              'A datetime field (after the transforms) holding the event time; a null value falls back to the Kafka record timestamp. Required.',
            ),
          })
          .describe('Event time from a field.'),
        z
          .strictObject({
            processing: z
              .literal(true)
              .describe(
                'Windows by the Kafka record timestamp (set by the producer or the broker), not by the agent\u2019s clock: it is fixed per record, so a replay decides exactly as the first run.',
              ),
          })
          .describe('"Processing time" as the Kafka record timestamp.'),
      ])
      .meta({ hint: 'write { field: <datetime field> } or { processing: true }' })
      .describe(
        'The clock of the windows: { field } (event time) or { processing: true } (the Kafka record timestamp). Required.',
      ),
    group_by: z
      .array(fieldName)
      .default([])
      .describe(
        'Fields (after the transforms and dedup) whose values make a group; one row per window and group. The topic should be keyed by them (state is per partition: a group spread over partitions gets a row per partition). Default [] (one group).',
      ),
    measures: z
      .record(
        fieldName,
        z
          .string()
          .describe(
            'count() (records), count(x) (non-null values), sum(x), min(x), max(x), avg(x), uniq(x) (exact distinct count), uniq_approx(x) (HyperLogLog: 4 KiB per window and group, standard error 1.6 %), first(x) / last(x) (the value of the record with the earliest / latest event time, ties by offset). Nulls are skipped.',
          ),
      )
      .refine((m) => Object.keys(m).length > 0, { message: 'list at least one measure' })
      .describe(
        'The output fields computed per window and group, by name: a function of a field, e.g. { clicks: count(), spend: sum(amount), users: uniq(user_id) }. Required.',
      ),
    window_start: fieldName
      .default('window_start')
      .describe('Output field (datetime) with the window\u2019s start. Default "window_start".'),
    window_end: fieldName
      .default('window_end')
      .describe(
        'Output field (datetime) with the window\u2019s end (exclusive). Default "window_end".',
      ),
    allowed_lateness: joinDuration('the allowed lateness')
      .prefault('5s')
      .describe(
        'How far behind the newest event time of its partition a record may be and still count: a partition\u2019s watermark is its newest event time less this, and window [start, end) closes (its rows are emitted) when the watermark reaches end. It delays every row by as much. Default "5s".',
      ),
    late: z
      .enum(['count', 'dead_letter'])
      .default('count')
      .describe(
        'What becomes of a record whose windows have all closed: count drops it with reason late, dead_letter sends it to the dead-letter topic with reason late. Either way it is counted (weir_aggregate_records_total reason late) and logged (rate-limited). Default "count".',
      ),
    idle_timeout: joinDuration('the idle timeout')
      .optional()
      .describe(
        'When a partition receives no record for this long, its open windows are closed (their rows emitted) as if its watermark had moved past them; records that arrive afterwards for a closed window are late. To have a record to emit those rows as, the stage then holds each partition\u2019s last record until a newer one arrives or the timeout passes (a batch is never cut past it): rows land up to one fetch later, and a partition that goes quiet lands its last windows after the timeout. The close is recorded with the state before its rows are inserted, so a replay closes the same windows. Keep it below agent.stall_timeout_ms. Default: off (windows close only as records arrive: a quiet partition keeps its last windows open until its next record).',
      ),
    // 128 MiB: the state's share of the 1 GiB the Kubernetes manifest gives, like the join buffer.
    max_state_bytes: positiveInt()
      .default(128 * 1024 * 1024)
      .describe(
        'Bytes of window state held in memory for all partitions at most, counted as 256 bytes per window and group plus its group values and measures (48 bytes each; uniq: 64 bytes plus the text of each distinct value; uniq_approx: 4 KiB). Above it the pipeline stops with an error (readiness says why) instead of dropping or guessing: pausing cannot help, since windows close only as records arrive. Size it as groups × windows open at once (size / hop, plus those waiting for the allowed lateness) × bytes per window. Default 134217728 (128 MiB).',
      ),
    nats: z
      .strictObject({
        ...natsConnectionShape(),
        bucket: bucketName
          .optional()
          .meta({ defaultDoc: 'weir_aggregate_<pipeline name>' })
          .describe(
            'The KV bucket holding the aggregation state; created and configured by Weir. Default "weir_aggregate_<pipeline name>".',
          ),
      })
      .prefault({})
      .describe('The NATS JetStream KV bucket holding the window state.'),
  })
  .describe(
    'Aggregates the records (after the transforms and dedup) into windows per group: the pipeline\u2019s rows are then one per window and group, with the group fields, window_start, window_end and the measures. Default: off.',
  );

// ---------------------------------------------------------------- pipeline and config

const pipelineObjectSchema = z.strictObject({
  name: z
    .string()
    .superRefine(
      matching(
        /^[a-z][a-z0-9_-]{0,62}$/,
        (v) => `invalid pipeline name "${v}"`,
        'use 1-63 lowercase letters, digits, "_" and "-", starting with a letter',
      ),
    )
    .describe(
      'Name of the pipeline, unique in the file; used in metrics, state keys and defaults. Required.',
    ),
  source: kafkaSourceSchema,
  schema: recordSchemaSchema,
  transforms: z
    .array(transformSchema)
    .default([])
    .describe('Steps applied to each record after parsing, in order. Default [].'),
  sink: z
    .strictObject({ clickhouse: clickHouseSinkSchema })
    .describe('Where records go. Required.'),
  dedup: dedupSchema.optional(),
  join: joinSchema.optional(),
  aggregate: aggregateSchema.optional(),
  event_time_field: fieldName
    .optional()
    .describe(
      'An output field of type datetime holding the event time; the end-to-end latency metric measures from it to insert acknowledged. Default: the Kafka record timestamp (also used when the field is null).',
    ),
  dead_letter: z
    .strictObject({
      topic: topicName
        .optional()
        .meta({ defaultDoc: 'weir.<pipeline name>.dlq' })
        .describe(
          'Kafka topic receiving records that cannot be delivered, with the reason. Default "weir.<pipeline name>.dlq".',
        ),
      compression: z
        .enum(kafkaCompressions)
        .default('gzip')
        .describe(
          'Codec of the record batches Weir writes to the dead-letter topic and to dedup.duplicates_topic: none, gzip, snappy, lz4 or zstd. gzip is read by every Kafka client (stock kafkajs included) and is compressed by zlib off the event loop. Default "gzip".',
        ),
    })
    .prefault({})
    .describe('Where undeliverable records go.'),
});

/** The rules' view of a pipeline before derived defaults are filled in. */
export type PipelineDraft = z.output<typeof pipelineObjectSchema>;

export const pipelineSchema = pipelineObjectSchema
  .check(
    ...pipelineRules.map(({ inputs, check }) =>
      z.superRefine(check, { when: unlessIssuesAt(inputs) }),
    ),
  )
  .transform(withDerivedDefaults)
  .describe('One stream from Kafka topics to a ClickHouse table.');

export const weirConfigSchema = z
  .strictObject({
    agent: agentSchema,
    pipelines: z
      .array(pipelineSchema)
      .min(1)
      .describe('The pipelines this agent runs. Required, at least one; names must be unique.'),
  })
  .superRefine(checkConfig, { when: () => true })
  .describe('A Weir configuration file.');

export type WeirConfig = z.output<typeof weirConfigSchema>;
/** The config as written in the file, before defaults. */
export type WeirConfigInput = z.input<typeof weirConfigSchema>;
export type AgentConfig = WeirConfig['agent'];
export type PipelineConfig = z.output<typeof pipelineSchema>;
export type KafkaSourceConfig = PipelineConfig['source'];
export type FieldTypeName = z.output<typeof fieldTypeNameSchema>;
export type FieldSpec = z.output<typeof fieldSpecSchema>;
export type FieldObjectSpec = z.output<typeof fieldObjectBase>;
export type TransformConfig = z.output<typeof transformSchema>;
export type ConvertTarget = z.output<typeof convertTargetSchema>;
export type ComputeSpec = z.output<typeof computeSpecSchema>;
export type LookupConfig = z.output<typeof lookupBase>;
export type LookupFieldSpec = z.output<typeof lookupFieldSchema>;
export type ClickHouseSinkConfig = z.output<typeof clickHouseSinkSchema>;
export type TlsConfig = z.output<typeof tlsBase>;
/** The TLS files every connection's tls section has. */
export type TlsFilesConfig = Pick<TlsConfig, 'ca_file' | 'cert_file' | 'key_file'>;
export type SaslConfig = z.output<typeof saslBase>;
export type RetryConfig = z.output<typeof retryBase>;
export type DedupConfig = NonNullable<PipelineConfig['dedup']>;
export type JoinConfig = NonNullable<PipelineConfig['join']>;
export type AggregateConfig = NonNullable<PipelineConfig['aggregate']>;
export type KafkaCompression = (typeof kafkaCompressions)[number];

export { outputFields, sinkFields, joinFields, joinOutputs, fieldTypeOf } from './output-fields.ts';
