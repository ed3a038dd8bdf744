import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeirError, describeError } from './errors.ts';

test('describeError prints no URL credentials, in the message or the fix', () => {
  const err = new WeirError('cannot reach http://weir:pw1@ch:8123', {
    hint: 'check nats://tok3n@n:4222',
  });
  assert.equal(
    describeError(err),
    'cannot reach http://***@ch:8123 (fix: check nats://***@n:4222)',
  );
  assert.equal(describeError(new Error('at http://u:pw2@h')), 'at http://***@h');
  assert.equal(describeError('at nats://u:pw3@h'), 'at nats://***@h');
});
