import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { ReadinessReport } from '../telemetry/health.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { createApp, startApi } from './server.ts';

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

describe('HTTP API with a token', () => {
  const token = 'T0k3n-for-the-unit-tests-0123456789';
  const failing: ReadinessReport = {
    ready: false,
    checks: {
      'p/kafka': { ok: true },
      'p/clickhouse': { ok: false, reason: 'ClickHouse ping to http://10.1.2.3:8123 failed' },
    },
  };
  let report: ReadinessReport = { ready: true, checks: { 'p/kafka': { ok: true } } };
  const metrics = createMetrics(new Registry(), { defaults: false });
  metrics.pipelineUp.set({ pipeline: 'p' }, 1);
  const app = createApp({ registry: metrics.registry, readiness: () => report, token });
  const get = (path: string, authorization?: string) =>
    app.request(path, authorization ? { headers: { authorization } } : {});

  it('/metrics and unknown paths answer 401 with WWW-Authenticate without the right token', async () => {
    for (const path of ['/metrics', '/nowhere']) {
      const none = await get(path);
      assert.equal(none.status, 401, path);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="weir"');
      assert.deepEqual(await none.json(), {
        error: 'unauthorized',
        reason: 'send Authorization: Bearer <token>',
      });
      for (const wrong of [`Bearer ${token}x`, `Bearer ${token.slice(1)}`, `Basic ${token}`]) {
        const res = await get(path, wrong);
        assert.equal(res.status, 401, `${path} with ${wrong}`);
        assert.equal(
          res.headers.get('www-authenticate'),
          'Bearer realm="weir", error="invalid_token"',
        );
        const text = await res.text();
        assert.ok(!text.includes(token.slice(1)), 'the token is not echoed');
      }
    }
  });

  it('/metrics answers with the right token', async () => {
    const res = await get('/metrics', `Bearer ${token}`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /weir_pipeline_up\{pipeline="p"\} 1/);
    assert.equal((await get('/nowhere', `bearer ${token}`)).status, 404);
  });

  it('/healthz needs no token', async () => {
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/healthz', 'Bearer wrong')).status, 200);
  });

  it('/readyz answers its status code to anyone, the checks only with the token', async () => {
    report = { ready: true, checks: { 'p/kafka': { ok: true } } };
    let res = await get('/readyz');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      status: 'ready',
      detail: 'send Authorization: Bearer <token> for the checks',
    });
    report = failing;
    for (const auth of [undefined, 'Bearer wrong-token-wrong-token']) {
      res = await get('/readyz', auth);
      assert.equal(res.status, 503);
      const text = await res.text();
      assert.ok(!/10\.1\.2\.3|clickhouse|kafka/i.test(text), text);
      assert.deepEqual(JSON.parse(text), {
        status: 'not ready',
        detail: 'send Authorization: Bearer <token> for the checks',
      });
    }
    res = await get('/readyz', `Bearer ${token}`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), {
      status: 'not ready',
      reason: 'p/clickhouse: ClickHouse ping to http://10.1.2.3:8123 failed',
      checks: failing.checks,
    });
  });
});

describe('startApi', () => {
  const lines: { level: string; msg: string; auth?: string }[] = [];
  const logger = pino(
    { formatters: { level: (label) => ({ level: label }) } },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
        done();
      },
    }),
  );
  const start = async (http: { host: string; port: number; token?: string }) => {
    lines.length = 0;
    const server = await startApi({
      registry: new Registry(),
      readiness: () => ({ ready: true, checks: {} }),
      http,
      logger,
    });
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    return port;
  };

  it('warns once when the API is open, and not when a token guards it', async () => {
    assert.ok((await start({ host: '127.0.0.1', port: 0 })) > 0);
    const warnings = lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.msg, /no authentication \(reachable from this machine only\)/);
    assert.equal(lines.find((l) => l.msg === 'HTTP API listening')?.auth, 'none');

    const token = 'a-long-enough-token-for-this';
    await start({ host: '127.0.0.1', port: 0, token });
    assert.deepEqual(
      lines.filter((l) => l.level === 'warn'),
      [],
    );
    assert.equal(lines.find((l) => l.msg === 'HTTP API listening')?.auth, 'bearer token');
    assert.ok(!JSON.stringify(lines).includes(token), 'the token is not logged');
  });
});
