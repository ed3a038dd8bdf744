import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enc, rejects } from './testing.ts';

test('integers: range per width, no exponents, strings and bigints for wide types', () => {
  const u8 = enc('UInt8', 'integer');
  assert.equal(u8(0), '0');
  assert.equal(u8(255), '255');
  assert.equal(u8(-0), '0');
  rejects(u8, 256, 'out_of_range', /outside 0\.\.255/);
  rejects(u8, -1, 'out_of_range');
  rejects(u8, 1.5, 'type_mismatch', /expected an integer/);
  rejects(u8, 'x', 'type_mismatch');
  assert.equal(u8(true), '1');
  assert.equal(enc('Int8', 'boolean')(false), '0');
  rejects(enc('Int32'), true, 'type_mismatch');
  const i8 = enc('Int8');
  assert.equal(i8(-128), '-128');
  rejects(i8, 128, 'out_of_range');
  const i64 = enc('Int64', 'integer');
  assert.equal(i64(-9007199254740991), '-9007199254740991');
  assert.equal(i64(2 ** 60), '1152921504606846976');
  rejects(i64, 2 ** 63, 'out_of_range');
  assert.equal(i64(-(2 ** 63)), '-9223372036854775808');
  assert.equal(i64('-9223372036854775808'), '-9223372036854775808');
  rejects(i64, '9223372036854775808', 'out_of_range');
  assert.equal(i64(123n), '123');
  const u64 = enc('UInt64');
  assert.equal(u64('18446744073709551615'), '18446744073709551615');
  rejects(u64, -1n, 'out_of_range');
  const u256 = enc('UInt256');
  assert.equal(u256(1e30), '1000000000000000019884624838656');
  assert.equal(u256(String(2n ** 256n - 1n)), String(2n ** 256n - 1n));
  rejects(u256, String(2n ** 256n), 'out_of_range');
  const i128 = enc('Int128');
  assert.equal(i128(String(-(2n ** 127n))), String(-(2n ** 127n)));
  rejects(enc('UInt32', 'number'), 0.1, 'type_mismatch');
});

test('floats: plain numbers, nan/inf as ClickHouse words, Float32 range', () => {
  const f64 = enc('Float64', 'number');
  assert.equal(f64(1.5), '1.5');
  assert.equal(f64(1e21), '1e+21');
  assert.equal(f64(NaN), '"nan"');
  assert.equal(f64(Infinity), '"inf"');
  assert.equal(f64(-Infinity), '"-inf"');
  rejects(f64, '1.5', 'type_mismatch');
  const f32 = enc('Float32', 'number');
  assert.equal(f32(3.4e38), '3.4e+38');
  rejects(f32, 3.5e38, 'out_of_range');
  assert.equal(enc('Float32', 'integer')(42), '42');
});

test('decimals: unquoted, rounded to the scale, integer digits checked', () => {
  const d = enc('Decimal(10, 2)', 'number');
  assert.equal(d(12.34), '12.34');
  assert.equal(d(12.345), '12.35');
  assert.equal(d(12.344), '12.34');
  assert.equal(d(5), '5');
  assert.equal(d(1e-7), '0.00');
  assert.equal(d(-0.001), '-0.00');
  assert.equal(d(12345678.12), '12345678.12');
  rejects(d, 123456789.12, 'out_of_range', /more than 8 digits/);
  rejects(d, 99999999.999, 'out_of_range');
  rejects(d, NaN, 'type_mismatch');
  assert.equal(d('000123.4567'), '123.45');
  assert.equal(d('-0.5'), '-0.5');
  assert.equal(d('.5'), '0.5');
  rejects(d, '1e5', 'type_mismatch');
  rejects(d, '123456789', 'out_of_range');
  assert.equal(d(10n), '10');
  const d0 = enc('Decimal(4, 4)', 'number');
  assert.equal(d0(0.12345), '0.1235');
  rejects(d0, 0.99999, 'out_of_range');
  const big = enc('Decimal256(2)', 'number');
  assert.equal(big(1e30), '1000000000000000019884624838656');
  assert.equal(enc('Decimal128(20)')('1.123456789012345678901'), '1.12345678901234567890');
});

test('booleans: Bool as true/false, UInt8 as 0/1', () => {
  const b = enc('Bool', 'boolean');
  assert.equal(b(true), 'true');
  assert.equal(b(false), 'false');
  assert.equal(b(1), 'true');
  rejects(b, 'true', 'type_mismatch');
  assert.equal(enc('UInt8', 'boolean')(true), '1');
});
