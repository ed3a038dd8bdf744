import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Schedule } from './payments.ts';
import { Random } from './random.ts';

describe('Schedule', () => {
  it('releases only what is due, earliest first, ties in insertion order', () => {
    const s = new Schedule<string>();
    s.add(30, 'c');
    s.add(10, 'a');
    s.add(20, 'b1');
    s.add(20, 'b2');
    assert.equal(s.hasDue(5), false);
    assert.deepEqual(s.takeDue(5), []);
    assert.equal(s.hasDue(10), true);
    assert.deepEqual(s.takeDue(20), ['a', 'b1', 'b2']);
    assert.equal(s.size, 1);
    assert.deepEqual(s.takeAll(), ['c']);
    assert.equal(s.size, 0);
  });

  it('sorts many random due times', () => {
    const rng = new Random(2);
    const s = new Schedule<number>();
    const dues = Array.from({ length: 2000 }, () => rng.int(500));
    for (const d of dues) s.add(d, d);
    assert.deepEqual(
      s.takeAll(),
      dues.sort((a, b) => a - b),
    );
  });
});
