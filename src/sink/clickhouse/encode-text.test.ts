import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enc, rejects } from './testing.ts';

test('String: strings escaped, json fields as JSON text, untyped values as JSON text', () => {
  assert.equal(enc('String', 'string')('a"b\n\u0000'), JSON.stringify('a"b\n\u0000'));
  rejects(
    enc('String', 'string'),
    5,
    'type_mismatch',
    /column "c" String: expected a string, got 5/,
  );
  assert.equal(enc('String', 'json')({ a: [1, 'x'] }), JSON.stringify('{"a":[1,"x"]}'));
  assert.equal(enc('String', 'json')('s'), JSON.stringify('"s"'));
  assert.equal(enc('String', 'json')(3), '"3"');
  assert.equal(enc('String')('plain'), '"plain"');
  assert.equal(enc('String')({ a: 1 }), JSON.stringify('{"a":1}'));
  assert.equal(enc('String')(true), '"true"');
  rejects(enc('String'), 10n, 'type_mismatch');
  assert.equal(enc('LowCardinality(String)', 'string')('x'), '"x"');
});

test('FixedString: byte length checked in UTF-8', () => {
  const e = enc('FixedString(4)', 'string');
  assert.equal(e('ab'), '"ab"');
  assert.equal(e('ééx'.slice(0, 2)), '"éé"');
  rejects(e, 'éé€', 'out_of_range', /longer than 4 bytes/);
  rejects(e, 'abcde', 'out_of_range');
});

test('UUID: validated, normalised to lowercase dashed form', () => {
  const u = enc('UUID', 'uuid');
  assert.equal(u('01234567-89ab-cdef-0123-456789abcdef'), '"01234567-89ab-cdef-0123-456789abcdef"');
  assert.equal(u('01234567-89AB-CDEF-0123-456789ABCDEF'), '"01234567-89ab-cdef-0123-456789abcdef"');
  assert.equal(u('0123456789abcdef0123456789abcdef'), '"01234567-89ab-cdef-0123-456789abcdef"');
  rejects(u, 'nope', 'type_mismatch', /expected a UUID/);
  assert.equal(
    enc('String', 'uuid')('01234567-89ab-cdef-0123-456789abcdef'),
    '"01234567-89ab-cdef-0123-456789abcdef"',
  );
});

test('IPv4 / IPv6', () => {
  assert.equal(enc('IPv4', 'string')('10.0.0.1'), '"10.0.0.1"');
  rejects(enc('IPv4', 'string'), '::1', 'type_mismatch');
  rejects(enc('IPv4', 'string'), '1.2.3.400', 'type_mismatch');
  assert.equal(enc('IPv6', 'string')('::1'), '"::1"');
  assert.equal(enc('IPv6', 'string')('1.2.3.4'), '"1.2.3.4"');
});

test('Enum: written as its name, numbers mapped to names', () => {
  const e = enc("Enum8('a' = 1, 'b c' = -2)", 'string');
  assert.equal(e('a'), '"a"');
  assert.equal(e('b c'), '"b c"');
  assert.equal(e(-2), '"b c"');
  rejects(e, 'zz', 'invalid_enum', /not a value of the enum, got "zz"/);
  rejects(e, 3, 'invalid_enum');
});

test('JSON columns take objects', () => {
  const j = enc('JSON', 'json');
  assert.equal(j({ a: { b: 1 } }), '{"a":{"b":1}}');
  rejects(j, [1], 'type_mismatch');
  rejects(j, '{"a":1}', 'type_mismatch');
  assert.equal(enc("Object('json')", 'json')({ x: 1 }), '{"x":1}');
});
