import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, editDistance } from './suggest.ts';

test('editDistance counts insertions, deletions, substitutions and transpositions', () => {
  assert.equal(editDistance('topics', 'topics'), 0);
  assert.equal(editDistance('topcs', 'topics'), 1);
  assert.equal(editDistance('tpoics', 'topics'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('closest suggests near misses only', () => {
  assert.equal(closest('topcs', ['brokers', 'topics', 'group_id']), 'topics');
  assert.equal(closest('MAX_ROWS', ['max_rows', 'max_bytes']), 'max_rows');
  assert.equal(closest('earlist', ['earliest', 'latest']), 'earliest');
  assert.equal(closest('zzz', ['brokers', 'topics']), undefined);
  assert.equal(closest('x', []), undefined);
});
