import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expressionFunctions } from './functions.ts';

const call = (name: string, ...args: unknown[]): unknown => {
  const f = expressionFunctions[name];
  assert.ok(f, name);
  return f.fn(...args);
};

describe('expressionFunctions', () => {
  it('declares arity and usage for every function, and no clock', () => {
    for (const [name, f] of Object.entries(expressionFunctions)) {
      assert.ok(f.minArgs <= f.maxArgs, name);
      assert.ok(f.usage.startsWith(`${name}(`), name);
    }
    for (const clock of ['now', 'today', 'random', 'rand', 'uuid']) {
      assert.ok(!(clock in expressionFunctions), clock);
    }
  });

  it('propagates null except coalesce, exists and empty', () => {
    for (const [name, f] of Object.entries(expressionFunctions)) {
      if (['coalesce', 'exists', 'empty'].includes(name)) continue;
      const args = Array.from({ length: Math.max(f.minArgs, 1) }, () => null);
      assert.equal(f.fn(...args), null, name);
    }
    assert.equal(call('exists', null), false);
    assert.equal(call('empty', []), true);
  });

  it('round halves away from zero and never yields -0', () => {
    assert.equal(call('round', 2.5), 3);
    assert.equal(call('round', -2.5), -3);
    assert.ok(Object.is(call('round', -0.2), 0));
    assert.equal(call('round', 2.675, 2), 2.68);
  });

  it('min/max over several arguments; substr edges', () => {
    assert.equal(call('min', 3, -1, 2), -1);
    assert.equal(call('max', 3), 3);
    assert.equal(call('substr', 'abcdef', -2, 5), 'ef');
    assert.equal(call('substr', 'abc', 1, -1), '');
    assert.equal(call('substr', 'abc', -10), 'abc');
  });

  it('throws TypeError on wrong types', () => {
    assert.throws(() => call('upper', 1), TypeError);
    assert.throws(() => call('abs', '1'), TypeError);
    assert.throws(() => call('len', 5), TypeError);
    assert.throws(() => call('concat', 'a', {}), TypeError);
    assert.throws(() => call('to_datetime', 'x', 'weekly'), /format must be/);
  });
});
