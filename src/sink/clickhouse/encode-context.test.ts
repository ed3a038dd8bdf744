import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonString, preview } from './encode-context.ts';
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

describe('jsonString', () => {
  it('gives exactly what JSON.stringify gives', () => {
    const samples = [
      '',
      'plain',
      'e3b0c442-98fc-1c14-9afb-f4c8996fb924',
      'quote " inside',
      'back\\slash',
      'tab\tand\nnewline',
      '\u0000\u001f',
      'ünïcödé €',
      '\u2028\u2029',
      'lone \ud800 surrogate',
      'pair 😀',
      'x'.repeat(100) + '"',
      'y'.repeat(64),
    ];
    for (const s of samples) assert.equal(jsonString(s), JSON.stringify(s), JSON.stringify(s));
  });
});
