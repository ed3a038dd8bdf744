import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  weirConfigSchema,
  type ClickHouseSinkConfig,
  type FieldSpec,
  type FieldTypeName,
  type KafkaCompression,
  type KafkaSourceConfig,
  type PipelineConfig,
  type TransformConfig,
  type WeirConfig,
  type WeirConfigInput,
} from './schema.ts';
import { minimalConfig, minimalPipeline } from './testing.ts';

function parse(input: unknown) {
  return weirConfigSchema.safeParse(input, { reportInput: true });
}

/** The issues as `path: message` strings, for compact assertions. */
function issues(input: unknown): string[] {
  const r = parse(input);
  assert.equal(r.success, false, 'expected the config to be rejected');
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

function withPipeline(overrides: Parameters<typeof minimalPipeline>[0]): WeirConfigInput {
  return minimalConfig(minimalPipeline(overrides));
}

test('fills every default of the contract', () => {
  const r = parse(minimalConfig());
  assert.ok(r.success);
  const { agent, pipelines } = r.data;
  assert.deepEqual(agent, {
    http: { host: '0.0.0.0', port: 8090 },
    log_level: 'info',
    shutdown_timeout_ms: 30000,
    stall_timeout_ms: 60000,
    telemetry: {
      tracing: { enabled: true, sample_ratio: 1, service_name: 'weir' },
      lag_interval_ms: 5000,
    },
  });
  const [p] = pipelines;
  assert.ok(p);
  assert.deepEqual(p.source, {
    brokers: ['127.0.0.1:9092'],
    topics: ['orders'],
    group_id: 'weir-orders',
    client_id: 'weir',
    start_from: 'earliest',
    session_timeout_ms: 10000,
    connection_timeout_ms: 5000,
    max_bytes_per_partition: 1048576,
    max_record_bytes: 8 * 1024 * 1024,
    max_in_flight_records: 200000,
    max_in_flight_bytes: 64 * 1024 * 1024,
  });
  assert.deepEqual(p.transforms, []);
  assert.deepEqual(p.dead_letter, { topic: 'weir.orders.dlq', compression: 'gzip' });
  assert.deepEqual(p.sink.clickhouse, {
    url: 'http://127.0.0.1:8123',
    username: 'default',
    password: '',
    database: 'default',
    table: 'orders',
    batch: { max_rows: 50000, max_bytes: 16777216, max_delay_ms: 1000 },
    async_insert: false,
    request_timeout_ms: 30000,
    retry: { initial_ms: 250, max_ms: 10000 },
    settings: {},
    exactly_once: {
      mode: 'preferred',
      nats: { servers: ['127.0.0.1:4222'], timeout_ms: 5000, bucket: 'weir_ledger' },
    },
  });
});

test('keeps snake_case keys, shorthand fields, and explicit values over defaults', () => {
  const r = parse(
    withPipeline({
      source: { brokers: ['k:9092'], topics: ['t'], group_id: 'g', tls: {} },
      schema: { fields: { a: 'string', b: { type: 'array', items: 'integer' } } },
      dead_letter: { topic: 'dlq' },
    }),
  );
  assert.ok(r.success);
  const p = r.data.pipelines[0]!;
  assert.equal(p.source.group_id, 'g');
  assert.deepEqual(p.source.tls, { enabled: true, reject_unauthorized: true });
  assert.equal(p.dead_letter.topic, 'dlq');
  assert.deepEqual(p.schema.fields, {
    a: 'string',
    b: { type: 'array', items: 'integer', from: 'value', nullable: false, format: 'auto' },
  });
});

test('accepts each transform form', () => {
  const r = parse(
    withPipeline({
      transforms: [
        { filter: 'amount > 0' },
        { rename: { amount: 'total' } },
        { convert: { total: 'string', id: { to: 'string' } } },
        { compute: { a: 'total', b: { expr: '1', type: 'integer', nullable: true } } },
        { drop: ['a'] },
      ],
    }),
  );
  assert.ok(r.success, JSON.stringify(r.error?.issues));
});

test('rejects unknown keys everywhere, by name', () => {
  const found = issues({
    ...withPipeline({
      source: { brokers: ['k:9092'], topics: ['t'], topcs: ['x'] } as never,
      sink: { clickhouse: { table: 't', batch: { max_row: 1 } } } as never,
    }),
    extra: 1,
  });
  assert.ok(found.includes('pipelines.0.source: Unrecognized key: "topcs"'), found.join('\n'));
  assert.ok(found.includes('pipelines.0.sink.clickhouse.batch: Unrecognized key: "max_row"'));
  assert.ok(found.includes(': Unrecognized key: "extra"'));
});

test('needs at least one pipeline with unique names and consumer groups', () => {
  assert.deepEqual(issues({ pipelines: [] }).length, 1);
  const dup = issues(minimalConfig(minimalPipeline(), minimalPipeline()));
  assert.deepEqual(dup, ['pipelines.1.name: duplicate pipeline name "orders" (also pipelines[0])']);
  const group = issues(
    minimalConfig(
      minimalPipeline({ source: { brokers: ['k:9092'], topics: ['a'], group_id: 'g' } }),
      minimalPipeline({ name: 'b', source: { brokers: ['k:9092'], topics: ['b'], group_id: 'g' } }),
    ),
  );
  assert.deepEqual(group, [
    'pipelines.1.source.group_id: consumer group "g" is also used by pipelines[0]',
  ]);
});

test('checks names, brokers, topics and URLs', () => {
  const found = issues(
    withPipeline({
      name: 'Orders!',
      source: { brokers: ['localhost', 'h:99999', '[::1]:9092', 'k:9092'], topics: ['bad topic'] },
      sink: { clickhouse: { table: 'my-table', url: 'ftp://x' } },
    }),
  );
  assert.deepEqual(
    found,
    [
      'name: invalid pipeline name "Orders!"',
      'source.brokers.0: invalid broker address "localhost"',
      'source.brokers.1: invalid broker address "h:99999"',
      'source.topics.0: invalid Kafka topic name "bad topic"',
      'sink.clickhouse.url: invalid URL "ftp://x"',
      'sink.clickhouse.table: invalid table name "my-table"',
    ].map((s) => `pipelines.0.${s}`),
  );
});

test('field rules: items iff array, values iff map, header iff from header', () => {
  const found = issues(
    withPipeline({
      schema: {
        fields: {
          a: { type: 'array' },
          b: { type: 'string', items: 'string' },
          c: { type: 'map' },
          d: { type: 'string', from: 'header' },
          e: { type: 'string', header: 'x' },
          f: { type: 'string', from: 'key', path: 'x' },
          g: { type: 'integer', format: 'epoch_ms' },
        },
      },
    }),
  ).map((s) => s.replace('pipelines.0.schema.fields.', ''));
  assert.deepEqual(found, [
    'a.items: missing items: required when type is array',
    'b.items: items is only allowed when type is array',
    'c.values: missing values: required when type is map',
    'd.header: missing header: required when from is header',
    'e.header: header is only allowed when from is header',
    'f.path: path is only allowed with from: value (this field is from: key)',
    'g.format: format epoch_ms applies only to datetime and date fields',
  ]);
});

test('field rules: metadata fields have fixed types', () => {
  const ok = parse(
    withPipeline({
      schema: {
        fields: {
          k: { type: 'string', from: 'key', nullable: true },
          t: { type: 'string', from: 'topic' },
          p: { type: 'integer', from: 'partition' },
          o: { type: 'string', from: 'offset' },
          ts: { type: 'datetime', from: 'timestamp' },
          h: { type: 'string', from: 'header', header: 'trace' },
        },
      },
    }),
  );
  assert.ok(ok.success, JSON.stringify(ok.error?.issues));
  assert.deepEqual(
    issues(withPipeline({ schema: { fields: { p: { type: 'string', from: 'partition' } } } })),
    ['pipelines.0.schema.fields.p.type: from: partition always gives integer, not string'],
  );
});

test('field rules: default must fit the type', () => {
  const fields = {
    a: { type: 'integer', default: 1.5 },
    b: { type: 'uuid', default: 'nope' },
    c: { type: 'string', default: null },
    d: { type: 'array', items: 'integer', default: [1, 'x'] },
    e: { type: 'datetime', default: 'not a date' },
    ok1: { type: 'string', default: null, nullable: true },
    ok2: { type: 'map', values: 'number', default: { x: 1.5 } },
    ok3: { type: 'datetime', default: '2024-01-01T00:00:00Z' },
    ok4: { type: 'json', default: { any: ['thing'] } },
  } as const;
  assert.deepEqual(
    issues(withPipeline({ schema: { fields } })).map((s) =>
      s.replace('pipelines.0.schema.fields.', ''),
    ),
    [
      'a.default: default number 1.5 is not a valid integer',
      'b.default: default string "nope" is not a valid uuid',
      'c.default: default is null but the field is not nullable',
      'd.default: default a list is not a valid array<integer>',
      'e.default: default string "not a date" is not a valid datetime',
    ],
  );
});

test('transforms may only name fields that exist at that point', () => {
  const found = issues(
    withPipeline({
      transforms: [
        { rename: { amount: 'total', nope: 'x' } },
        { convert: { amount: 'string' } },
        { convert: { total: { to: 'integer', format: 'epoch_s' } } },
        { drop: ['id', 'id'] },
        { rename: { total: 'c' } },
        { compute: { c: '1' } },
      ],
    }),
  ).map((s) => s.replace('pipelines.0.transforms.', ''));
  assert.deepEqual(found, [
    '0.rename.nope: transform 0 renames unknown field "nope"',
    '1.convert.amount: transform 1 converts unknown field "amount"',
    '2.convert.total.format: format applies only to conversions to datetime or date, not integer',
    '3.drop.1: transform 3 drops unknown field "id"',
  ]);
  assert.deepEqual(issues(withPipeline({ transforms: [{ rename: { id: 'amount' } }] })), [
    'pipelines.0.transforms.0.rename.id: transform 0 renames "id" to "amount", which already exists',
  ]);
  assert.deepEqual(issues(withPipeline({ transforms: [{ drop: ['id', 'amount'] }] })), [
    'pipelines.0.transforms: the transforms remove every field',
  ]);
});

test('sink columns and create_table.order_by must name output fields', () => {
  const found = issues(
    withPipeline({
      schema: { fields: { id: 'uuid', note: { type: 'string', nullable: true } } },
      transforms: [{ compute: { guess: 'id' } }],
      sink: {
        clickhouse: {
          table: 't',
          columns: { order_id: 'id', n: 'note', g: 'guess', x: 'missing' },
          create_table: { order_by: ['order_id', 'id', 'n'] },
        },
      },
    }),
  ).map((s) => s.replace('pipelines.0.sink.clickhouse.', ''));
  assert.deepEqual(found, [
    'columns.x: column "x" takes unknown field "missing"',
    'create_table.order_by.1: sorting key "id" is not a column of the table',
    'create_table.order_by.2: sorting key "n" is nullable; ClickHouse does not allow that by default',
    'create_table: column "g" has no known type to create it with (field "guess" is computed without a type)',
  ]);
});

test('other cross-field rules: TLS key pair, retry bounds, dead-letter loop', () => {
  const found = issues(
    withPipeline({
      source: { brokers: ['k:9092'], topics: ['orders'], tls: { cert_file: 'c.pem' } },
      sink: { clickhouse: { table: 't', retry: { initial_ms: 500, max_ms: 100 } } },
      dead_letter: { topic: 'orders' },
    }),
  );
  assert.deepEqual(found, [
    'pipelines.0.source.tls.key_file: missing key_file: cert_file and key_file go together',
    'pipelines.0.sink.clickhouse.retry.max_ms: max_ms (100) is below initial_ms (500)',
    'pipelines.0.dead_letter.topic: dead-letter topic "orders" is also a source topic',
  ]);
});

test('cross-field rules still run when an unrelated option is invalid', () => {
  const found = issues(
    withPipeline({
      transforms: [{ drop: ['nope'] }],
      sink: { clickhouse: { table: 't', batch: { max_rows: -1 } } },
    }),
  );
  assert.equal(found.length, 2, found.join('\n'));
  assert.ok(found.some((s) => s.startsWith('pipelines.0.transforms.0.drop.0:')));
  assert.ok(found.some((s) => s.startsWith('pipelines.0.sink.clickhouse.batch.max_rows:')));
});

test('inferred types follow the contract (checked by tsc)', () => {
  type Is<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
  type Pipeline = WeirConfig['pipelines'][number];
  const checks: [
    Is<Pipeline['source']['group_id'], string>,
    Is<Pipeline['dead_letter'], { topic: string; compression: KafkaCompression }>,
    Is<KafkaSourceConfig['start_from'], 'earliest' | 'latest'>,
    Is<ClickHouseSinkConfig['columns'], Record<string, string> | undefined>,
    Is<ClickHouseSinkConfig['settings'], Record<string, string | number | boolean>>,
    Is<Extract<FieldSpec, string>, FieldTypeName>,
    Is<Extract<TransformConfig, { drop: unknown }>, { drop: string[] }>,
    Is<PipelineConfig, Pipeline>,
  ] = [true, true, true, true, true, true, true, true];
  assert.ok(checks.every(Boolean));
});

test('SASL: a user and a password for plain and scram, one token source for oauthbearer', () => {
  const sasl = (s: object) =>
    issues(
      withPipeline({
        source: { brokers: ['k:9092'], topics: ['orders'], sasl: s as { mechanism: 'plain' } },
      }),
    );
  assert.deepEqual(sasl({ mechanism: 'plain', username: 'weir' }), [
    'pipelines.0.source.sasl.password: missing password: plain needs a user name and a password',
  ]);
  assert.deepEqual(
    sasl({ mechanism: 'oauthbearer', username: 'weir', token_file: '/t', token_env: 'T' }),
    [
      'pipelines.0.source.sasl.username: username does not apply to oauthbearer',
      'pipelines.0.source.sasl.token_file: set token_file or token_env, not both',
    ],
  );
  assert.deepEqual(sasl({ mechanism: 'oauthbearer' }), [
    'pipelines.0.source.sasl.token_file: oauthbearer needs a token: set token_file or token_env',
  ]);
  assert.deepEqual(
    sasl({ mechanism: 'scram-sha-256', username: 'u', password: 'p', token_env: 'T' }),
    ['pipelines.0.source.sasl.token_env: token_env applies only to oauthbearer'],
  );
  const ok = parse(
    withPipeline({
      source: {
        brokers: ['k:9092'],
        topics: ['orders'],
        sasl: { mechanism: 'oauthbearer', token_env: 'KAFKA_TOKEN' },
      },
    }),
  );
  assert.equal(ok.success, true);
});

test('TLS for NATS (dedup, join, exactly-once) and ClickHouse: one set of file options', () => {
  const tls = { ca_file: 'ca.pem', cert_file: 'c.pem', key_file: 'k.pem' };
  const r = parse(
    withPipeline({
      dedup: {
        key: 'id',
        window: '1h',
        nats: { servers: ['n:4223'], tls: { ...tls, server_name: 'nats.internal' } },
      },
      sink: {
        clickhouse: {
          url: 'https://ch:8443',
          table: 't',
          tls,
          exactly_once: { mode: 'required', nats: { tls: { ca_file: 'ca.pem' } } },
        },
      },
    }),
  );
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  const p = r.data.pipelines[0]!;
  assert.deepEqual(p.dedup?.nats.tls, { ...tls, server_name: 'nats.internal' });
  assert.deepEqual(p.sink.clickhouse.tls, tls);
  assert.deepEqual(p.sink.clickhouse.exactly_once.nats.tls, { ca_file: 'ca.pem' });
  // No section, no TLS options.
  const plain = parse(minimalConfig());
  assert.ok(plain.success);
  assert.equal(plain.data.pipelines[0]!.sink.clickhouse.tls, undefined);
  assert.equal(plain.data.pipelines[0]!.sink.clickhouse.exactly_once.nats.tls, undefined);
});

test('TLS rules: a key pair goes together everywhere, ClickHouse TLS needs https', () => {
  const found = issues(
    withPipeline({
      dedup: { key: 'id', window: '1h', nats: { tls: { key_file: 'k.pem' } } },
      sink: {
        clickhouse: {
          url: 'http://ch:8123',
          table: 't',
          tls: { ca_file: 'ca.pem' },
          exactly_once: {
            nats: {
              tls: { cert_file: 'c.pem', reject_unauthorized: false } as { cert_file: string },
            },
          },
        },
      },
    }),
  );
  assert.deepEqual(found.sort(), [
    'pipelines.0.dedup.nats.tls.cert_file: missing cert_file: cert_file and key_file go together',
    'pipelines.0.sink.clickhouse.exactly_once.nats.tls.key_file: missing key_file: cert_file and key_file go together',
    'pipelines.0.sink.clickhouse.exactly_once.nats.tls: Unrecognized key: "reject_unauthorized"',
    'pipelines.0.sink.clickhouse.tls: tls applies only to an https:// url',
  ]);
});
