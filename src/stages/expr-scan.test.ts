import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scanExpression } from './expr-scan.ts';

describe('scanExpression', () => {
  it('finds fields, calls with argument counts, and `of` properties', () => {
    const refs = scanExpression(
      'lower(concat(a.b, "x(y, z)", \'odd name\')) == c and id of user and max() > 1 and x in (1, 2)',
    );
    assert.deepEqual(refs.fields, [
      { name: 'a.b', quoted: false },
      { name: 'odd name', quoted: true },
      { name: 'c', quoted: false },
      { name: 'user', quoted: false },
      { name: 'x', quoted: false },
    ]);
    assert.deepEqual(refs.properties, [{ name: 'id', quoted: false }]);
    assert.deepEqual(refs.calls, [
      { name: 'lower', args: 1 },
      { name: 'concat', args: 3 },
      { name: 'max', args: 0 },
    ]);
    assert.deepEqual(refs.deprecated, []);
  });

  it('ignores names inside string literals, including escaped quotes', () => {
    const refs = scanExpression('"now() \\" and y" == z');
    assert.deepEqual(refs.fields, [{ name: 'z', quoted: false }]);
    assert.deepEqual(refs.calls, []);
  });

  it('counts nested parentheses and array literals as one argument', () => {
    assert.deepEqual(scanExpression('f((1, 2), g(3, 4))').calls, [
      { name: 'f', args: 2 },
      { name: 'g', args: 2 },
    ]);
  });

  it('records arguments written as text literals or lists of them, for checks at startup', () => {
    const refs = scanExpression(
      'in_cidr(ip, "10.0.0.0/8", ("a", "b,c"), x, (y, "z"), ("q"), 5, concat("n", "o"))',
    );
    assert.deepEqual(refs.textArgs, [
      { name: 'in_cidr', index: 1, texts: ['10.0.0.0/8'] },
      { name: 'in_cidr', index: 2, texts: ['a', 'b,c'] },
      { name: 'in_cidr', index: 5, texts: ['q'] },
      { name: 'concat', index: 0, texts: ['n'] },
      { name: 'concat', index: 1, texts: ['o'] },
    ]);
    assert.deepEqual(scanExpression('f()').textArgs, []);
  });

  it('reports deprecated ternary and modulo syntax', () => {
    assert.deepEqual(scanExpression('a ? b : c % 2').deprecated, ['?', ':', '%']);
  });

  it('treats keywords as keywords, not fields', () => {
    const refs = scanExpression('if not a then b else c mod 2');
    assert.deepEqual(
      refs.fields.map((f) => f.name),
      ['a', 'b', 'c'],
    );
  });
});
