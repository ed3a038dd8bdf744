import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChType } from './type-parser.ts';

test('parses scalar types', () => {
  assert.deepEqual(parseChType('String'), { kind: 'String' });
  assert.deepEqual(parseChType('FixedString(16)'), { kind: 'FixedString', length: 16 });
  assert.deepEqual(parseChType('UInt64'), { kind: 'Int', name: 'UInt64', bits: 64, signed: false });
  assert.deepEqual(parseChType('Int8'), { kind: 'Int', name: 'Int8', bits: 8, signed: true });
  assert.deepEqual(parseChType('Int256'), { kind: 'Int', name: 'Int256', bits: 256, signed: true });
  assert.deepEqual(parseChType('Float32'), { kind: 'Float', bits: 32 });
  assert.deepEqual(parseChType('Bool'), { kind: 'Bool' });
  assert.deepEqual(parseChType('UUID'), { kind: 'UUID' });
  assert.deepEqual(parseChType('Date32'), { kind: 'Date32' });
  assert.deepEqual(parseChType('IPv6'), { kind: 'IPv6' });
  assert.deepEqual(parseChType('Nothing'), { kind: 'Nothing' });
});

test('parses decimals in every spelling', () => {
  assert.deepEqual(parseChType('Decimal(18, 4)'), { kind: 'Decimal', precision: 18, scale: 4 });
  assert.deepEqual(parseChType('Decimal(10)'), { kind: 'Decimal', precision: 10, scale: 0 });
  assert.deepEqual(parseChType('Decimal32(2)'), { kind: 'Decimal', precision: 9, scale: 2 });
  assert.deepEqual(parseChType('Decimal64(6)'), { kind: 'Decimal', precision: 18, scale: 6 });
  assert.deepEqual(parseChType('Decimal128(10)'), { kind: 'Decimal', precision: 38, scale: 10 });
  assert.deepEqual(parseChType('Decimal256(20)'), { kind: 'Decimal', precision: 76, scale: 20 });
});

test('parses date-times with and without time zones', () => {
  assert.deepEqual(parseChType('DateTime'), { kind: 'DateTime' });
  assert.deepEqual(parseChType("DateTime('Asia/Tokyo')"), {
    kind: 'DateTime',
    timezone: 'Asia/Tokyo',
  });
  assert.deepEqual(parseChType('DateTime64(3)'), { kind: 'DateTime64', precision: 3 });
  assert.deepEqual(parseChType("DateTime64(9, 'UTC')"), {
    kind: 'DateTime64',
    precision: 9,
    timezone: 'UTC',
  });
});

test('parses enums with quotes, escapes and negative values', () => {
  assert.deepEqual(parseChType("Enum8('a' = 1, 'b' = -2)"), {
    kind: 'Enum',
    bits: 8,
    values: [
      { name: 'a', value: 1 },
      { name: 'b', value: -2 },
    ],
  });
  const t = parseChType("Enum16('x y' = -300, 'q\\'z' = 5, 'it''s' = 6)");
  assert.equal(t.kind, 'Enum');
  if (t.kind === 'Enum')
    assert.deepEqual(
      t.values.map((v) => v.name),
      ['x y', "q'z", "it's"],
    );
});

test('parses wrappers and containers', () => {
  assert.deepEqual(parseChType('Nullable(Int32)'), {
    kind: 'Nullable',
    inner: { kind: 'Int', name: 'Int32', bits: 32, signed: true },
  });
  assert.deepEqual(parseChType('LowCardinality(Nullable(String))'), {
    kind: 'LowCardinality',
    inner: { kind: 'Nullable', inner: { kind: 'String' } },
  });
  assert.deepEqual(parseChType('Array(Array(Nullable(Float64)))'), {
    kind: 'Array',
    element: { kind: 'Array', element: { kind: 'Nullable', inner: { kind: 'Float', bits: 64 } } },
  });
  assert.deepEqual(parseChType('Map(LowCardinality(String), Array(UInt8))'), {
    kind: 'Map',
    key: { kind: 'LowCardinality', inner: { kind: 'String' } },
    value: { kind: 'Array', element: { kind: 'Int', name: 'UInt8', bits: 8, signed: false } },
  });
});

test('parses positional and named tuples', () => {
  assert.deepEqual(parseChType('Tuple(Int32, String)'), {
    kind: 'Tuple',
    elements: [
      { type: { kind: 'Int', name: 'Int32', bits: 32, signed: true } },
      { type: { kind: 'String' } },
    ],
  });
  assert.deepEqual(parseChType('Tuple(\n    a Int32,\n    `b c` Array(String))'), {
    kind: 'Tuple',
    elements: [
      { name: 'a', type: { kind: 'Int', name: 'Int32', bits: 32, signed: true } },
      { name: 'b c', type: { kind: 'Array', element: { kind: 'String' } } },
    ],
  });
  // An element may be named like a type.
  const t = parseChType('Tuple(String String)');
  assert.deepEqual(t, { kind: 'Tuple', elements: [{ name: 'String', type: { kind: 'String' } }] });
});

test('parses JSON and Object(json)', () => {
  assert.deepEqual(parseChType('JSON'), { kind: 'JSON', spelling: 'JSON' });
  assert.deepEqual(parseChType("Object('json')"), { kind: 'JSON', spelling: "Object('json')" });
  assert.deepEqual(parseChType('JSON(max_dynamic_paths=10, a.b UInt32)'), {
    kind: 'JSON',
    spelling: 'JSON(max_dynamic_paths=10, a.b UInt32)',
  });
  assert.equal(parseChType("Object('other')").kind, 'Unknown');
});

test('SimpleAggregateFunction is written as its argument type', () => {
  assert.deepEqual(parseChType('SimpleAggregateFunction(sum, UInt64)'), {
    kind: 'Int',
    name: 'UInt64',
    bits: 64,
    signed: false,
  });
});

test('unknown and malformed types become Unknown nodes', () => {
  assert.deepEqual(parseChType('AggregateFunction(uniq, String)'), {
    kind: 'Unknown',
    text: 'AggregateFunction(uniq, String)',
  });
  assert.deepEqual(parseChType('Array(Variant(String, UInt64))'), {
    kind: 'Array',
    element: { kind: 'Unknown', text: 'Variant(String, UInt64)' },
  });
  assert.deepEqual(parseChType('Array(String'), { kind: 'Unknown', text: 'Array(String' });
  assert.deepEqual(parseChType('String junk'), { kind: 'Unknown', text: 'String junk' });
  assert.deepEqual(parseChType(''), { kind: 'Unknown', text: '' });
  assert.deepEqual(parseChType('Dynamic'), { kind: 'Unknown', text: 'Dynamic' });
});
