import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeValue, isPlainObject, quoteList } from './values.ts';

test('describeValue names the kind and shows short values', () => {
  assert.equal(describeValue('ten'), 'string "ten"');
  assert.equal(describeValue(3), 'number 3');
  assert.equal(describeValue(false), 'boolean false');
  assert.equal(describeValue(null), 'null');
  assert.equal(describeValue(undefined), 'nothing');
  assert.equal(describeValue([1]), 'a list');
  assert.equal(describeValue({ a: 1 }), 'an object');
  assert.match(describeValue('x'.repeat(100)), /^string "x{57}\.\.\."$/);
});

test('describeValue never shows a secret', () => {
  assert.equal(describeValue('hunter2', true), 'a string (value hidden)');
  assert.equal(describeValue(12345, true), 'a number (value hidden)');
});

test('quoteList and isPlainObject', () => {
  assert.equal(quoteList(['a', 'b', 'c']), '"a", "b" or "c"');
  assert.equal(quoteList(['a']), '"a"');
  assert.equal(isPlainObject({}), true);
  assert.equal(isPlainObject([]), false);
  assert.equal(isPlainObject(null), false);
});
