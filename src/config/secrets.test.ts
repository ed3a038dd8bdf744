import { test } from 'node:test';
import assert from 'node:assert/strict';
import { weirConfigSchema } from './schema.ts';
import { MASK, isSecretPath, redactConfig, secretPaths, secretValues } from './secrets.ts';
import { minimalConfig, minimalPipeline } from './testing.ts';

test('secretPaths lists the passwords', () => {
  assert.deepEqual(secretPaths, [
    'agent.http.token',
    'pipelines[].source.sasl.password',
    'pipelines[].transforms[].lookup.from.clickhouse.password',
    'pipelines[].transforms[].lookup.from.http.headers.<name>',
    'pipelines[].sink.clickhouse.password',
    'pipelines[].sink.clickhouse.exactly_once.nats.password',
    'pipelines[].sink.clickhouse.exactly_once.nats.token',
    'pipelines[].dedup.nats.password',
    'pipelines[].dedup.nats.token',
    'pipelines[].join.nats.password',
    'pipelines[].join.nats.token',
    'pipelines[].aggregate.nats.password',
    'pipelines[].aggregate.nats.token',
  ]);
  assert.equal(isSecretPath(['pipelines', 0, 'source', 'sasl', 'password']), true);
  assert.equal(isSecretPath(['pipelines', 0, 'source', 'sasl', 'username']), false);
});

const saslSource = {
  brokers: ['k:9092'],
  topics: ['a'],
  sasl: { mechanism: 'plain' as const, username: 'u', password: 'kafka-secret' },
};

test('redactConfig masks every non-empty secret and leaves the rest, without mutating', () => {
  const config = weirConfigSchema.parse(
    minimalConfig(
      minimalPipeline({
        source: saslSource,
        sink: { clickhouse: { table: 't', password: 'ch-secret' } },
      }),
      minimalPipeline({ name: 'b', source: { brokers: ['k:9092'], topics: ['b'] } }),
    ),
  );
  const safe = redactConfig(config);
  const text = JSON.stringify(safe);
  assert.ok(!text.includes('kafka-secret') && !text.includes('ch-secret'));
  assert.equal(safe.pipelines[0]?.source.sasl?.password, MASK);
  assert.equal(safe.pipelines[0]?.sink.clickhouse.password, MASK);
  assert.equal(safe.pipelines[1]?.sink.clickhouse.password, '', 'an empty password stays empty');
  assert.equal(safe.pipelines[0]?.source.sasl?.username, 'u');
  assert.equal(config.pipelines[0]?.sink.clickhouse.password, 'ch-secret');
});

test('secretValues lists every secret of a config: options, URL credentials, OTLP headers', () => {
  const nats = (servers: string[], more: Record<string, string> = {}) => ({
    servers,
    bucket: 'b',
    ...more,
  });
  const config = weirConfigSchema.parse(
    minimalConfig(
      minimalPipeline({
        source: saslSource,
        sink: {
          clickhouse: {
            table: 't',
            url: 'http://weir:ch%40url-secret@ch:8123',
            exactly_once: { nats: nats(['nats://ledger-t0ken@n:4222'], { token: 'tok-secret' }) },
          },
        },
        dedup: {
          key: 'id',
          window: '1h',
          nats: nats(['u:dedup-url-secret@n:4222'], { user: 'u', password: 'nats-secret' }),
        },
      }),
    ),
  );
  const values = secretValues(config, {
    OTEL_EXPORTER_OTLP_HEADERS: 'api-key=otlp-secret, x-team = Bearer%20abc',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel:endpoint-secret@collector/v1/traces',
    OTEL_SERVICE_NAME: 'not-a-secret',
    WEIR_API_TOKEN: 'api-token-secret',
  });
  for (const secret of [
    'kafka-secret',
    'tok-secret',
    'nats-secret',
    'ch@url-secret',
    'ledger-t0ken',
    'dedup-url-secret',
    'otlp-secret',
    'Bearer%20abc',
    'Bearer abc',
    'endpoint-secret',
    'api-token-secret',
  ])
    assert.ok(values.includes(secret), secret);
  for (const plain of ['weir', 'u', 'not-a-secret', 'api-key', 'x-team'])
    assert.ok(!values.includes(plain), plain);
});
