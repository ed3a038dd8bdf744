import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modernEncoding } from './encode-context.ts';
import { WeirError } from '../../core/errors.ts';
import { encoderFor } from './encode.ts';
import { parseChType } from './types.ts';
import { enc, rejects, field } from './testing.ts';

test('null into a non-Nullable column names the column; Nullable writes null', () => {
  rejects(
    enc('String', 'string', { column: 'name' }),
    null,
    'null_in_non_nullable',
    /column "name" String/,
  );
  rejects(enc('UInt8', 'integer'), undefined, 'null_in_non_nullable');
  assert.equal(enc('Nullable(String)', 'string')(null), 'null');
  assert.equal(enc('Nullable(String)', 'string')(undefined), 'null');
  assert.equal(enc('LowCardinality(Nullable(String))', 'string')(null), 'null');
  assert.equal(enc('Nullable(UInt8)', 'integer')(7), '7');
});

test('Array: elements encoded with the item type, nested paths in messages', () => {
  const a = enc('Array(UInt8)', { kind: 'array', items: { kind: 'integer' } });
  assert.equal(a([1, 2, 3]), '[1,2,3]');
  assert.equal(a([]), '[]');
  rejects(a, [1, 300], 'out_of_range', /column "c\[\]" UInt8/);
  rejects(a, [1, null], 'null_in_non_nullable');
  rejects(a, 'x', 'type_mismatch', /expected an array/);
  assert.equal(enc('Array(Nullable(String))')(['a', null]), '["a",null]');
  assert.equal(enc('Array(Array(Int32))')([[1], [2, 3]]), '[[1],[2,3]]');
  // A nullable array field writes null as empty: ClickHouse arrays cannot be Nullable.
  const nullable = encoderFor(
    parseChType('Array(String)'),
    field({ kind: 'array', items: { kind: 'string' } }, true),
  );
  assert.equal(nullable(null), '[]');
  rejects(
    enc('Array(String)', { kind: 'array', items: { kind: 'string' } }),
    null,
    'null_in_non_nullable',
  );
});

test('Map: keys as JSON strings, values with the map value type', () => {
  const m = enc('Map(String, UInt32)', { kind: 'map', values: { kind: 'integer' } });
  assert.equal(m({ a: 1, 'b"': 2 }), '{"a":1,"b\\"":2}');
  assert.equal(m({}), '{}');
  rejects(m, { a: -1 }, 'out_of_range', /column "c\{\}" UInt32/);
  rejects(m, [1], 'type_mismatch', /expected an object/);
  const numericKeys = enc('Map(UInt64, String)');
  assert.equal(numericKeys({ 5: 'v' }), '{"5":"v"}');
  rejects(numericKeys, { x: 'v' }, 'type_mismatch', /column "c\{key\}"/);
  assert.equal(enc('Map(LowCardinality(String), Array(String))')({ k: ['x'] }), '{"k":["x"]}');
});

test('Tuple: arrays for positional tuples; named tuples as objects or arrays per server', () => {
  assert.equal(enc('Tuple(Int32, String)')([1, 'x']), '[1,"x"]');
  rejects(enc('Tuple(Int32, String)'), [1], 'type_mismatch', /expected 2 elements/);
  rejects(enc('Tuple(Int32, String)'), { a: 1 }, 'type_mismatch');
  rejects(enc('Tuple(Int32, String)'), ['x', 'y'], 'type_mismatch', /column "c\.1" Int32/);
  const named = enc('Tuple(a Int32, b Nullable(String))', 'json');
  assert.equal(named({ b: 'z', a: 3 }), '{"a":3,"b":"z"}');
  assert.equal(named([3, null]), '{"a":3,"b":null}');
  const old = enc('Tuple(a Int32, b String)', 'json', {
    features: { ...modernEncoding, namedTuplesAsObjects: false },
  });
  assert.equal(old({ b: 'z', a: 3 }), '[3,"z"]');
  rejects(named, { b: 'z' }, 'null_in_non_nullable', /column "c\.a"/);
});

test('unsupported types refuse to build; Nothing holds only null', () => {
  assert.throws(() => enc('AggregateFunction(uniq, String)'), WeirError);
  rejects(enc('Nullable(Nothing)'), 1, 'type_mismatch');
  assert.equal(enc('Nullable(Nothing)')(null), 'null');
});
