// TLS to all three services on the real stack: Kafka's SSL listener (9095, client certificate
// required), ClickHouse's HTTPS port (8443) and the TLS-only NATS (4223, client certificate
// required), with the certificates `npm run stack -- up` made (scripts/stack/tls.ts). A pipeline
// with dedup and exactly-once lands exact rows through them; each misconfiguration is one line
// naming the service, the problem and the option to fix.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { freePort, runWeir, weirOnce, writeConfig } from '../helpers/agent.ts';
import {
  generate,
  metricValue,
  metrics,
  pipelineFixture,
  tableCounts,
  waitForDrain,
} from '../helpers/pipeline.ts';
import {
  clickhouse,
  createTopic,
  endpoints,
  natsTlsConnect,
  randomName,
  stackTls,
} from '../helpers/stack.ts';

const f = stackTls();
/** A pattern matching `text` literally, then `rest` (a regular expression source). */
const literally = (text: string, rest: string) =>
  new RegExp(text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') + rest);
const mtls = { ca_file: f.ca, cert_file: f.clientCert, key_file: f.clientKey };
const buckets: string[] = [];

/** A NATS section over TLS with a bucket of its own (deleted after the tests). */
function natsOverTls(prefix: string, tls: Record<string, string> = mtls) {
  const bucket = randomName(prefix);
  buckets.push(bucket);
  return { servers: [endpoints.natsTls], tls, bucket };
}

/** host:port of an endpoint (a URL or host:port). */
const hostPort = (endpoint: string) => {
  const u = new URL(endpoint.includes('://') ? endpoint : `tls://${endpoint}`);
  return { host: u.hostname, port: Number(u.port) };
};

// A stack started by an older checkout has no TLS ports: say so at once, not after timeouts.
before(async () => {
  for (const [name, endpoint] of [
    ['Kafka', endpoints.kafkaTls],
    ['ClickHouse', endpoints.clickhouseTls],
  ] as const) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tlsConnect({
        ...hostPort(endpoint),
        ca: readFileSync(f.ca),
        cert: readFileSync(f.clientCert),
        key: readFileSync(f.clientKey),
      });
      socket.setTimeout(5000, () => socket.destroy());
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('close', () => resolve(false));
    });
    assert.ok(
      ok,
      `${name} does not answer TLS at ${endpoint}: run 'npm run stack -- up', restarting a service an older checkout started (npm run stack -- down --only <svc>)`,
    );
  }
});

after(async () => {
  const nc = await natsTlsConnect();
  const jsm = await nc.jetstreamManager();
  for (const b of buckets) await jsm.streams.delete(`KV_${b}`).catch(() => undefined);
  await nc.close();
});

describe('TLS end to end', () => {
  it('dedup and exactly-once with Kafka, ClickHouse and NATS all over TLS: exact rows land', async () => {
    const dedupNats = natsOverTls('weir_tls_dedup');
    const ledgerNats = natsOverTls('weir_tls_ledger');
    const fx = await pipelineFixture({
      partitions: 4,
      maxDelayMs: 300,
      replicated: true,
      source: { brokers: [endpoints.kafkaTls], tls: mtls },
      sinkUrl: endpoints.clickhouseTls,
      sink: { tls: { ca_file: f.ca }, exactly_once: { mode: 'required', nats: ledgerNats } },
      pipeline: { dedup: { key: 'event_id', window: '1h', nats: dedupNats } },
    });
    const agent = runWeir(['run', '-c', fx.configPath]);
    try {
      // Produced over plaintext (the generator is not under test); read over TLS.
      const report = await generate(fx, { count: 20_000, dupRate: 0.1, seed: 14 });
      assert.ok(report.counts.duplicates > 1000, `${report.counts.duplicates} duplicates`);
      await waitForDrain(fx, 180_000);
      const unique = report.counts.unique;
      assert.deepEqual(await tableCounts(fx), { rows: unique, unique });
      const text = await metrics(fx);
      assert.equal(metricValue(text, 'weir_exactly_once'), 1, agent.output().slice(-2000));
      assert.equal(
        metricValue(text, 'weir_stage_records_dropped_total', {
          stage: 'dedup',
          reason: 'duplicate',
        }),
        report.counts.duplicates,
      );
      // The state went to the TLS-only server: both buckets are there, written.
      const nc = await natsTlsConnect();
      try {
        const jsm = await nc.jetstreamManager();
        for (const b of [dedupNats.bucket, ledgerNats.bucket]) {
          const info = await jsm.streams.info(`KV_${b}`);
          assert.ok(info.state.messages > 0, `bucket ${b} is empty`);
        }
      } finally {
        await nc.close();
      }
    } finally {
      await agent.stop();
      await fx.cleanup();
    }
  });
});

