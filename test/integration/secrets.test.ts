// Secrets never leave the agent: a pipeline whose every connection carries credentials (ClickHouse
// and NATS URLs with user:password, a NATS token, Kafka SASL, an OTLP API key header and an OTLP
// endpoint with user info; the HTTP API token from WEIR_API_TOKEN) runs through an outage of ClickHouse, NATS and the collector, and none
// of the secrets may appear in the agent's output, /readyz, /metrics or the exported spans. Each
// outage is made for this agent only, through a local TCP proxy. `weir validate` with a wrong
// password names the problem without printing the password. NATS credentials in a server URL
// reach a NATS of the test's own that requires them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { describeError } from '../../src/core/errors.ts';
import { connectNats } from '../../src/state/nats.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { freePort, getText, runWeir, waitUntil, weirOnce, writeConfig } from '../helpers/agent.ts';
import { startOtlpReceiver } from '../helpers/otlp.ts';
import { generate, pipelineFixture, tableCounts, waitForDrain } from '../helpers/pipeline.ts';
import { startProxy, targetOf } from '../helpers/proxy.ts';
import { clickhouse, createTopic, deleteBuckets, endpoints, randomName } from '../helpers/stack.ts';

const unique = (what: string) => `${what}-${randomBytes(6).toString('hex')}`;

// The stack's password-protected ClickHouse user and Kafka SASL user (scripts/stack/services.ts).
const STACK_PASSWORD = 'weir-secret';
const NATS_URL_PASSWORD = unique('nats-url-pw');
const NATS_TOKEN = unique('nats-token');
const OTLP_API_KEY = unique('otlp-api-key');
const OTLP_URL_PASSWORD = unique('otlp-url-pw');
const API_TOKEN = unique('weir-api-token');
const SECRETS = [
  STACK_PASSWORD,
  NATS_URL_PASSWORD,
  NATS_TOKEN,
  OTLP_API_KEY,
  OTLP_URL_PASSWORD,
  API_TOKEN,
];

/** Fails naming where a secret showed up, with the text around it. */
function assertNoSecret(where: string, text: string, secrets: readonly string[] = SECRETS): void {
  for (const secret of secrets) {
    const at = text.indexOf(secret);
    if (at >= 0)
      assert.fail(`${where} contains a secret: …${text.slice(Math.max(0, at - 300), at + 100)}…`);
  }
}

const buckets: string[] = [];
after(() => deleteBuckets(buckets));

