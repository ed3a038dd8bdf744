import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WeirError } from './errors.ts';
import { backoffDelay, retry, type RetryOptions } from './retry.ts';

const transient = () => new WeirError('server busy', { retriable: true });

/** A sleep that returns at once and remembers what it was asked to wait. */
function fakeSleep() {
  const waited: number[] = [];
  return { waited, sleep: (ms: number) => (waited.push(ms), Promise.resolve()) };
}

/** Fails `failures` times with `err`, then resolves with the number of calls. */
function failing(failures: number, err: () => unknown = transient) {
  let calls = 0;
  const fn = () =>
    new Promise<number>((resolve) => {
      if (++calls <= failures) throw err();
      resolve(calls);
    });
  return { fn, calls: () => calls };
}

const policy = (over: Partial<RetryOptions> = {}): RetryOptions => ({
  initialMs: 100,
  maxMs: 1000,
  ...over,
});

describe('backoffDelay', () => {
  it('doubles the ceiling per retry up to the cap, and never goes above it', () => {
    const top = (n: number) => backoffDelay(n, policy({ random: () => 1 }));
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(top), [100, 200, 400, 800, 1000, 1000]);
    for (const n of [10, 100, 10_000, Number.MAX_SAFE_INTEGER])
      assert.equal(top(n), 1000, `retry ${n}`);
  });

  it('draws from [ceiling/2, ceiling] (equal jitter): never zero, never above', () => {
    const at = (r: number) => backoffDelay(3, policy({ random: () => r }));
    assert.equal(at(0), 200);
    assert.equal(at(0.5), 300);
    assert.equal(at(0.999999), 400);
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelay(1 + (i % 8), policy());
      const ceiling = Math.min(1000, 100 * 2 ** (i % 8));
      assert.ok(d >= ceiling / 2 && d <= ceiling, `${d} in [${ceiling / 2}, ${ceiling}]`);
    }
  });
});

describe('retry', () => {
  it('retries retriable failures with the backoff delays until one succeeds', async () => {
    const { waited, sleep } = fakeSleep();
    const { fn } = failing(6);
    const seen: [number, number][] = [];
    const value = await retry(fn, {
      ...policy({ random: () => 0, sleep }),
      onRetry: (err, n, delayMs) => {
        assert.ok(err instanceof WeirError);
        seen.push([n, delayMs]);
      },
    });
    assert.equal(value, 7);
    assert.deepEqual(waited, [50, 100, 200, 400, 500, 500]);
    assert.deepEqual(
      seen,
      waited.map((d, i) => [i + 1, d]),
    );
  });

  it('passes the attempt number (0-based) to the function', async () => {
    const attempts: number[] = [];
    await retry(
      (attempt) => {
        attempts.push(attempt);
        return attempt < 2 ? Promise.reject(transient()) : Promise.resolve();
      },
      policy({ sleep: fakeSleep().sleep }),
    );
    assert.deepEqual(attempts, [0, 1, 2]);
  });

  it('throws an error that is not retriable at once, as it is', async () => {
    const { waited, sleep } = fakeSleep();
    for (const err of [
      new WeirError('wrong password'),
      new Error('no flag'),
      Object.assign(new Error('flag false'), { retriable: false }),
      'a string',
    ]) {
      const { fn, calls } = failing(1, () => err);
      await assert.rejects(retry(fn, policy({ sleep })), (e) => e === err);
      assert.equal(calls(), 1);
    }
    assert.deepEqual(waited, []);
  });

  it('reads the flag on any error, not only WeirError (kafkajs errors carry it too)', async () => {
    const { fn, calls } = failing(2, () => Object.assign(new Error('x'), { retriable: true }));
    await retry(fn, policy({ sleep: fakeSleep().sleep }));
    assert.equal(calls(), 3);
  });

  it('gives up after `retries` retries with the last error', async () => {
    const { waited, sleep } = fakeSleep();
    let n = 0;
    const fn = () => Promise.reject(new WeirError(`failure ${++n}`, { retriable: true }));
    await assert.rejects(retry(fn, policy({ retries: 3, sleep })), /failure 4/);
    assert.equal(waited.length, 3);
    await assert.rejects(retry(fn, policy({ retries: 0, sleep })), /failure 5/);
  });

  it('stops at once when the signal aborts during a delay, throwing the last error', async () => {
    const abort = new AbortController();
    const { fn, calls } = failing(Infinity);
    const started = performance.now();
    const done = retry(fn, policy({ initialMs: 60_000, maxMs: 60_000, signal: abort.signal }));
    setImmediate(() => abort.abort());
    await assert.rejects(done, /server busy/);
    assert.equal(calls(), 1);
    assert.ok(performance.now() - started < 1000, 'the 30-60 s delay was cut short');
  });

  it('does not wait or retry once the signal has aborted', async () => {
    const abort = new AbortController();
    const { waited, sleep } = fakeSleep();
    const { fn, calls } = failing(Infinity, () => {
      abort.abort();
      return transient();
    });
    await assert.rejects(retry(fn, policy({ signal: abort.signal, sleep })), /server busy/);
    assert.equal(calls(), 1);
    assert.deepEqual(waited, []);
  });

  it('stops after a delay that ended because of the abort, even if the sleep resolved', async () => {
    const abort = new AbortController();
    const { fn, calls } = failing(Infinity);
    const sleep = () => (abort.abort(), Promise.resolve());
    await assert.rejects(retry(fn, policy({ signal: abort.signal, sleep })), /server busy/);
    assert.equal(calls(), 1);
  });
});
