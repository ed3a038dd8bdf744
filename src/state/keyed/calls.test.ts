import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../../telemetry/logger.ts';
import { createMetrics } from '../../telemetry/metrics.ts';
import { StateCalls } from './calls.ts';
import { MemoryKeyedStore } from './memory-store.ts';

const timeout = () => Object.assign(new Error('timeout'), { code: 'TIMEOUT' });

function setup() {
  const metrics = createMetrics(new Registry(), { defaults: false });
  const calls = new StateCalls({
    pipeline: 'p',
    metrics,
    logger: createLogger({ level: 'silent' }),
    retryInitialMs: 1,
  });
  /** Observations of state_op_duration_seconds, by op. */
  const timed = async () => {
    const m = (await metrics.registry.getMetricsAsJSON()).find(
      (x) => x.name === 'weir_state_op_duration_seconds',
    );
    const out: Record<string, number> = {};
    for (const v of m?.values ?? [])
      if ((v as { metricName?: string }).metricName?.endsWith('_count'))
        out[String(v.labels.op)] = v.value;
    return out;
  };
  return { calls, timed };
}

describe('state calls', () => {
  it('retries transient failures and times each call that succeeds, once', async () => {
    const { calls, timed } = setup();
    let n = 0;
    const v = await calls.retry('x_claim', 'claim', () =>
      ++n < 3 ? Promise.reject(timeout()) : Promise.resolve(n),
    );
    assert.equal(v, 3);
    await assert.rejects(
      calls.retry('x_claim', 'claim', () => Promise.reject(new Error('permission denied'))),
      /permission denied/,
    );
    assert.deepEqual(await timed(), { x_claim: 1 });
  });

  it('names a store’s operations after the stage and tries snapshots only once', async () => {
    const { calls, timed } = setup();
    const inner = new MemoryKeyedStore();
    const store = calls.store(inner, 'agg');
    inner.failWith = timeout();
    const appended = store.append('t', 0, [Uint8Array.of(1)]);
    setTimeout(() => (inner.failWith = undefined), 10);
    await appended;
    assert.equal(inner.appends, 1);
    assert.deepEqual((await store.load('t', 0)).deltas, 1);
    let attempts = 0;
    const failing = Object.assign(new MemoryKeyedStore(), {
      snapshot: () => (attempts++, Promise.reject(timeout())),
    });
    await assert.rejects(calls.store(failing, 'agg').snapshot('t', 0, [], 0), /timeout/);
    assert.equal(attempts, 1);
    await store.snapshot('t', 0, [Uint8Array.of(2)], inner.coverage('t', 0));
    assert.deepEqual(inner.stored('t', 0), { deltas: 0, chunks: 1 });
    assert.deepEqual(await timed(), { agg_persist: 1, agg_load: 1, agg_snapshot: 1 });
  });

  it('stops retrying when stopped', async () => {
    const { calls } = setup();
    const forever = calls.retry('x_load', 'read', () => Promise.reject(timeout()));
    setTimeout(() => calls.stop(), 10);
    await assert.rejects(forever);
  });
});
