import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, describeError } from '../core/errors.ts';
import { clearSecrets } from '../core/redact.ts';
import { formatOf, loadConfig, parseConfigText, validateConfig } from './load.ts';
import { InvalidConfigError } from './problems.ts';
import { minimalConfig } from './testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'weir-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The error `fn` throws, checked to be a ConfigError. */
function failure(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

const minimalYaml = `
pipelines:
  - name: orders
    source: { brokers: ["127.0.0.1:9092"], topics: [orders] }
    schema: { fields: { id: uuid } }
    sink: { clickhouse: { table: orders } }
`;

test('loads YAML and JSON by extension and fills defaults', () => {
  const fromYaml = loadConfig(file('a.yaml', minimalYaml), {});
  const fromYml = loadConfig(file('a.yml', minimalYaml), {});
  const fromJson = loadConfig(file('a.json', JSON.stringify(minimalConfig())), {});
  for (const c of [fromYaml, fromYml, fromJson]) {
    assert.equal(c.agent.http.port, 8090);
    assert.equal(c.pipelines[0]?.source.group_id, 'weir-orders');
    assert.equal(c.pipelines[0]?.dead_letter.topic, 'weir.orders.dlq');
    assert.equal(c.pipelines[0]?.sink.clickhouse.batch.max_rows, 50000);
  }
  assert.deepEqual(fromYaml, fromYml);
  assert.equal(validateConfig(minimalConfig()).pipelines[0]?.name, 'orders');
});

test('a missing, unreadable or unsupported file is one clear line', () => {
  const missing = failure(() => loadConfig(join(dir, 'nope.yaml')));
  assert.match(missing.message, /^config file not found: .*nope\.yaml$/);
  assert.match(describeError(missing), /\(fix: check the path/);
  const folder = join(dir, 'folder.yaml');
  mkdirSync(folder);
  assert.match(
    failure(() => loadConfig(folder)).message,
    /^config path is a directory, not a file: /,
  );
  const txt = failure(() => formatOf('weir.toml'));
  assert.equal(
    describeError(txt),
    'cannot tell the format of config file "weir.toml" (fix: name it *.yaml, *.yml or *.json)',
  );
  for (const e of [missing, txt]) assert.ok(!e.message.includes('\n'));
});

test('YAML syntax errors give line and column, never the line’s text', () => {
  const err = failure(() =>
    parseConfigText(
      'pipelines:\n  - name: a\n    password: hunter2 x: 1\n',
      'yaml',
      {},
      'bad.yaml',
    ),
  );
  assert.ok(err instanceof InvalidConfigError);
  const [first] = err.message.split('\n').slice(1);
  assert.equal(
    first,
    'line 3, column 15: Nested mappings are not allowed in compact mappings (fix: put each key on its own line, or quote a value containing ": ")',
  );
  assert.ok(!err.message.includes('hunter2'));
  const flow = failure(() => parseConfigText('agent:\n  http: { port: ${PORT} }\n', 'yaml', {}));
  assert.deepEqual(flow.message.split('\n').slice(1), [
    'line 2, column 18: Unexpected flow-map-start at node end (fix: inside { } or [ ], put a value containing ${...} in quotes: "${VAR}")',
  ]);
  const dup = failure(() => parseConfigText('agent: {}\nagent: {}\n', 'yaml', {}));
  assert.match(
    dup.message,
    /line 2, column 1: Map keys must be unique \(fix: remove or rename one of the two keys\)/,
  );
});

test('JSON syntax errors give line and column, never the text', () => {
  const a = failure(() => parseConfigText('{\n  "a": 1,\n  "b": 2,\n}', 'json', {}, 'x.json'));
  assert.match(
    a.message,
    /^invalid config x\.json \(1 problem\):\nline 4, column 1: .+ \(fix: check commas, quotes and brackets near there\)$/,
  );
  const b = failure(() => parseConfigText('{"password": secret123}', 'json', {}));
  assert.match(b.message, /line 1, column 14: Unexpected token/);
  assert.ok(!b.message.includes('secret123'));
});

test('an empty file or a non-mapping top level is reported', () => {
  assert.match(
    failure(() => parseConfigText('', 'yaml', {})).message,
    /\(top level\): the config is empty/,
  );
  assert.match(
    failure(() => parseConfigText('- a\n', 'yaml', {})).message,
    /\(top level\): expected a mapping of keys to values, got a list/,
  );
});

test('interpolates ${VAR} and ${VAR:-default}; numbers and booleans from the environment', () => {
  const text = `
agent:
  http:
    port: \${PORT}
pipelines:
  - name: orders
    source: { brokers: ["\${KAFKA:-127.0.0.1:9092}"], topics: [orders] }
    schema: { fields: { id: uuid } }
    sink:
      clickhouse:
        table: orders
        password: \${CH_PASSWORD}
        username: "$\${literal}"
        async_insert: \${ASYNC:-true}
        batch: { max_rows: "\${ROWS:-100}" }
`;
  const c = parseConfigText(text, 'yaml', { PORT: '9000', CH_PASSWORD: '12345' });
  assert.equal(c.agent.http.port, 9000);
  assert.deepEqual(c.pipelines[0]?.source.brokers, ['127.0.0.1:9092']);
  const ch = c.pipelines[0]?.sink.clickhouse;
  assert.equal(ch?.password, '12345', 'a string option stays a string');
  assert.equal(ch?.username, '${literal}');
  assert.equal(ch?.async_insert, true);
  assert.equal(ch?.batch.max_rows, 100);
});

test('an unset variable is an error naming it and where it is used', () => {
  const text = `
pipelines:
  - name: orders
    source: { brokers: ["\${KAFKA_BROKER}"], topics: [orders] }
    schema: { fields: { id: uuid } }
    sink: { clickhouse: { table: orders, password: "\${CH_PASSWORD}" } }
`;
  const err = failure(() => parseConfigText(text, 'yaml', {}, 'demo.yaml'));
  assert.equal(
    err.message,
    [
      'invalid config demo.yaml (2 problems):',
      'pipelines[0].source.brokers[0]: environment variable KAFKA_BROKER is not set (fix: set KAFKA_BROKER, or give a default: ${KAFKA_BROKER:-<value>})',
      'pipelines[0].sink.clickhouse.password: environment variable CH_PASSWORD is not set (fix: set CH_PASSWORD, or give a default: ${CH_PASSWORD:-<value>})',
    ].join('\n'),
    'the empty broker left behind is not reported a second time',
  );
});

test('a bad file lists every problem, one per line, with path and fix', () => {
  const path = file(
    'bad.yaml',
    `
agent: { log_levl: debug }
pipelines:
  - name: orders
    source:
      brokers: [localhost]
      topcs: [orders]
      sasl: { mechanism: plain, username: u, password: 918273645 }
    schema:
      fields:
        id: strng
        tags: { type: array }
    transforms:
      - renam: { id: order_id }
    sink:
      clickhouse:
        table: orders
        password: \${CH_PASSWORD}
        batch: { max_rows: ten }
`,
  );
  const err = failure(() => loadConfig(path, {}));
  assert.ok(err instanceof InvalidConfigError);
  const lines = err.message.split('\n');
  assert.equal(lines[0], `invalid config ${path} (10 problems):`);
  for (const line of [
    'pipelines[0].sink.clickhouse.batch.max_rows: expected a number, got string "ten" (fix: write a number, e.g. max_rows: 50000)',
    'pipelines[0].source: unknown key "topcs" (did you mean "topics"?)',
    'pipelines[0].source.topics: missing required option (fix: add topics: <a list> \u2014 Topics to consume)',
    'agent: unknown key "log_levl" (did you mean "log_level"?)',
    'pipelines[0].source.brokers[0]: invalid broker address "localhost" (fix: write host:port, e.g. 127.0.0.1:9092, one list item per broker)',
    'pipelines[0].schema.fields.id: expected one of "string", "integer", "number", "boolean", "datetime", "date", "uuid" or "json", got string "strng" (did you mean "string"?)',
    'pipelines[0].schema.fields.tags.items: missing items: required when type is array (fix: add items: <type>, e.g. items: string)',
    'pipelines[0].transforms[0]: unknown key "renam" (did you mean "rename"?)',
    'pipelines[0].sink.clickhouse.password: environment variable CH_PASSWORD is not set (fix: set CH_PASSWORD, or give a default: ${CH_PASSWORD:-<value>})',
    'pipelines[0].source.sasl.password: expected a string, got a number (value hidden) (fix: put the value in quotes)',
  ])
    assert.ok(lines.includes(line), `missing line:\n${line}\nin:\n${err.message}`);
  assert.equal(lines.length, 11);
  assert.ok(!err.message.includes('918273645'));
});

test('a loaded config registers its secrets: whatever is printed afterwards masks them', () => {
  const yaml = minimalYaml.replace('table: orders', 'table: orders, password: "${CH_PW}"');
  try {
    loadConfig(file('secret.yaml', yaml), { CH_PW: 'loaded-secret' });
    assert.equal(
      describeError(new Error('login with loaded-secret failed')),
      'login with *** failed',
    );
  } finally {
    clearSecrets();
  }
});

test('URL credentials are not echoed in errors; a password in url and password is refused', () => {
  const bad = failure(() =>
    validateConfig(
      minimalConfig({
        ...minimalConfig().pipelines[0]!,
        sink: { clickhouse: { table: 'orders', url: 'http://u:pw-in-url@bad host' } },
        dedup: { key: 'id', window: '1h', nats: { servers: ['nats://u:pw2-in-url@bad host'] } },
      }),
    ),
  );
  assert.match(describeError(bad), /invalid URL "http:\/\/\*\*\*@bad host"/);
  assert.match(describeError(bad), /invalid NATS server "nats:\/\/\*\*\*@bad host"/);
  assert.doesNotMatch(describeError(bad), /pw-in-url|pw2-in-url/);
  const both = failure(() =>
    validateConfig(
      minimalConfig({
        ...minimalConfig().pipelines[0]!,
        sink: { clickhouse: { table: 'orders', url: 'http://u:pw@ch:8123', password: 'other' } },
      }),
    ),
  );
  assert.match(
    describeError(both),
    /sink\.clickhouse\.password: both url and password give a password \(fix: keep one/,
  );
});

test('values read from the environment are not echoed in errors', () => {
  const text = JSON.stringify({
    pipelines: [
      {
        ...minimalConfig().pipelines[0],
        sink: { clickhouse: { table: 'orders', password: '${PW}', batch: { max_rows: '${PW}' } } },
      },
    ],
  });
  const err = failure(() => parseConfigText(text, 'json', { PW: 'topsecret' }));
  assert.ok(!err.message.includes('topsecret'), err.message);
  assert.match(
    err.message,
    /batch\.max_rows: expected a number, got a string \(value hidden\) \(fix: write a number, e\.g\. max_rows: 50000\)/,
  );
});
