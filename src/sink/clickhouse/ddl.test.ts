import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../core/errors.ts';
import type { FieldInfo, FieldType } from '../../core/fields.ts';
import { columnTypeFor, createTableSql, plannedColumns, type DdlFeatures } from './ddl.ts';

const old: DdlFeatures = {
  version: '18.16.1',
  supportsBool: false,
  supportsDateTime64: false,
  supportsMap: false,
};
const modern: DdlFeatures = {
  version: '26.7.2.1',
  supportsBool: true,
  supportsDateTime64: true,
  supportsMap: true,
};
const f = (name: string, type: FieldType, nullable = false): FieldInfo => ({
  name,
  type,
  nullable,
});

const fields: FieldInfo[] = [
  f('id', { kind: 'integer' }),
  f('ts', { kind: 'datetime' }),
  f('name', { kind: 'string' }, true),
  f('ok', { kind: 'boolean' }),
  f('tags', { kind: 'array', items: { kind: 'string' } }, true),
  f('day', { kind: 'date' }),
  f('u', { kind: 'uuid' }),
  f('payload', { kind: 'json' }),
  f('score', { kind: 'number' }, true),
];

test('types for an old server', () => {
  assert.equal(
    createTableSql({
      database: 'db',
      table: 'events',
      fields,
      engine: 'MergeTree',
      orderBy: ['id', 'ts'],
      partitionBy: 'toYYYYMM(ts)',
      server: old,
    }),
    [
      'CREATE TABLE IF NOT EXISTS `db`.`events`',
      '(',
      '    `id` Int64,',
      '    `ts` DateTime,',
      '    `name` Nullable(String),',
      '    `ok` UInt8,',
      '    `tags` Array(String),',
      '    `day` Date,',
      '    `u` UUID,',
      '    `payload` String,',
      '    `score` Nullable(Float64)',
      ')',
      'ENGINE = MergeTree',
      'PARTITION BY toYYYYMM(ts)',
      'ORDER BY (`id`, `ts`)',
    ].join('\n'),
  );
});

test('types for a current server', () => {
  assert.equal(columnTypeFor(f('ok', { kind: 'boolean' }), modern), 'Bool');
  assert.equal(
    columnTypeFor(f('ts', { kind: 'datetime' }, true), modern),
    'Nullable(DateTime64(3))',
  );
  assert.equal(
    columnTypeFor(f('m', { kind: 'map', values: { kind: 'number' } }, true), modern),
    'Map(String, Float64)',
  );
  assert.equal(
    columnTypeFor(
      f('a', { kind: 'array', items: { kind: 'array', items: { kind: 'boolean' } } }),
      modern,
    ),
    'Array(Array(Bool))',
  );
});

test('engine passed through; ORDER BY only for MergeTree engines', () => {
  const sql = createTableSql({
    database: 'db',
    table: 't',
    fields: [f('id', { kind: 'integer' })],
    engine: "ReplicatedMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}')",
    orderBy: ['id'],
    partitionBy: 'id',
    server: old,
  });
  assert.match(
    sql,
    /ENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/db\/t', '\{replica\}'\)\nPARTITION BY `id`\nORDER BY `id`$/,
  );
  const memory = createTableSql({
    database: 'db',
    table: 't',
    fields: [f('id', { kind: 'integer' })],
    engine: 'Memory',
    orderBy: ['id'],
    server: old,
  });
  assert.ok(memory.endsWith('ENGINE = Memory'));
  const noKey = createTableSql({
    database: 'db',
    table: 't',
    fields: [f('id', { kind: 'integer' })],
    engine: 'MergeTree',
    orderBy: [],
    server: old,
  });
  assert.ok(noKey.endsWith('ORDER BY tuple()'));
});

test('explains what it cannot create', () => {
  assert.throws(
    () => columnTypeFor(f('m', { kind: 'map', values: { kind: 'string' } }), old),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(
        err.describe(),
        /ClickHouse 18\.16\.1 has no Map type \(fix: create the table yourself/,
      );
      return true;
    },
  );
  assert.throws(() => columnTypeFor(f('x', { kind: 'any' }), modern), /no declared type/);
  assert.throws(
    () =>
      createTableSql({
        database: 'db',
        table: 't',
        fields: [f('n', { kind: 'string' }, true)],
        engine: 'MergeTree',
        orderBy: ['n'],
        server: modern,
      }),
    /nullable; ClickHouse cannot sort by a Nullable column/,
  );
});

test('the planned columns are the ones CREATE TABLE makes (checked before the table exists)', () => {
  const planned = plannedColumns(fields, old);
  assert.deepEqual(
    planned.map((c) => c.name),
    fields.map((x) => x.name),
  );
  for (const c of planned) assert.equal(c.defaultKind, '');
  const sql = createTableSql({
    database: 'db',
    table: 't',
    fields,
    engine: 'MergeTree',
    orderBy: ['id'],
    server: old,
  });
  for (const c of planned)
    assert.ok(sql.includes(`\`${c.name}\` ${c.type}`), `${c.name} ${c.type}`);
});
