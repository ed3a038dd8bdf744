import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InFlight } from './inflight.ts';

describe('InFlight', () => {
  it('never runs more than max tasks at once, and drains them all', async () => {
    const inflight = new InFlight(3);
    let running = 0;
    let peak = 0;
    let done = 0;
    for (let i = 0; i < 20; i++) {
      await inflight.start(async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(1 + (i % 3));
        running--;
        done++;
      });
      assert.ok(inflight.size < 3);
    }
    await inflight.drain();
    assert.equal(peak, 3);
    assert.equal(done, 20);
  });

  it('rethrows the first failure and refuses new work after it', async () => {
    const inflight = new InFlight(2);
    await inflight.start(() => Promise.reject(new Error('first')));
    await assert.rejects(
      inflight.start(() => Promise.reject(new Error('second'))),
      /first/,
    );
    await assert.rejects(inflight.drain(), /first/);
    await assert.rejects(
      inflight.start(() => Promise.resolve()),
      /first/,
    );
  });
});
