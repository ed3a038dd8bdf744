import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { weirConfigSchema } from './schema.ts';
import { isSecretAt, knownKeys, schemaAt, secretPathsOf, unwrap, walkOptions } from './walk.ts';

test('unwrap peels optional, default and prefault, keeping the outer description', () => {
  const s = z.number().describe('inner').default(3).describe('outer').optional();
  const info = unwrap(s);
  assert.ok(info.core instanceof z.ZodNumber);
  assert.equal(info.optional, true);
  assert.equal(info.hasDefault, true);
  assert.equal(info.defaultValue, 3);
  assert.equal(info.meta.description, 'outer');
});

test('schemaAt follows objects, lists, records, unions and pipes', () => {
  const at = (...path: PropertyKey[]) => {
    const s = schemaAt(weirConfigSchema, path);
    return s && unwrap(s).meta.description;
  };
  assert.match(
    at('pipelines', 0, 'sink', 'clickhouse', 'batch', 'max_rows') ?? '',
    /this many rows/,
  );
  assert.match(at('pipelines', 3, 'schema', 'fields', 'any_name', 'items') ?? '', /elements/);
  assert.match(at('pipelines', 0, 'transforms', 2, 'rename') ?? '', /Renames/);
  assert.equal(at('pipelines', 0, 'nope'), undefined);
});

test('knownKeys lists an object’s keys and every key of a union of objects', () => {
  assert.deepEqual(knownKeys(schemaAt(weirConfigSchema, ['agent'])!), [
    'http',
    'log_level',
    'shutdown_timeout_ms',
    'stall_timeout_ms',
    'telemetry',
  ]);
  assert.deepEqual(knownKeys(schemaAt(weirConfigSchema, ['pipelines', 0, 'transforms', 0])!), [
    'filter',
    'rename',
    'convert',
    'compute',
    'drop',
    'ingest_time',
    'lookup',
  ]);
});

test('walkOptions visits documented paths; secrets are found by meta', () => {
  const paths: string[] = [];
  walkOptions(weirConfigSchema, (path) => paths.push(path));
  for (const expected of [
    'agent.http.port',
    'pipelines',
    'pipelines[].sink.clickhouse.batch.max_rows',
    'pipelines[].schema.fields.<field>.type',
    'pipelines[].transforms[]',
    'pipelines[].transforms[].convert.<field>.to',
  ])
    assert.ok(paths.includes(expected), expected);
  assert.equal(new Set(paths).size, paths.length, 'no path visited twice');
  assert.deepEqual(secretPathsOf(weirConfigSchema), [
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
  assert.equal(
    isSecretAt(weirConfigSchema, ['pipelines', 1, 'sink', 'clickhouse', 'password']),
    true,
  );
  assert.equal(
    isSecretAt(weirConfigSchema, ['pipelines', 1, 'sink', 'clickhouse', 'username']),
    false,
  );
});
