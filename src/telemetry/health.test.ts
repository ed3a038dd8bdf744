import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../core/clock.ts';
import { HealthChecks, Probe, type CheckResult } from './health.ts';
import { createLogger } from './logger.ts';
import { createMetrics } from './metrics.ts';

function setup() {
  const lines: Record<string, unknown>[] = [];
  // A plain object with write(): pino writes to it synchronously.
  const destination = {
    write(line: string) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  } as unknown as NodeJS.WritableStream;
  const metrics = createMetrics(new Registry(), { defaults: false });
  const health = new HealthChecks({
    logger: createLogger({ level: 'info', destination }),
    metrics,
  });
  return { lines, metrics, health };
}
const flush = () => new Promise((r) => setImmediate(r));

describe('readiness checks', () => {
  it('is ready when every registered check passes, and says which fails and why', async () => {
    const { health, metrics } = setup();
    assert.equal(health.evaluate().ready, false, 'nothing registered: not ready');
    let clickhouse: CheckResult = { ok: true };
    health.register({ pipeline: 'orders', check: 'kafka' }, () => ({ ok: true }));
    health.register({ pipeline: 'orders', check: 'clickhouse' }, () => clickhouse);
    assert.deepEqual(health.evaluate(), {
      ready: true,
      checks: { 'orders/clickhouse': { ok: true }, 'orders/kafka': { ok: true } },
    });
    clickhouse = { ok: false, reason: 'ping failed' };
    const r = health.evaluate();
    assert.equal(r.ready, false);
    assert.deepEqual(r.checks['orders/clickhouse'], { ok: false, reason: 'ping failed' });
    const text = await metrics.registry.metrics();
    assert.match(text, /weir_readiness_check\{pipeline="orders",check="clickhouse"\} 0/);
    assert.match(text, /weir_readiness_check\{pipeline="orders",check="kafka"\} 1/);
  });

  it('lets components add checks later and remove them (e.g. NATS with the dedup state)', () => {
    const { health } = setup();
    health.register({ check: 'agent' }, () => ({ ok: true }));
    const remove = health.register({ pipeline: 'p', check: 'nats' }, () => ({
      ok: false,
      reason: 'not connected to NATS',
    }));
    assert.equal(health.evaluate().ready, false);
    remove();
    assert.equal(health.evaluate().ready, true);
  });

  it('serves reasons without credentials (they are shown on /readyz)', () => {
    const { health } = setup();
    health.register({ pipeline: 'p', check: 'nats' }, () => ({
      ok: false,
      reason: 'NATS at nats://weir:pw@n:4222 is disconnected (reconnecting)',
    }));
    assert.deepEqual(health.evaluate().checks['p/nats'], {
      ok: false,
      reason: 'NATS at nats://***@n:4222 is disconnected (reconnecting)',
    });
  });

  it('treats a check that throws as failing', () => {
    const { health } = setup();
    health.register({ check: 'x' }, () => {
      throw new Error('boom');
    });
    assert.deepEqual(health.evaluate().checks.x, { ok: false, reason: 'the check failed: boom' });
  });

  it('logs one line per change of a check, not one per evaluation', async () => {
    const { health, lines } = setup();
    let ok = true;
    health.register({ pipeline: 'p', check: 'clickhouse' }, () =>
      ok ? { ok } : { ok, reason: 'down' },
    );
    for (let i = 0; i < 3; i++) health.evaluate();
    ok = false;
    for (let i = 0; i < 3; i++) health.evaluate();
    ok = true;
    for (let i = 0; i < 3; i++) health.evaluate();
    await flush();
    assert.deepEqual(
      lines.map((l) => [l.msg, l.check, l.reason]),
      [
        ['readiness check fails', 'clickhouse', 'down'],
        ['readiness check passes again', 'clickhouse', undefined],
      ],
    );
  });
});

describe('probe', () => {
  it('keeps the outcome of the last round trip', async () => {
    let fail = false;
    const p = new Probe(
      'ClickHouse ping',
      () => (fail ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve()),
      {
        intervalMs: 1000,
        timeoutMs: 500,
      },
    );
    assert.deepEqual(p.result, { ok: false, reason: 'not probed yet' });
    assert.deepEqual(await p.probe(), { ok: true });
    fail = true;
    assert.deepEqual(await p.probe(), {
      ok: false,
      reason: 'ClickHouse ping failed: ECONNREFUSED',
    });
    assert.equal(p.result.ok, false);
  });

  it('tries a failed round trip once more at once: one reset connection is not an outage', async () => {
    let calls = 0;
    let failures = 1;
    const p = new Probe(
      'ClickHouse ping',
      () => {
        calls++;
        return failures-- > 0 ? Promise.reject(new Error('socket hang up')) : Promise.resolve();
      },
      { intervalMs: 1000, timeoutMs: 500 },
    );
    assert.deepEqual(await p.probe(), { ok: true });
    assert.equal(calls, 2);
    failures = 2;
    assert.deepEqual(await p.probe(), {
      ok: false,
      reason: 'ClickHouse ping failed: socket hang up',
    });
    assert.equal(calls, 4);
  });

  it('fails a round trip that hangs past the timeout, and aborts it', async () => {
    const clock = new FakeClock(0);
    let aborted = false;
    const p = new Probe(
      'ClickHouse ping',
      (signal) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          }),
        ),
      { intervalMs: 1000, timeoutMs: 30, clock },
    );
    const done = p.probe();
    clock.advance(31);
    assert.deepEqual(p.result, {
      ok: false,
      reason: 'ClickHouse ping did not answer within 30 ms',
    });
    assert.deepEqual(await done, {
      ok: false,
      reason: 'ClickHouse ping did not answer within 30 ms',
    });
    assert.ok(aborted);
  });
});
