import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../core/errors.ts';
import { InvalidConfigError, formatPath, formatProblem, problemsFromIssues } from './problems.ts';
import { weirConfigSchema } from './schema.ts';
import { minimalConfig, minimalPipeline } from './testing.ts';

/** Every problem of a config as printed lines. */
function lines(input: unknown): string[] {
  const r = weirConfigSchema.safeParse(input, { reportInput: true });
  assert.equal(r.success, false);
  return problemsFromIssues(r.error.issues).map(formatProblem);
}

const withPipeline = (o: Parameters<typeof minimalPipeline>[0]) =>
  minimalConfig(minimalPipeline(o));

test('formatPath writes indexes in brackets and quotes odd keys', () => {
  assert.equal(
    formatPath(['pipelines', 0, 'sink', 'clickhouse', 'batch', 'max_rows']),
    'pipelines[0].sink.clickhouse.batch.max_rows',
  );
  assert.equal(
    formatPath(['pipelines', 0, 'schema', 'fields', 'order-id']),
    'pipelines[0].schema.fields["order-id"]',
  );
  assert.equal(formatPath([]), '(top level)');
});

test('formatProblem: fix, did-you-mean, or a location instead of a path', () => {
  assert.equal(formatProblem({ path: ['a'], problem: 'bad', fix: 'do x' }), 'a: bad (fix: do x)');
  assert.equal(
    formatProblem({ path: ['a'], problem: 'unknown key "b"', didYouMean: 'c' }),
    'a: unknown key "b" (did you mean "c"?)',
  );
  assert.equal(
    formatProblem({ path: [], location: 'line 2, column 3', problem: 'oops' }),
    'line 2, column 3: oops',
  );
});

test('InvalidConfigError is a ConfigError listing one problem per line', () => {
  const err = new InvalidConfigError('x.yaml', [
    { path: ['a'], problem: 'p1', fix: 'f1' },
    { path: ['b'], problem: 'p2', fix: 'f2' },
  ]);
  assert.ok(err instanceof ConfigError);
  assert.equal(
    err.message,
    'invalid config x.yaml (2 problems):\na: p1 (fix: f1)\nb: p2 (fix: f2)',
  );
  assert.equal(err.problems.length, 2);
});

test('wrong types say what was expected, what was found, and how to write it', () => {
  const found = lines(
    withPipeline({
      source: { brokers: 'k:9092', topics: ['t'], session_timeout_ms: '100' } as never,
      sink: {
        clickhouse: {
          table: 7,
          async_insert: 'yes',
          batch: { max_rows: 'ten', max_delay_ms: 1.5 },
        },
      } as never,
    }),
  );
  assert.deepEqual(found, [
    'pipelines[0].source.brokers: expected a list, got string "k:9092" (fix: write a list, e.g. brokers: ["k:9092"])',
    'pipelines[0].source.session_timeout_ms: expected a number, got string "100" (fix: write the number without quotes)',
    'pipelines[0].sink.clickhouse.table: expected a string, got number 7 (fix: put the value in quotes: "7")',
    'pipelines[0].sink.clickhouse.batch.max_rows: expected a number, got string "ten" (fix: write a number, e.g. max_rows: 50000)',
    'pipelines[0].sink.clickhouse.batch.max_delay_ms: expected an integer, got number 1.5 (fix: use a whole number)',
    'pipelines[0].sink.clickhouse.async_insert: expected true or false, got string "yes" (fix: write true or false, without quotes)',
  ]);
});

test('missing options, ranges and empty lists', () => {
  const found = lines({
    agent: { http: { port: 70000 } },
    pipelines: [
      {
        name: 'a',
        source: { brokers: [], topics: ['t'] },
        schema: { fields: { a: 'string' } },
        sink: { clickhouse: {} },
      },
    ],
  });
  assert.deepEqual(found, [
    'agent.http.port: must be at most 65535, got number 70000 (fix: use a number at most 65535)',
    'pipelines[0].source.brokers: must not be an empty list (fix: add at least one item)',
    'pipelines[0].sink.clickhouse.table: missing required option (fix: add table: <a string> \u2014 The table rows are inserted into)',
  ]);
  assert.deepEqual(
    lines(withPipeline({ sink: { clickhouse: { table: 't', password: null } } } as never)),
    [
      'pipelines[0].sink.clickhouse.password: has no value (expected a string) (fix: give a value, or remove password to use its default)',
    ],
  );
});

