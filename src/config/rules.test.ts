import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { matching, nonEmptyRecord, unlessIssuesAt } from './rules.ts';

test('matching reports a custom problem with its fix', () => {
  const s = z.string().superRefine(matching(/^a+$/, (v) => `not a's: "${v}"`, 'use a'));
  const r = s.safeParse('b');
  assert.equal(r.success, false);
  assert.deepEqual(
    r.error.issues.map((i) => [i.code, i.message, i.code === 'custom' ? i.params : undefined]),
    [['custom', 'not a\'s: "b"', { fix: 'use a' }]],
  );
  assert.equal(s.safeParse('aa').success, true);
  assert.equal(
    z.record(z.string(), z.number()).superRefine(nonEmptyRecord('empty', 'add')).safeParse({})
      .success,
    false,
  );
});

test('unlessIssuesAt skips a rule when a part it reads has an issue', () => {
  const when = unlessIssuesAt(['schema', 'sink.clickhouse.columns']);
  const at = (...paths: PropertyKey[][]) =>
    when({
      value: {},
      issues: paths.map((path) => ({ code: 'custom', path, message: '', input: 0 })),
    });
  assert.equal(at(), true);
  assert.equal(at(['sink', 'clickhouse', 'batch', 'max_rows']), true);
  assert.equal(at(['schema', 'fields', 'a']), false);
  assert.equal(at(['sink']), false, 'a missing parent blocks too');
  assert.equal(at(['sink', 'clickhouse', 'columns', 'x']), false);
});
