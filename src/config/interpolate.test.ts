import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolateEnv } from './interpolate.ts';

test('replaces ${VAR} and ${VAR:-default} in strings at any depth', () => {
  const env = { HOST: 'kafka', PORT: '9092', EMPTY: '' };
  const r = interpolateEnv(
    {
      a: ['${HOST}:${PORT}', 7, true, null],
      b: { c: '${MISSING:-x}', d: '${EMPTY:-y}', e: 'p${EMPTY}q' },
    },
    env,
  );
  assert.deepEqual(r.value, { a: ['kafka:9092', 7, true, null], b: { c: 'x', d: 'y', e: 'pq' } });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.substituted, [
    ['a', 0],
    ['b', 'c'],
    ['b', 'd'],
    ['b', 'e'],
  ]);
});

test('$${ is a literal ${ and a lone $ is left alone', () => {
  const r = interpolateEnv({ s: 'cost $5, $${HOME} stays, ${A}' }, { A: 'a', HOME: '/root' });
  assert.deepEqual(r.value, { s: 'cost $5, ${HOME} stays, a' });
});

test('a default may be empty or contain colons', () => {
  const r = interpolateEnv(['${X:-}', '${X:-http://h:1}'], {});
  assert.deepEqual(r.value, ['', 'http://h:1']);
});

test('an unset variable without default is a problem naming it and its path', () => {
  const r = interpolateEnv({ sink: { password: '${CH_PASSWORD}' }, ok: '${A}' }, { A: '1' });
  assert.equal(r.problems.length, 1);
  const [p] = r.problems;
  assert.deepEqual(p?.path, ['sink', 'password']);
  assert.equal(p?.problem, 'environment variable CH_PASSWORD is not set');
  assert.match(p?.fix ?? '', /set CH_PASSWORD, or give a default: \$\{CH_PASSWORD:-<value>\}/);
});

test('malformed and unterminated references are problems', () => {
  const r = interpolateEnv({ a: '${1BAD}', b: 'x ${OPEN' }, {});
  assert.deepEqual(
    r.problems.map((p) => [p.path, p.problem]),
    [
      [['a'], 'malformed reference "${1BAD}"'],
      [['b'], 'unterminated "${"'],
    ],
  );
});
