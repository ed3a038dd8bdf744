import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../core/clock.ts';
import { TokenBucket } from './rate.ts';

describe('TokenBucket', () => {
  it('hands out tokens in proportion to elapsed time', () => {
    const clock = new FakeClock(0);
    const bucket = new TokenBucket({ ratePerSec: 1000, clock });
    assert.equal(bucket.take(100), 0);
    clock.advance(10);
    assert.equal(bucket.take(100), 10);
    clock.advance(10);
    assert.equal(bucket.take(4), 4);
    assert.equal(bucket.take(100), 6);
  });

  it('caps the backlog at the burst so a stall does not cause a flood', () => {
    const clock = new FakeClock(0);
    const bucket = new TokenBucket({ ratePerSec: 1000, clock });
    clock.advance(5000);
    assert.equal(bucket.take(10_000), 50);
  });

  it('keeps fractions for rates below one token per tick', () => {
    const clock = new FakeClock(0);
    const bucket = new TokenBucket({ ratePerSec: 20, clock });
    let taken = 0;
    for (let t = 0; t < 1000; t += 10) {
      clock.advance(10);
      taken += bucket.take(10);
    }
    assert.equal(taken, 20);
  });

  it('says how long until the next token', () => {
    const clock = new FakeClock(0);
    const bucket = new TokenBucket({ ratePerSec: 100, clock });
    assert.equal(bucket.msUntil(1), 10);
    clock.advance(10);
    assert.equal(bucket.msUntil(1), 0);
  });

  it('rejects a non-positive rate', () => {
    assert.throws(() => new TokenBucket({ ratePerSec: 0 }), /> 0/);
  });
});
