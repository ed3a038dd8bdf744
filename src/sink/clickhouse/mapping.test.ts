import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldInfo, FieldType } from '../../core/fields.ts';
import { RecordError } from '../../core/errors.ts';
import {
  fieldTypeFor,
  incompatibility,
  makeRowSerializer,
  planMapping,
  type ColumnDesc,
} from './mapping.ts';
import { parseChType } from './types.ts';

const col = (name: string, type: string, defaultKind = ''): ColumnDesc => ({
  name,
  type,
  defaultKind,
});
const f = (name: string, kind: FieldType['kind'] | FieldType, nullable = false): FieldInfo => ({
  name,
  type: typeof kind === 'string' ? ({ kind } as FieldType) : kind,
  nullable,
});

test('maps fields to same-named columns and serialises rows', () => {
  const columns = [
    col('id', 'UInt64'),
    col('name', 'LowCardinality(String)'),
    col('ts', "DateTime('UTC')"),
    col('note', 'Nullable(String)'),
    col('tags', 'Array(String)'),
    col('inserted', 'DateTime', 'DEFAULT'),
  ];
  const fields = [
    f('id', 'integer'),
    f('name', 'string'),
    f('ts', 'datetime'),
    f('note', 'string', true),
    f('tags', { kind: 'array', items: { kind: 'string' } }, true),
  ];
  const { plan, problems } = planMapping(columns, fields);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    plan.map((p) => [p.column, p.field]),
    [
      ['id', 'id'],
      ['name', 'name'],
      ['ts', 'ts'],
      ['note', 'note'],
      ['tags', 'tags'],
    ],
  );
  const line = makeRowSerializer(plan)({
    id: 7,
    name: 'a"b',
    ts: Date.UTC(2024, 0, 2, 3, 4, 5),
    note: null,
    tags: null,
  });
  assert.equal(line, '{"id":7,"name":"a\\"b","ts":1704164645,"note":null,"tags":[]}\n');
  assert.deepEqual(JSON.parse(line), { id: 7, name: 'a"b', ts: 1704164645, note: null, tags: [] });
});

