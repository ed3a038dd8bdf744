import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeMissing } from './check.ts';

it('says what is missing and who creates it, or that it was created', () => {
  const missing = [{ what: 'dead-letter topic', name: 'o.dlq' }];
  assert.deepEqual(describeMissing({ pipeline: 'o', missing, created: false }), [
    'pipeline o: the dead-letter topic o.dlq does not exist; `weir run` creates it, or run `weir validate --create`',
  ]);
  assert.deepEqual(describeMissing({ pipeline: 'o', missing, created: true }), [
    'pipeline o: created the dead-letter topic o.dlq',
  ]);
});
