import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { operators } from './operators.ts';

const op = (name: string) => {
  const f = operators[name];
  assert.ok(f, name);
  return f;
};

describe('operators', () => {
  it('arithmetic on numbers; null propagates; + also joins text', () => {
    assert.equal(op('+')(1, 2), 3);
    assert.equal(op('+')('a', 1), 'a1');
    assert.equal(op('+')(null, 1), null);
    assert.equal(op('-')(5, undefined), -5);
    assert.equal(op('-')(5, 2), 3);
    assert.equal(op('-')(null, 2), null);
    assert.equal(op('mod')(-1, 3), 2);
    assert.equal(op('^')(2, 10), 1024);
    assert.throws(
      () => op('*')('2', 2),
      /operator \* expects numbers, got string "2" and number 2/,
    );
    assert.throws(() => op('+')(true, 1), TypeError);
  });

  it('comparisons: null is false, mixed types throw', () => {
    assert.equal(op('<')(1, 2), true);
    assert.equal(op('>=')('b', 'a'), true);
    assert.equal(op('<')(null, 2), false);
    assert.equal(op('>')(2, null), false);
    assert.throws(() => op('<')('1', 2), TypeError);
    assert.equal(op('==')(null, null), true);
    assert.equal(op('!=')(1, '1'), true);
  });

  it('~= matches regular expressions, null is false', () => {
    assert.equal(op('~=')('order-42', '^order-\\d+$'), true);
    assert.equal(op('~=')('x', '^order'), false);
    assert.equal(op('~=')(null, 'x'), false);
    assert.throws(() => op('~=')('x', '('), SyntaxError);
  });
});
