import { test } from 'node:test';
import assert from 'node:assert/strict';
import { weirConfigSchema } from './schema.ts';
import { MASK, isSecretPath, redactConfig, secretPaths } from './secrets.ts';
import { minimalConfig, minimalPipeline } from './testing.ts';

test('secretPaths lists the passwords', () => {
  assert.deepEqual(secretPaths, [
    'agent.http.token',
    'pipelines[].source.sasl.password',
    'pipelines[].sink.clickhouse.password',
    'pipelines[].sink.clickhouse.exactly_once.nats.password',
    'pipelines[].sink.clickhouse.exactly_once.nats.token',
    'pipelines[].dedup.nats.password',
    'pipelines[].dedup.nats.token',
    'pipelines[].join.nats.password',
    'pipelines[].join.nats.token',
  ]);
  assert.equal(isSecretPath(['pipelines', 0, 'source', 'sasl', 'password']), true);
  assert.equal(isSecretPath(['pipelines', 0, 'source', 'sasl', 'username']), false);
});

test('redactConfig masks every non-empty secret and leaves the rest, without mutating', () => {
  const config = weirConfigSchema.parse(
    minimalConfig(
      minimalPipeline({
        source: {
          brokers: ['k:9092'],
          topics: ['a'],
          sasl: { mechanism: 'plain', username: 'u', password: 'kafka-secret' },
        },
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
