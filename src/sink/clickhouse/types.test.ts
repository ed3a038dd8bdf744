import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chTypeToString, findUnsupported, isNullable, parseChType, unwrap } from './types.ts';

test('chTypeToString round-trips canonical spellings', () => {
  for (const s of [
    'String',
    'FixedString(4)',
    'UInt128',
    'Float64',
    'Decimal(38, 10)',
    'Bool',
    "DateTime('Europe/Berlin')",
    "DateTime64(6, 'UTC')",
    'DateTime64(3)',
    "Enum8('a' = 1, 'b\\'c' = 2)",
    'LowCardinality(Nullable(String))',
    'Map(String, Array(Nullable(Int64)))',
    'Tuple(a Int32, `b c` String)',
    'Tuple(Int32, String)',
    "Object('json')",
    'Nullable(Nothing)',
    'AggregateFunction(uniq, String)',
  ]) {
    assert.equal(chTypeToString(parseChType(s)), s);
  }
});

test('helpers: unwrap, isNullable, findUnsupported', () => {
  assert.deepEqual(unwrap(parseChType('LowCardinality(Nullable(String))')), { kind: 'String' });
  assert.equal(isNullable(parseChType('LowCardinality(Nullable(String))')), true);
  assert.equal(isNullable(parseChType('Nullable(UInt8)')), true);
  assert.equal(isNullable(parseChType('Array(Nullable(UInt8))')), false);
  assert.equal(
    findUnsupported(parseChType('Map(String, Tuple(a Int32, b IntervalDay))'))?.kind,
    'Unknown',
  );
  assert.equal(findUnsupported(parseChType('Nullable(Nothing)'))?.kind, 'Nothing');
  assert.equal(findUnsupported(parseChType('Map(String, Array(UInt8))')), undefined);
});
