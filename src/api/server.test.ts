import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { ReadinessReport } from '../telemetry/health.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { createApp } from './server.ts';

describe('HTTP API', () => {
  let report: ReadinessReport = { ready: true, checks: { 'p/kafka': { ok: true } } };
  const metrics = createMetrics(new Registry(), { defaults: false });
  const app = createApp({
    registry: metrics.registry,
    readiness: () => report,
    startedAt: Date.now(),
  });

  it('/healthz says the process is alive', async () => {
    const res = await app.request('/healthz');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; reason: string };
    assert.equal(body.status, 'alive');
    assert.ok(body.reason.length > 0);
  });

  it('/readyz is 200 when every check passes and 503 naming the failing checks otherwise', async () => {
    let res = await app.request('/readyz');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      status: 'ready',
      reason: 'every check passes',
      checks: { 'p/kafka': { ok: true } },
    });
    report = {
      ready: false,
      checks: {
        'p/kafka': { ok: true },
        'p/clickhouse': { ok: false, reason: 'ClickHouse ping failed: ECONNREFUSED' },
      },
    };
    res = await app.request('/readyz');
    assert.equal(res.status, 503);
    const body = (await res.json()) as { status: string; reason: string };
    assert.equal(body.status, 'not ready');
    assert.equal(body.reason, 'p/clickhouse: ClickHouse ping failed: ECONNREFUSED');
  });

  it('/metrics serves the catalogue in the Prometheus text format', async () => {
    metrics.pipelineUp.set({ pipeline: 'p' }, 1);
    const res = await app.request('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(await res.text(), /weir_pipeline_up\{pipeline="p"\} 1/);
  });
});
