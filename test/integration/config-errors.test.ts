// Bad config files must fail fast with one clear line naming the problem and the fix.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, weirOnce, writeConfig } from '../helpers/agent.ts';
import { clickhouse, createTopic, endpoints, randomName } from '../helpers/stack.ts';

describe('weir validate / run with bad configs', () => {
  let topic: string;
  let cleanup: () => Promise<void>;
  const table = randomName('cfg_errors');
  const ch = clickhouse();

  before(async () => {
    ({ topic, cleanup } = await createTopic('weir-cfg'));
    await ch.command({
      query: `CREATE TABLE ${table} (id String, amount Float64) ENGINE = MergeTree ORDER BY id`,
    });
  });
  after(async () => {
    await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await ch.close();
    await cleanup();
  });

  const base = () => ({
    pipelines: [
      {
        name: 'cfgtest',
        source: { brokers: [endpoints.kafka], topics: [topic], connection_timeout_ms: 2000 },
        schema: { fields: { id: 'string', amount: 'number' } },
        sink: { clickhouse: { url: endpoints.clickhouse, table } },
      },
    ],
  });

  it('accepts a good config', async () => {
    const r = await weirOnce(['validate', '-c', writeConfig(base())]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /OK/);
  });

  it('rejects an unknown key, naming it and its path', async () => {
    const cfg = base() as { pipelines: Record<string, unknown>[] };
    (cfg.pipelines[0]!.source as Record<string, unknown>).topcs = ['x'];
    const r = await weirOnce(['validate', '--offline', '-c', writeConfig(cfg)]);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /pipelines\[0\]\.source/);
    assert.match(r.output, /topcs/);
  });

  it('rejects a wrong type with the path', async () => {
    const cfg = base();
    (cfg.pipelines[0]!.sink.clickhouse as Record<string, unknown>).batch = { max_rows: 'ten' };
    const r = await weirOnce(['validate', '--offline', '-c', writeConfig(cfg, 'json')]);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /pipelines\[0\]\.sink\.clickhouse\.batch\.max_rows/);
  });

  it('reports a missing table', async () => {
    const cfg = base();
    cfg.pipelines[0]!.sink.clickhouse.table = randomName('no_such_table');
    const r = await weirOnce(['validate', '-c', writeConfig(cfg)]);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /no_such_table/);
    assert.match(r.output, /create_table|create the table/i);
    assert.equal(r.output.trim().split('\n').length, 1, r.output);
  });

  it('reports an unreachable broker', async () => {
    const cfg = base();
    cfg.pipelines[0]!.source.brokers = ['127.0.0.1:1'];
    const r = await weirOnce(['validate', '-c', writeConfig(cfg)], { timeoutMs: 120_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.output, /cannot reach Kafka at 127\.0\.0\.1:1/);
    assert.equal(r.output.trim().split('\n').length, 1, r.output);
  });

  it('reports a wrong ClickHouse password without printing it', async () => {
    const cfg = base();
    Object.assign(cfg.pipelines[0]!.sink.clickhouse, {
      username: 'weir',
      password: 'not-the-password',
    });
    const r = await weirOnce(['validate', '-c', writeConfig(cfg)]);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /password|credentials|authenticat/i);
    assert.doesNotMatch(r.output, /not-the-password/);
    assert.equal(r.output.trim().split('\n').length, 1, r.output);
  });

  // `weir run` waits for a service that cannot be reached (startup.test.ts), but a config problem
  // is not an outage: it exits at once, non-zero, saying what to fix.
  const run = async (cfg: ReturnType<typeof base>) => {
    const agent = { http: { host: '127.0.0.1', port: await freePort() } };
    const t0 = performance.now();
    const r = await weirOnce(['run', '-c', writeConfig({ agent, ...cfg })], {
      env: { WEIR_LOG_LEVEL: 'warn' },
    });
    return { ...r, ms: performance.now() - t0 };
  };

  it('run: exits at once on a wrong ClickHouse password, naming the credentials, not the password', async () => {
    const cfg = base();
    Object.assign(cfg.pipelines[0]!.sink.clickhouse, {
      username: 'weir',
      password: 'not-the-password',
    });
    const r = await run(cfg);
    assert.notEqual(r.code, 0, r.output);
    assert.ok(r.ms < 30_000, `exited after ${Math.round(r.ms)} ms`);
    assert.match(r.output, /refused the connection as user 'weir'/);
    assert.match(r.output, /sink\.clickhouse\.username and sink\.clickhouse\.password/);
    assert.doesNotMatch(r.output, /not-the-password/);
    assert.doesNotMatch(r.output, /waiting for/);
  });

  it('run: exits at once on a missing table without create_table', async () => {
    const cfg = base();
    cfg.pipelines[0]!.sink.clickhouse.table = randomName('no_such_table');
    const r = await run(cfg);
    assert.notEqual(r.code, 0, r.output);
    assert.ok(r.ms < 30_000, `exited after ${Math.round(r.ms)} ms`);
    assert.match(r.output, /weir: error: .*no_such_table.*create_table/);
    assert.doesNotMatch(r.output, /waiting for/);
  });

  it('reports a wrong Kafka SASL password without printing it', async () => {
    const cfg = base();
    Object.assign(cfg.pipelines[0]!.source, {
      brokers: [endpoints.kafkaSasl],
      sasl: { mechanism: 'scram-sha-256', username: 'weir', password: 'wrong-secret' },
    });
    const r = await weirOnce(['validate', '-c', writeConfig(cfg)]);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /rejected the credentials/);
    assert.doesNotMatch(r.output, /wrong-secret/);
  });

  it('accepts the right Kafka SASL credentials', async () => {
    const cfg = base();
    Object.assign(cfg.pipelines[0]!.source, {
      brokers: [endpoints.kafkaSasl],
      sasl: {
        mechanism: 'scram-sha-512',
        username: 'weir',
        password: '${WEIR_TEST_SASL_PASSWORD}',
      },
    });
    const file = writeConfig(cfg);
    const unset = await weirOnce(['validate', '-c', file]);
    assert.notEqual(unset.code, 0);
    assert.match(unset.output, /WEIR_TEST_SASL_PASSWORD/);
    const ok = await weirOnce(['validate', '-c', file], {
      env: { WEIR_TEST_SASL_PASSWORD: 'weir-secret' },
    });
    assert.equal(ok.code, 0, ok.output);
  });
});
