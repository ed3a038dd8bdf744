import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random, weighted } from './random.ts';

describe('Random', () => {
  it('repeats the same sequence for the same seed', () => {
    const a = new Random(42);
    const b = new Random(42);
    for (let i = 0; i < 1000; i++) assert.equal(a.uint32(), b.uint32());
  });

  it('gives different sequences for different seeds and streams', () => {
    const first = (r: Random) => Array.from({ length: 8 }, () => r.uint32()).join(',');
    assert.notEqual(first(new Random(1)), first(new Random(2)));
    assert.notEqual(first(new Random(1, 0)), first(new Random(1, 1)));
    assert.notEqual(first(new Random(2 ** 40)), first(new Random(2 ** 40 + 2 ** 32)));
  });

  it('keeps floats in [0, 1) with a sane mean', () => {
    const r = new Random(7);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r.float();
      assert.ok(x >= 0 && x < 1);
      sum += x;
    }
    assert.ok(Math.abs(sum / 100_000 - 0.5) < 0.01);
  });

  it('keeps between() inside its inclusive bounds and reaches both ends', () => {
    const r = new Random(3);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const x = r.between(1, 4);
      assert.ok(x >= 1 && x <= 4 && Number.isInteger(x));
      seen.add(x);
    }
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4]);
  });

  it('formats uuids as version 4', () => {
    const r = new Random(9);
    for (let i = 0; i < 1000; i++) {
      assert.match(
        r.uuid(),
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
  });

  it('rejects seeds that are not safe integers', () => {
    assert.throws(() => new Random(1.5), /safe integer/);
  });
});

describe('weighted', () => {
  it('picks in proportion to the weights', () => {
    const pick = weighted([
      ['a', 3],
      ['b', 1],
    ]);
    const r = new Random(11);
    let a = 0;
    for (let i = 0; i < 40_000; i++) if (pick(r) === 'a') a++;
    assert.ok(Math.abs(a / 40_000 - 0.75) < 0.01, `share of a: ${a / 40_000}`);
  });

  it('rejects empty choices and non-positive weights', () => {
    assert.throws(() => weighted([]), /at least one/);
    assert.throws(() => weighted([['a', 0]]), /> 0/);
  });
});