describe('secrets', () => {
  it('never appear in logs, errors, /readyz, /metrics or traces, through outages of every connection', async () => {
    const chProxy = await startProxy(targetOf(endpoints.clickhouse));
    const natsProxy = await startProxy(targetOf(`nats://${endpoints.nats}`));
    const receiver = await startOtlpReceiver();
    const otlpProxy = await startProxy(targetOf(receiver.endpoint));
    const dedupBucket = randomName('weir_secrets_dedup');
    const ledgerBucket = randomName('weir_secrets_ledger');
    buckets.push(dedupBucket, ledgerBucket);
    const natsAt = `127.0.0.1:${natsProxy.port}`;
    const f = await pipelineFixture({
      partitions: 2,
      maxDelayMs: 300,
      sinkUrl: `http://weir:${STACK_PASSWORD}@127.0.0.1:${chProxy.port}`,
      source: {
        brokers: [endpoints.kafkaSasl],
        sasl: { mechanism: 'plain', username: 'weir', password: STACK_PASSWORD },
      },
      sink: {
        exactly_once: {
          mode: 'required',
          nats: { servers: [natsAt], token: NATS_TOKEN, bucket: ledgerBucket },
        },
      },
      pipeline: {
        dedup: {
          key: 'event_id',
          window: '1h',
          nats: { servers: [`nats://weir:${NATS_URL_PASSWORD}@${natsAt}`], bucket: dedupBucket },
        },
      },
    });
    const validated = await weirOnce(['validate', '-c', f.configPath], {
      env: { WEIR_LOG_LEVEL: 'debug' },
    });
    assert.equal(validated.code, 0, validated.output);
    assertNoSecret('weir validate output', validated.output);

    const agent = runWeir(['run', '-c', f.configPath], {
      WEIR_LOG_LEVEL: 'debug',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://otel:${OTLP_URL_PASSWORD}@127.0.0.1:${otlpProxy.port}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: `x-api-key=${OTLP_API_KEY}`,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      WEIR_API_TOKEN: API_TOKEN,
    });
    const api = (path: string) => getText(`http://127.0.0.1:${f.port}${path}`, API_TOKEN);
    const readyz = async () => (await api('/readyz')).body;
    const metricsText = async () => (await api('/metrics')).body;
    const seen: { where: string; text: string }[] = [];
    try {
      await waitUntil(
        `the agent to be ready\n${agent.output().slice(-3000)}`,
        async () => (await api('/readyz')).status === 200,
        90_000,
      );
      let sent = 0;
      /** Produces `count` new records (their own seed) and waits until every one is committed. */
      const sendAndDrain = async (seed: number, count = 1000) => {
        sent += (await generate(f, { count, seed })).counts.total;
        await waitForDrain(f);
      };
      await sendAndDrain(1, 2000);
      await waitUntil('spans at the OTLP receiver', () => receiver.spans.length > 0, 60_000);
      assert.ok(
        receiver.requestHeaders.some((h) => h['x-api-key'] === OTLP_API_KEY),
        'the collector got the API key header',
      );

      // ClickHouse and NATS go away for this agent while records arrive: the NATS connections
      // drop (a disconnect is logged), ClickHouse inserts fail, readiness says why.
      chProxy.block('refuse');
      natsProxy.block('refuse');
      sent += (await generate(f, { count: 1000, seed: 2 })).counts.total;
      await waitUntil(
        `/readyz to report NATS and ClickHouse failing\n${agent.output().slice(-3000)}`,
        async () => {
          const body = await readyz();
          seen.push({ where: '/readyz during the outage', text: body });
          return (
            /"e2e\/nats":\{"ok":false/.test(body) && /"e2e\/clickhouse":\{"ok":false/.test(body)
          );
        },
        60_000,
        1000,
      );
      seen.push({ where: '/metrics during the outage', text: await metricsText() });
      chProxy.unblock();
      natsProxy.unblock();
      await waitForDrain(f);

      // The collector goes away while batches complete: the export failure is logged once.
      otlpProxy.block('refuse');
      await sendAndDrain(3);
      await waitUntil(
        'the export failure to be logged',
        () => agent.output().includes('tracing: cannot export spans'),
        60_000,
      );
      otlpProxy.unblock();
      await sendAndDrain(4);
      await waitUntil(
        'spans exported again',
        () => agent.output().includes('tracing: exporting spans again'),
        60_000,
      );
      assert.equal((await tableCounts(f)).unique, sent, 'every record landed once');
      seen.push({ where: '/readyz', text: await readyz() });
      const finalMetrics = await metricsText();
      assert.match(finalMetrics, /weir_sink_rows_total/, 'the API token opens /metrics');
      seen.push({ where: '/metrics', text: finalMetrics });
    } finally {
      await agent.stop();
      await Promise.all([chProxy.close(), natsProxy.close(), otlpProxy.close()]);
      await receiver.close();
      await f.cleanup();
    }
    const output = agent.output();
    // The outages did happen, and were logged with where they happened (so the checks below
    // read the lines that used to carry the credentials).
    assert.match(output, /"msg":"NATS"/);
    assert.match(output, /nats:\/\/\*\*\*@127\.0\.0\.1/);
    assertNoSecret('the agent output', output);
    assert.ok(
      seen.some((s) => /NATS at nats:\/\/\*\*\*@127\.0\.0\.1/.test(s.text)),
      '/readyz said which NATS is disconnected',
    );
    for (const s of seen) assertNoSecret(s.where, s.text);
    assertNoSecret('the exported spans', JSON.stringify(receiver.spans));
  });

  it('weir validate names a rejected password without printing it', async () => {
    const table = randomName('secrets_validate');
    const ch = clickhouse();
    await ch.command({
      query: `CREATE TABLE ${table} (id String) ENGINE = MergeTree ORDER BY id`,
    });
    const { topic, cleanup } = await createTopic('weir-secrets');
    const natsProxy = await startProxy(targetOf(`nats://${endpoints.nats}`));
    try {
      const config = (o: { clickhouse?: string; kafkaPassword?: string; nats?: string }) => ({
        pipelines: [
          {
            name: 'secrets',
            source: {
              brokers: [endpoints.kafkaSasl],
              topics: [topic],
              connection_timeout_ms: 3000,
              sasl: {
                mechanism: 'scram-sha-256',
                username: 'weir',
                password: o.kafkaPassword ?? STACK_PASSWORD,
              },
            },
            schema: { fields: { id: 'string' } },
            sink: {
              clickhouse: {
                url:
                  o.clickhouse ??
                  `http://weir:${STACK_PASSWORD}@${new URL(endpoints.clickhouse).host}`,
                table,
                exactly_once: 'off',
              },
            },
            ...(o.nats && {
              dedup: {
                key: 'id',
                window: '1h',
                nats: { servers: [o.nats], bucket: randomName('weir_secrets_v'), timeout_ms: 2000 },
              },
            }),
          },
        ],
      });
      const wrongClickHouse = unique('wrong-ch-pw');
      const ch1 = await weirOnce([
        'validate',
        '-c',
        writeConfig(
          config({
            clickhouse: `http://weir:${wrongClickHouse}@${new URL(endpoints.clickhouse).host}`,
          }),
        ),
      ]);
      assert.notEqual(ch1.code, 0, ch1.output);
      assert.match(
        ch1.output,
        /ClickHouse at http:\/\/\*\*\*@127\.0\.0\.1:\d+ refused the connection as user 'weir'/,
      );
      assert.match(ch1.output, /[Ww]rong password/);
      // The credentials are given to the client apart from the URL, so it has nothing to warn of.
      assert.doesNotMatch(ch1.output, /overridden by a URL parameter/);
      assertNoSecret('weir validate (wrong ClickHouse password)', ch1.output, [
        wrongClickHouse,
        STACK_PASSWORD,
      ]);

      const wrongKafka = unique('wrong-kafka-pw');
      const k = await weirOnce([
        'validate',
        '-c',
        writeConfig(config({ kafkaPassword: wrongKafka })),
      ]);
      assert.notEqual(k.code, 0, k.output);
      assert.match(k.output, /rejected the credentials/);
      assertNoSecret('weir validate (wrong Kafka password)', k.output, [
        wrongKafka,
        STACK_PASSWORD,
      ]);

      natsProxy.block('refuse');
      const natsPassword = unique('nats-pw');
      const n = await weirOnce([
        'validate',
        '-c',
        writeConfig(config({ nats: `nats://weir:${natsPassword}@127.0.0.1:${natsProxy.port}` })),
      ]);
      assert.notEqual(n.code, 0, n.output);
      assert.match(n.output, /NATS at nats:\/\/\*\*\*@127\.0\.0\.1/);
      assertNoSecret('weir validate (NATS unreachable)', n.output, [natsPassword, STACK_PASSWORD]);
    } finally {
      await natsProxy.close();
      await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
      await ch.close();
      await cleanup();
    }
  });

  it('NATS credentials in a server URL are sent (nats.js ignores them there), a rejected one not printed', async () => {
    // A NATS of this test's own that requires a password (the shared one has no auth).
    const password = unique('nats-auth-pw');
    const port = await freePort();
    const server = spawn(
      NATS_SERVER,
      ['-a', '127.0.0.1', '-p', String(port), '--user', 'weir', '--pass', password],
      { stdio: 'ignore' },
    );
    const logger = createLogger({ level: 'silent' });
    try {
      await waitUntil('the private nats-server to listen', () => accepts(port), 20_000);
      const cfg = (server: string) => ({ servers: [server], timeout_ms: 5000 });
      const { nc } = await connectNats(
        cfg(`nats://weir:${password}@127.0.0.1:${port}`),
        'weir-test',
        logger,
        'dedup.nats',
      );
      await nc.close();
      const wrong = unique('wrong-nats-pw');
      const err = await connectNats(
        cfg(`nats://weir:${wrong}@127.0.0.1:${port}`),
        'weir-test',
        logger,
        'dedup.nats',
      ).then(
        () => assert.fail('a wrong password connected'),
        (e: unknown) => e,
      );
      const text = describeError(err);
      assert.match(text, /NATS at nats:\/\/\*\*\*@127\.0\.0\.1:\d+ rejected the credentials/);
      assertNoSecret('the NATS error', text, [wrong, password]);
    } finally {
      server.kill();
    }
  });
});

const NATS_SERVER = '/usr/sbin/nats-server';

/** Whether something accepts TCP connections on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
