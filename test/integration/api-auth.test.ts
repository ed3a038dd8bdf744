// The HTTP API's bearer token, end to end: the real `weir run` with WEIR_API_TOKEN set, asked the
// way curl or Prometheus would ask, with and without the token; ClickHouse is taken "down" for this
// agent only (a local TCP proxy) so /readyz has failing checks with addresses and error texts to
// hide. The token must never show up in the agent's output, even at debug level.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { runWeir, waitUntil, weirOnce, writeConfig } from '../helpers/agent.ts';
import { generate, pipelineFixture, tableCounts } from '../helpers/pipeline.ts';
import { startProxy, targetOf } from '../helpers/proxy.ts';
import { endpoints } from '../helpers/stack.ts';

interface Answer {
  status: number;
  wwwAuthenticate: string | null;
  body: string;
}

async function get(url: string, token?: string): Promise<Answer> {
  const res = await fetch(url, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(5000),
  });
  return {
    status: res.status,
    wwwAuthenticate: res.headers.get('www-authenticate'),
    body: await res.text(),
  };
}

describe('HTTP API with WEIR_API_TOKEN', () => {
  it('guards /metrics and the /readyz detail, leaves /healthz and the /readyz status open, never logs the token', async () => {
    const token = randomBytes(24).toString('hex');
    const proxy = await startProxy(targetOf(endpoints.clickhouse));
    // Debug level: the most the agent ever writes, none of which may hold the token.
    const f = await pipelineFixture({
      partitions: 1,
      sinkUrl: proxy.url,
      agent: { log_level: 'debug' },
    });
    const agent = runWeir(['run', '-c', f.configPath], {
      WEIR_API_TOKEN: token,
      OTEL_SDK_DISABLED: 'true',
    });
    const base = `http://127.0.0.1:${f.port}`;
    try {
      await waitUntil(
        `/readyz to answer 200 without the token\n${agent.output().slice(-2000)}`,
        async () => (await get(`${base}/readyz`)).status === 200,
        60_000,
      );

      // Liveness needs no token.
      assert.equal((await get(`${base}/healthz`)).status, 200);

      // /metrics: 401 with a challenge, without the token or with a wrong one; 200 with it.
      const none = await get(`${base}/metrics`);
      assert.equal(none.status, 401);
      assert.equal(none.wwwAuthenticate, 'Bearer realm="weir"');
      assert.equal((JSON.parse(none.body) as { error: string }).error, 'unauthorized');
      const wrong = await get(`${base}/metrics`, `${token.slice(0, -1)}0`);
      assert.equal(wrong.status, 401);
      assert.match(wrong.wwwAuthenticate ?? '', /error="invalid_token"/);
      const scraped = await get(`${base}/metrics`, token);
      assert.equal(scraped.status, 200);
      assert.match(scraped.body, /weir_pipeline_up\{pipeline="e2e"\} 1/);

      // /readyz while ready: the status to anyone, the checks with the token.
      const open = JSON.parse((await get(`${base}/readyz`)).body) as Record<string, unknown>;
      assert.deepEqual(Object.keys(open).sort(), ['detail', 'status']);
      const full = await get(`${base}/readyz`, token);
      assert.equal(full.status, 200);
      assert.ok('e2e/kafka' in (JSON.parse(full.body) as { checks: object }).checks);

      // ClickHouse down: 503 to anyone, but the failing checks (the proxy's address, the
      // error texts) only to a caller with the token.
      await generate(f, { count: 200, rate: 0, seed: 14 });
      await waitUntil('rows to land', async () => (await tableCounts(f)).rows > 0, 60_000);
      proxy.block('refuse');
      await waitUntil(
        '/readyz to turn not ready',
        async () => (await get(`${base}/readyz`)).status === 503,
        30_000,
        200,
      );
      for (const t of [undefined, 'not-the-token-not-the-token']) {
        const hidden = await get(`${base}/readyz`, t);
        assert.equal(hidden.status, 503);
        assert.deepEqual(JSON.parse(hidden.body), {
          status: 'not ready',
          detail: 'send Authorization: Bearer <token> for the checks',
        });
        assert.ok(!hidden.body.includes(String(proxy.port)));
      }
      const detail = await get(`${base}/readyz`, token);
      assert.equal(detail.status, 503);
      const body = JSON.parse(detail.body) as {
        reason: string;
        checks: Record<string, { ok: boolean }>;
      };
      assert.equal(body.checks['e2e/clickhouse']?.ok, false);
      assert.match(body.reason, /e2e\/clickhouse: /);
      proxy.unblock();
      await waitUntil(
        '/readyz to be ready again',
        async () => (await get(`${base}/readyz`)).status === 200,
        30_000,
        200,
      );
    } finally {
      proxy.unblock();
      const agentExit = await agent.stop();
      await f.cleanup();
      await proxy.close();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
    const output = agent.output();
    assert.match(output, /"msg":"HTTP API listening"/);
    assert.match(output, /"auth":"bearer token"/);
    assert.doesNotMatch(output, /no authentication/);
    assert.ok(!output.includes(token), 'the token is in the output');
  });

  it('refuses a short WEIR_API_TOKEN before connecting, naming the variable, without quoting it', async () => {
    const config = writeConfig({
      pipelines: [
        {
          name: 'p',
          source: { brokers: [endpoints.kafka], topics: ['t'] },
          schema: { fields: { id: 'string' } },
          sink: { clickhouse: { url: endpoints.clickhouse, table: 't' } },
        },
      ],
    });
    const short = 'tooshort-123';
    const res = await weirOnce(['validate', '-c', config], { env: { WEIR_API_TOKEN: short } });
    assert.equal(res.code, 1, res.output);
    assert.match(res.output, /WEIR_API_TOKEN: the API token is shorter than 16 characters/);
    assert.match(res.output, /openssl rand -hex 32/);
    assert.ok(!res.output.includes(short), res.output);
  });
});
