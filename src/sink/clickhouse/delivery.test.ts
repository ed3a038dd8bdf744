import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ConfigError, ConnectionError } from '../../core/errors.ts';
import { createLogger } from '../../telemetry/logger.ts';
import { createMetrics } from '../../telemetry/metrics.ts';
import { decideDelivery } from './delivery.ts';
import { serverFeatures } from './server.ts';

// Decisions that need no NATS: the table cannot drop replays, or exactly-once is off.
describe('the delivery decision', () => {
  const sink = (engine: string) => ({
    table: 'default.orders',
    server: serverFeatures({ version: '18.16.1', timezone: 'UTC' }),
    tableEngine: () => Promise.resolve({ engine, engineFull: `${engine} ORDER BY id` }),
  });
  const nats = { servers: ['127.0.0.1:1'], bucket: 'weir_ledger', timeout_ms: 100 };
  const setup = () => {
    const metrics = createMetrics(new Registry(), { defaults: false });
    const deps = {
      pipeline: 'p',
      logger: createLogger({ level: 'silent' }),
      metrics,
      create: true,
    };
    const exactlyOnce = async () =>
      (await metrics.registry.getSingleMetric('weir_exactly_once')?.get())?.values[0]?.value;
    return { deps, exactlyOnce };
  };

  it('off: at-least-once, no ledger', async () => {
    const { deps, exactlyOnce } = setup();
    const d = await decideDelivery(sink('ReplicatedMergeTree'), { mode: 'off', nats }, deps);
    assert.deepEqual(d, { ledger: undefined, missingBucket: undefined });
    assert.equal(await exactlyOnce(), 0);
  });

  it('preferred on a table that keeps replays: at-least-once, weir_exactly_once 0', async () => {
    const { deps, exactlyOnce } = setup();
    const d = await decideDelivery(sink('MergeTree'), { mode: 'preferred', nats }, deps);
    assert.equal(d.ledger, undefined);
    assert.equal(await exactlyOnce(), 0);
  });

  it('required on a table that keeps replays: refuses, saying what to change', async () => {
    const { deps } = setup();
    await assert.rejects(
      decideDelivery(sink('MergeTree'), { mode: 'required', nats }, { ...deps, create: false }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /exactly-once cannot hold/.test(err.message) &&
        /ReplicatedMergeTree/.test(err.message),
    );
  });

  it('required while NATS cannot be reached: an outage the start waits out, not a refusal', async () => {
    const { deps } = setup();
    await assert.rejects(
      decideDelivery(sink('ReplicatedMergeTree'), { mode: 'required', nats }, deps),
      (err: unknown) => err instanceof ConnectionError && err.retriable && err.peer === 'NATS',
    );
  });

  it('preferred while NATS cannot be reached: at-least-once, weir_exactly_once 0', async () => {
    const { deps, exactlyOnce } = setup();
    const d = await decideDelivery(sink('ReplicatedMergeTree'), { mode: 'preferred', nats }, deps);
    assert.equal(d.ledger, undefined);
    assert.equal(await exactlyOnce(), 0);
  });
});
