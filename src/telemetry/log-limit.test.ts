import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../core/clock.ts';
import { LogLimiter } from './log-limit.ts';

describe('LogLimiter', () => {
  it('lets one line per key through per interval and counts the ones held back', () => {
    const clock = new FakeClock(0);
    const l = new LogLimiter(10_000, clock);
    assert.equal(l.take('a'), 0);
    assert.equal(l.take('a'), undefined);
    assert.equal(l.take('b'), 0, 'keys are independent');
    clock.advance(5_000);
    assert.equal(l.take('a'), undefined);
    clock.advance(5_000);
    assert.equal(l.take('a'), 2, 'two lines were held back');
    assert.equal(l.take('a'), undefined);
  });

  it('writes at once again after a reset (a state change)', () => {
    const l = new LogLimiter(10_000, new FakeClock(0));
    assert.equal(l.take('a'), 0);
    l.reset('a');
    assert.equal(l.take('a'), 0);
  });

  it('keeps memory bounded however many keys come', () => {
    const l = new LogLimiter(10_000, new FakeClock(0), 10);
    for (let i = 0; i < 100; i++) assert.equal(l.take(`k${i}`), 0);
  });
});
