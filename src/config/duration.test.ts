import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from './duration.ts';
import { joinSchema } from './schema.ts';

test('a bare 0 is a duration (what ${VAR:-0} gives), any other bare number in text is not', () => {
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration(' 0 '), 0);
  assert.equal(parseDuration(0), 0);
  assert.equal(parseDuration('0s'), 0);
  for (const text of ['5', '00', '0.0', '-0', '1000', '']) {
    assert.equal(parseDuration(text), undefined, text);
  }
});

test('a join duration takes "0" from an interpolated variable', () => {
  const lateness = joinSchema.shape.allowed_lateness;
  assert.equal(lateness.parse('0'), 0);
  assert.equal(lateness.parse(0), 0);
  const bare = lateness.safeParse('5');
  assert.ok(!bare.success);
  assert.match(bare.error.issues[0]!.message, /invalid duration "5"/);
});
