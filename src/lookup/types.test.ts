import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitsKeyType } from './postgres.ts';
import { clickHouseFamily, fits, postgresFamily } from './types.ts';

test('column types convert to the field types they can hold', () => {
  assert.equal(postgresFamily('int8'), 'integer');
  assert.equal(postgresFamily('timestamptz'), 'datetime');
  assert.equal(postgresFamily('jsonb'), 'json');
  assert.equal(clickHouseFamily('Nullable(LowCardinality(String))'), 'text');
  assert.equal(clickHouseFamily('DateTime64(3)'), 'datetime');
  assert.equal(clickHouseFamily('Array(String)'), 'other');
  assert.equal(fits('integer', 'number'), true);
  assert.equal(fits('float', 'integer'), false);
  assert.equal(fits('json', 'string'), false);
  assert.equal(fits('other', 'json'), true);
  // Text holds anything; whether a value converts is decided per record.
  assert.equal(fits('text', 'datetime'), true);
});

test('a key that cannot be cast to the key column is a miss, not a failed query', () => {
  assert.equal(fitsKeyType('int8', '42'), true);
  assert.equal(fitsKeyType('int8', 'abc'), false);
  assert.equal(fitsKeyType('int4', 4.5), false);
  assert.equal(fitsKeyType('uuid', 'not-a-uuid'), false);
  assert.equal(fitsKeyType('text', 'anything'), true);
});