test('unknown keys and enum values suggest the closest name', () => {
  const found = lines({
    agent: { log_level: 'verbose', htpp: {} },
    pipelines: [
      minimalPipeline({
        source: { brokers: ['k:9092'], topics: ['t'], start_from: 'earlist', zzz: 1 } as never,
      }),
    ],
  });
  assert.deepEqual(found, [
    'agent.log_level: expected one of "trace", "debug", "info", "warn" or "error", got string "verbose" (fix: use one of "trace", "debug", "info", "warn" or "error")',
    'agent: unknown key "htpp" (did you mean "http"?)',
    'pipelines[0].source.start_from: expected "earliest" or "latest", got string "earlist" (did you mean "earliest"?)',
    'pipelines[0].source: unknown key "zzz" (fix: remove it; valid keys here: brokers, topics, group_id, client_id, start_from, sasl, tls, session_timeout_ms, connection_timeout_ms, max_bytes_per_partition, max_record_bytes, max_in_flight_records, max_in_flight_bytes)',
  ]);
});

test('unions report the form that was meant, or the forms there are', () => {
  const found = lines(
    withPipeline({
      schema: { fields: { a: 'strng', b: { type: 'string', nulable: true }, c: 3 } } as never,
      transforms: [
        { renam: { a: 'b' } },
        { rename: { a: 1 } },
        { filter: 'x', drop: ['a'] },
        'drop a',
      ] as never,
      sink: { clickhouse: { table: 't', settings: { s: { nested: 1 } } } },
    } as never),
  );
  assert.deepEqual(found, [
    'pipelines[0].schema.fields.a: expected one of "string", "integer", "number", "boolean", "datetime", "date", "uuid" or "json", got string "strng" (did you mean "string"?)',
    'pipelines[0].schema.fields.b: unknown key "nulable" (did you mean "nullable"?)',
    'pipelines[0].schema.fields.c: expected a name (string, integer, number, boolean, datetime, date, uuid, json) or a mapping, got number 3 (fix: write a type name (e.g. string) or an object with at least type: <type name>)',
    'pipelines[0].transforms[0]: unknown key "renam" (did you mean "rename"?)',
    'pipelines[0].transforms[1].rename.a: expected a string, got number 1 (fix: put the value in quotes: "1")',
    'pipelines[0].transforms[2]: does not match any accepted form (got keys filter, drop) (fix: write each transform as a one-key object: filter, rename, convert, compute, drop, ingest_time or lookup)',
    'pipelines[0].transforms[3]: expected a mapping, got string "drop a" (fix: write each transform as a one-key object: filter, rename, convert, compute, drop, ingest_time or lookup)',
    'pipelines[0].sink.clickhouse.settings.s: expected a string, a number or true/false, got an object (fix: write a string, a number or true/false)',
  ]);
});

test('invalid names in records and rule problems carry their fix', () => {
  const found = lines(
    withPipeline({
      schema: { fields: { 'order-id': 'uuid' } },
      transforms: [{ drop: ['nope'] }],
    }),
  );
  assert.deepEqual(found, [
    'pipelines[0].schema.fields["order-id"]: invalid field name "order-id" (fix: use letters, digits and underscores, starting with a letter or underscore)',
  ]);
  assert.deepEqual(lines(withPipeline({ transforms: [{ drop: ['amont'] }] })), [
    'pipelines[0].transforms[0].drop[0]: transform 0 drops unknown field "amont" (fix: did you mean "amount"? fields at this point: id, amount)',
  ]);
});

test('secret values never appear in problems', () => {
  const found = lines(
    withPipeline({
      source: {
        brokers: ['k:9092'],
        topics: ['t'],
        sasl: { mechanism: 'plain', username: 'u', password: 918273645 },
      },
      sink: { clickhouse: { table: 't', password: ['hunter2'] } },
    } as never),
  ).join('\n');
  assert.ok(!found.includes('918273645'), found);
  assert.ok(!found.includes('hunter2'), found);
  assert.match(
    found,
    /sasl\.password: expected a string, got a number \(value hidden\) \(fix: put the value in quotes\)/,
  );
});

test('agent.http.token: short or spaced tokens are refused without quoting them; empty is none', () => {
  const tokenLines = (token: string) => lines({ ...minimalConfig(), agent: { http: { token } } });
  assert.deepEqual(tokenLines('hunter2hunter2'), [
    'agent.http.token: the API token is shorter than 16 characters (fix: use at least 16 letters and digits, e.g. from: openssl rand -hex 32)',
  ]);
  const spaced = tokenLines('correct horse battery staple').join('\n');
  assert.match(spaced, /^agent\.http\.token: the API token contains a space, a line break/);
  assert.ok(!spaced.includes('horse'), spaced);
  const ok = weirConfigSchema.parse({ ...minimalConfig(), agent: { http: { token: '' } } });
  assert.equal(ok.agent.http.token, '');
});