test('explicit mapping uses only the listed pairs', () => {
  const { plan, problems } = planMapping(
    [col('user_id', 'UInt32'), col('extra', 'String', 'DEFAULT')],
    [f('uid', 'integer'), f('unused', 'string')],
    { user_id: 'uid' },
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(
    plan.map((p) => [p.column, p.field]),
    [['user_id', 'uid']],
  );
  assert.equal(makeRowSerializer(plan)({ uid: 3, unused: 'x' }), '{"user_id":3}\n');
});

test('reports every problem, each naming field, column, type and fix', () => {
  const columns = [
    col('age', 'UInt32'),
    col('note', 'String'),
    col('lc', 'LowCardinality(String)'),
    col('required', 'Int64'),
    col('total', 'Float64', 'MATERIALIZED'),
    col('alias', 'String', 'ALIAS'),
    col('agg', 'AggregateFunction(uniq, String)'),
    col('when', 'DateTime'),
    col('UserId', 'UInt64', 'DEFAULT'),
    col('maybe', 'Nullable(String)'),
  ];
  const fields = [
    f('age', 'string'),
    f('note', 'string', true),
    f('lc', 'string', true),
    f('total', 'number'),
    f('alias', 'string'),
    f('agg', 'any'),
    f('when', 'string'),
    f('userid', 'integer'),
    f('orphan', 'boolean'),
  ];
  const { plan, problems } = planMapping(columns, fields);
  assert.deepEqual(plan, []);
  assert.deepEqual(problems, [
    'field "userid" (integer) has no column in the table: add a column "userid", map it with sink.clickhouse.columns, or remove it with a `drop` transform (did you mean "UserId"?)',
    'field "orphan" (boolean) has no column in the table: add a column "orphan", map it with sink.clickhouse.columns, or remove it with a `drop` transform',
    'field "age" (string) cannot go into column "age" UInt32: add a `convert` transform to integer',
    'field "note" (string) is nullable but column "note" String is not: change the column to Nullable(String), or make the field non-nullable with a default',
    'field "lc" (string) is nullable but column "lc" LowCardinality(String) is not: change the column to LowCardinality(Nullable(String)), or make the field non-nullable with a default',
    'column "required" Int64 has no default and no field goes into it: add a field "required", map one to it with sink.clickhouse.columns, or give the column a DEFAULT',
    'field "total" (number) targets column "total" Float64, which is MATERIALIZED (computed by ClickHouse) and cannot be inserted: rename the field or remove it with a `drop` transform',
    'field "alias" (string) targets column "alias" String, which is ALIAS (computed by ClickHouse) and cannot be inserted: rename the field or remove it with a `drop` transform',
    'field "agg" (any) targets column "agg" AggregateFunction(uniq, String), and Weir cannot write ClickHouse type AggregateFunction(uniq, String): change the column type or rename the field or remove it with a `drop` transform',
    'field "when" (string) cannot go into column "when" DateTime: declare the field as datetime (with a `format`) or add a `convert` transform to datetime, so the time is parsed once, in UTC',
  ]);
});

test('explicit mapping reports unknown columns and fields', () => {
  const { problems } = planMapping(
    [col('a', 'String'), col('m', 'String', 'MATERIALIZED')],
    [f('x', 'string')],
    {
      A: 'x',
      a: 'y',
      m: 'x',
    },
  );
  assert.deepEqual(problems, [
    'sink.clickhouse.columns maps field "x" to column "A", which the table does not have: add the column or fix the name (did you mean "a"?)',
    'sink.clickhouse.columns maps column "a" to field "y", which the pipeline does not produce: declare it in schema.fields (or compute it) or fix the name',
    'field "x" (string) targets column "m" String, which is MATERIALIZED (computed by ClickHouse) and cannot be inserted: remove column "m" from sink.clickhouse.columns',
  ]);
});

test('compatibility table', () => {
  const ok = (ft: FieldType | FieldType['kind'], ch: string): boolean =>
    incompatibility(typeof ft === 'string' ? ({ kind: ft } as FieldType) : ft, parseChType(ch)) ===
    undefined;
  for (const ch of [
    'String',
    'FixedString(8)',
    'LowCardinality(String)',
    "Enum8('a' = 1)",
    'UUID',
    'IPv4',
    'IPv6',
  ]) {
    assert.ok(ok('string', ch), ch);
  }
  for (const ch of ['Date', 'DateTime', 'DateTime64(3)', 'UInt8', 'Float64', 'JSON'])
    assert.ok(!ok('string', ch), ch);
  for (const ch of ['Int8', 'UInt256', 'Float32', 'Decimal(10, 2)', 'Nullable(Int64)'])
    assert.ok(ok('integer', ch), ch);
  assert.ok(!ok('integer', 'String'));
  assert.ok(!ok('integer', 'DateTime'));
  for (const ch of ['Float64', 'Decimal(10, 2)', 'Int32']) assert.ok(ok('number', ch), ch);
  for (const ch of ['Bool', 'UInt8', 'Int8']) assert.ok(ok('boolean', ch), ch);
  assert.ok(!ok('boolean', 'UInt16'));
  for (const ch of ['DateTime', "DateTime64(3, 'UTC')", 'Date', 'Date32']) {
    assert.ok(ok('datetime', ch), ch);
    assert.ok(ok('date', ch), ch);
  }
  assert.ok(ok('uuid', 'UUID'));
  assert.ok(ok('uuid', 'String'));
  assert.ok(!ok('uuid', 'FixedString(16)'));
  for (const ch of ['String', 'JSON', "Object('json')", 'Tuple(a Int32)'])
    assert.ok(ok('json', ch), ch);
  assert.ok(ok({ kind: 'array', items: { kind: 'integer' } }, 'Array(Nullable(UInt8))'));
  assert.ok(!ok({ kind: 'array', items: { kind: 'string' } }, 'Array(UInt8)'));
  assert.ok(
    ok({ kind: 'map', values: { kind: 'number' } }, 'Map(LowCardinality(String), Float64)'),
  );
  assert.ok(!ok({ kind: 'map', values: { kind: 'number' } }, 'Map(UInt64, Float64)'));
  for (const ch of [
    'Map(UInt8, Array(String))',
    'Tuple(Int8)',
    'AggregateFunction(uniq, String)',
  ]) {
    assert.ok(ok('any', ch), ch);
  }
  assert.equal(
    incompatibility({ kind: 'array', items: { kind: 'string' } }, parseChType('Array(UInt8)')),
    'declare the field as array<integer>',
  );
  assert.equal(
    fieldTypeFor(parseChType('Map(String, Array(Nullable(Decimal(9, 2))))')),
    'map<array<number>>',
  );
});

test('a nullable field may go into an Array or Map column (null is written empty)', () => {
  const { problems, plan } = planMapping(
    [col('m', 'Map(String, UInt8)')],
    [f('m', { kind: 'map', values: { kind: 'integer' } }, true)],
  );
  assert.deepEqual(problems, []);
  assert.equal(makeRowSerializer(plan)({ m: null }), '{"m":{}}\n');
});

test('nullable columns, DEFAULT and EPHEMERAL columns are not required', () => {
  const { problems } = planMapping(
    [
      col('a', 'Nullable(String)'),
      col('b', 'String', 'DEFAULT'),
      col('c', 'String', 'EPHEMERAL'),
      col('x', 'String'),
    ],
    [f('x', 'string')],
  );
  assert.deepEqual(problems, []);
});

test('the serializer surfaces the encoder error for a bad record', () => {
  const { plan } = planMapping([col('n', 'UInt8')], [f('n', 'any')]);
  const serialize = makeRowSerializer(plan);
  assert.equal(serialize({ n: 1 }), '{"n":1}\n');
  assert.throws(
    () => serialize({ n: 1000 }),
    (err: unknown) => err instanceof RecordError && err.reason === 'out_of_range',
  );
  assert.equal(makeRowSerializer([])({}), '{}\n');
});