describe('TLS misconfigurations: one line naming the service, the problem and the fix', () => {
  let topic: string;
  let cleanupTopic: () => Promise<void>;
  const table = randomName('tls_errors');
  const ch = clickhouse();
  const dedupBucket = randomName('weir_tls_check');
  buckets.push(dedupBucket);

  before(async () => {
    ({ topic, cleanup: cleanupTopic } = await createTopic('weir-tls'));
    await ch.command({
      query: `CREATE TABLE ${table} (id String, amount Float64) ENGINE = MergeTree ORDER BY id`,
    });
  });
  after(async () => {
    await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await ch.close();
    await cleanupTopic();
  });

  /** A pipeline using the three TLS connections, with parts replaced. */
  const config = (o: {
    source?: Record<string, unknown>;
    sink?: Record<string, unknown>;
    natsTls?: Record<string, string>;
  }) => ({
    pipelines: [
      {
        name: 'tlscheck',
        source: {
          brokers: [endpoints.kafkaTls],
          topics: [topic],
          connection_timeout_ms: 5000,
          tls: mtls,
          ...o.source,
        },
        schema: { fields: { id: 'string', amount: 'number' } },
        sink: {
          clickhouse: {
            url: endpoints.clickhouseTls,
            table,
            tls: { ca_file: f.ca },
            exactly_once: 'off',
            ...o.sink,
          },
        },
        dedup: {
          key: 'id',
          window: '1h',
          nats: { servers: [endpoints.natsTls], tls: o.natsTls ?? mtls, bucket: dedupBucket },
        },
      },
    ],
  });

  const validate = async (cfg: ReturnType<typeof config>) => {
    const r = await weirOnce(['validate', '-c', writeConfig(cfg)], { timeoutMs: 120_000 });
    assert.notEqual(r.code, 0, r.output);
    assert.equal(r.output.trim().split('\n').length, 1, r.output);
    return r.output.trim();
  };

  it('the good config validates', async () => {
    const r = await weirOnce(['validate', '-c', writeConfig(config({}))]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /OK/);
  });

  // The stack's CA signed every server certificate; trusting an unrelated CA fails each handshake.
  const wrongCa = [
    [
      'Kafka',
      endpoints.kafkaTls,
      'source.tls',
      { source: { tls: { ...mtls, ca_file: f.otherCa } } },
    ],
    [
      'ClickHouse',
      endpoints.clickhouseTls,
      'sink.clickhouse.tls',
      { sink: { tls: { ca_file: f.otherCa } } },
    ],
    ['NATS', endpoints.natsTls, 'dedup.nats.tls', { natsTls: { ...mtls, ca_file: f.otherCa } }],
  ] as const;
  for (const [peer, at, section, change] of wrongCa)
    it(`${peer}: a CA that did not sign the server certificate`, async () => {
      const line = await validate(config(change));
      assert.match(
        line,
        literally(
          `TLS to ${peer} at ${at} failed: the server's certificate is not signed by the CA in ${section}.ca_file (self-signed certificate in certificate chain) (fix: set ${section}.ca_file to the PEM file of the CA that signed the server's certificate)`,
          '',
        ),
      );
    });

  it('Kafka: no client certificate on the listener that requires one', async () => {
    const line = await validate(config({ source: { tls: { ca_file: f.ca } } }));
    assert.match(
      line,
      literally(
        `TLS to Kafka at ${endpoints.kafkaTls} failed: the server requires a client certificate (`,
        String.raw`.*alert.*\) \(fix: set source\.tls\.cert_file and source\.tls\.key_file to a client certificate signed by a CA that Kafka trusts\)`,
      ),
    );
  });

  it('Kafka: an expired client certificate', async () => {
    const line = await validate(
      config({
        source: {
          tls: { ca_file: f.ca, cert_file: f.expiredClientCert, key_file: f.expiredClientKey },
        },
      }),
    );
    assert.match(
      line,
      /the client certificate in source\.tls\.cert_file \(.*expired-client\.pem\) expired on 2020-12-31 \(fix: renew the certificate/,
    );
  });

  it('ClickHouse: an expired server certificate', async () => {
    // The stack's servers have valid certificates; an HTTPS server with the expired one stands in
    // for ClickHouse: the handshake, where the client refuses it, is all the client gets to.
    const port = await freePort();
    const server: Server = createServer(
      { cert: readFileSync(f.expiredServerCert), key: readFileSync(f.expiredServerKey) },
      (_req, res) => res.end('Ok.\n'),
    );
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const line = await validate(config({ sink: { url: `https://127.0.0.1:${port}` } }));
      assert.match(
        line,
        new RegExp(
          `TLS to ClickHouse at https://127\\.0\\.0\\.1:${port} failed: the server's certificate has expired \\(certificate has expired\\) \\(fix: renew the certificate of ClickHouse`,
        ),
      );
    } finally {
      server.close();
    }
  });

  it('ClickHouse: an unreadable CA file', async () => {
    const line = await validate(config({ sink: { tls: { ca_file: '/nonexistent/ca.pem' } } }));
    assert.match(
      line,
      /cannot read sink\.clickhouse\.tls\.ca_file \(\/nonexistent\/ca\.pem\): no such file \(fix: fix the path in sink\.clickhouse\.tls\.ca_file/,
    );
  });

  it('NATS: no client certificate for a server that verifies clients', async () => {
    const line = await validate(config({ natsTls: { ca_file: f.ca } }));
    assert.match(
      line,
      literally(
        `TLS to NATS at ${endpoints.natsTls} failed: the server requires a client certificate`,
        '',
      ),
    );
    assert.match(line, /fix: set dedup\.nats\.tls\.cert_file and dedup\.nats\.tls\.key_file/);
  });

  it('run: exits at once on a TLS problem instead of waiting for the service', async () => {
    const agent = { http: { host: '127.0.0.1', port: await freePort() } };
    const cfg = config({ source: { tls: { ...mtls, ca_file: f.otherCa } } });
    const t0 = performance.now();
    const r = await weirOnce(['run', '-c', writeConfig({ agent, ...cfg })], {
      env: { WEIR_LOG_LEVEL: 'warn' },
      timeoutMs: 120_000,
    });
    const ms = performance.now() - t0;
    assert.notEqual(r.code, 0, r.output);
    assert.ok(ms < 30_000, `exited after ${Math.round(ms)} ms`);
    assert.match(
      r.output,
      literally(
        `TLS to Kafka at ${endpoints.kafkaTls} failed: the server's certificate is not signed`,
        '',
      ),
    );
    assert.doesNotMatch(r.output, /waiting for/);
  });
});
