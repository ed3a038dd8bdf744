import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preview } from './encode-context.ts';
import { enc, rejects } from './testing.ts';

test('bad values are previewed briefly', () => {
  assert.equal(preview('x'.repeat(100)).length, 61);
  assert.equal(preview(undefined), 'undefined');
  assert.equal(preview(5n), '5n');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(preview(cyclic), '[object Object]');
  rejects(enc('UInt8', 'integer', { column: 'n' }), 'y'.repeat(500), 'type_mismatch');
  try {
    enc('UInt8', 'integer')('y'.repeat(500));
  } catch (err) {
    assert.ok((err as Error).message.length < 150);
  }
});
