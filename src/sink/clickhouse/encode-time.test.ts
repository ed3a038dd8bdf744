import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modernEncoding } from './encode-context.ts';
import { enc, rejects, ms } from './testing.ts';

test('Date / Date32: UTC day of the epoch milliseconds, ranges per type and server', () => {
  const d = enc('Date', 'datetime');
  assert.equal(d(ms('2024-01-02T23:59:59.999Z')), '"2024-01-02"');
  assert.equal(d(ms('2024-01-02T00:00:00Z')), '"2024-01-02"');
  assert.equal(d(ms('2024-01-02T00:00:00Z')), '"2024-01-02"'); // cached path
  assert.equal(d(0), '"1970-01-01"');
  assert.equal(d(ms('2149-06-06T00:00:00Z')), '"2149-06-06"');
  rejects(d, ms('2149-06-07T00:00:00Z'), 'out_of_range', /outside 1970-01-01\.\.2149-06-06/);
  rejects(d, -1, 'out_of_range');
  rejects(d, '2024-01-02', 'type_mismatch', /expected epoch milliseconds/);
  const legacy = enc('Date', 'date', { features: { ...modernEncoding, legacyDateRange: true } });
  assert.equal(legacy(ms('2105-12-31T00:00:00Z')), '"2105-12-31"');
  rejects(legacy, ms('2106-01-01T00:00:00Z'), 'out_of_range');
  const d32 = enc('Date32', 'date');
  assert.equal(d32(ms('1900-01-01T00:00:00Z')), '"1900-01-01"');
  assert.equal(d32(ms('1969-12-31T12:00:00Z')), '"1969-12-31"');
  assert.equal(d32(ms('2299-12-31T00:00:00Z')), '"2299-12-31"');
  rejects(d32, ms('1899-12-31T00:00:00Z'), 'out_of_range');
  assert.equal(d(new Date('2020-02-29T10:00:00Z')), '"2020-02-29"');
});

test('DateTime: unix seconds as a JSON number, whatever the column time zone', () => {
  const dt = enc("DateTime('Asia/Tokyo')", 'datetime');
  assert.equal(dt(ms('2024-01-02T03:04:05.999Z')), '1704164645');
  assert.equal(dt(0), '0');
  assert.equal(dt(4294967295000), '4294967295');
  rejects(dt, 4294967296000, 'out_of_range');
  rejects(dt, -1, 'out_of_range');
  rejects(dt, NaN, 'type_mismatch');
  assert.equal(enc('DateTime', 'date')(ms('2024-01-02T00:00:00Z')), '1704153600');
});

test('DateTime64: padded unix seconds with the column precision, wall clock before 1970', () => {
  const t = ms('2024-01-02T03:04:05.123Z');
  assert.equal(enc('DateTime64(3)', 'datetime')(t), '"1704164645.123"');
  assert.equal(enc('DateTime64(0)', 'datetime')(t), '"1704164645"');
  assert.equal(enc('DateTime64(1)', 'datetime')(t), '"1704164645.1"');
  assert.equal(enc('DateTime64(6)', 'datetime')(t + 0.456), '"1704164645.123456"');
  assert.equal(enc('DateTime64(9)', 'datetime')(t), '"1704164645.123000000"');
  assert.equal(enc('DateTime64(3)', 'datetime')(86_400_001), '"0000086400.001"');
  assert.equal(enc('DateTime64(3)', 'datetime')(0), '"0000000000.000"');
  assert.equal(
    enc("DateTime64(3, 'Asia/Tokyo')", 'datetime')(ms('1969-12-31T23:59:58.500Z')),
    '"1970-01-01 08:59:58.500"',
  );
  assert.equal(
    enc('DateTime64(3)', 'datetime')(ms('1900-01-01T00:00:00Z')),
    '"1900-01-01 00:00:00.000"',
  );
  const berlin = enc('DateTime64(2)', 'datetime', {
    features: { ...modernEncoding, timezone: 'Europe/Berlin' },
  });
  assert.equal(berlin(ms('1960-07-01T12:00:00.5Z')), '"1960-07-01 13:00:00.50"');
  assert.equal(
    enc('DateTime64(3)', 'datetime')(ms('2290-01-02T03:04:05Z')),
    '"2290-01-02 03:04:05.000"',
  );
  rejects(enc('DateTime64(3)', 'datetime'), ms('1899-12-31T23:59:59Z'), 'out_of_range');
  rejects(enc('DateTime64(3)', 'datetime'), ms('2300-01-01T00:00:00Z'), 'out_of_range');
  rejects(enc('DateTime64(9)', 'datetime'), ms('2262-04-12T00:00:00Z'), 'out_of_range');
  rejects(enc("DateTime64(3, 'Mars/Olympus')", 'datetime'), -1000, 'unsupported_value');
});
