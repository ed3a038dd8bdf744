// How each client is given the tls section of its config: kafkajs, nats.js, @clickhouse/client.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { describe, it } from 'node:test';
import { ConfigError } from '../core/errors.ts';
import { clickHouseTls } from '../sink/clickhouse/sink.ts';
import { kafkaSsl } from '../source/kafka-client.ts';
import { natsTlsOptions } from '../state/nats.ts';
import { testCertificates } from './testing.ts';

const f = testCertificates();

const kafkaCfg = { brokers: ['b:9095'], client_id: 'weir', connection_timeout_ms: 1000 };

describe('TLS options of each client', () => {
  it('kafkajs: the files, and reject_unauthorized; nothing when disabled', () => {
    const ssl = kafkaSsl({
      ...kafkaCfg,
      tls: {
        enabled: true,
        reject_unauthorized: false,
        ca_file: f.ca,
        cert_file: f.clientCert,
        key_file: f.clientKey,
      },
    });
    assert.equal(ssl?.rejectUnauthorized, false);
    assert.deepEqual(ssl?.ca, readFileSync(f.ca));
    assert.deepEqual(ssl?.cert, readFileSync(f.clientCert));
    assert.deepEqual(ssl?.key, readFileSync(f.clientKey));
    assert.equal(kafkaSsl(kafkaCfg), undefined);
    assert.equal(
      kafkaSsl({ ...kafkaCfg, tls: { enabled: false, reject_unauthorized: true, ca_file: '/x' } }),
      undefined,
    );
    assert.throws(
      () =>
        kafkaSsl({ ...kafkaCfg, tls: { enabled: true, reject_unauthorized: true, ca_file: '/x' } }),
      (e) => e instanceof ConfigError && /source\.tls\.ca_file \(\/x\)/.test(e.message),
    );
  });

  it('nats.js: the contents as text and the server name; the section in errors', () => {
    const opts = natsTlsOptions(
      { ca_file: f.ca, cert_file: f.clientCert, key_file: f.clientKey, server_name: 'localhost' },
      'dedup.nats',
    );
    assert.equal(opts.ca, readFileSync(f.ca, 'utf8'));
    assert.equal(opts.cert, readFileSync(f.clientCert, 'utf8'));
    assert.equal(opts.key, readFileSync(f.clientKey, 'utf8'));
    assert.equal((opts as { servername?: string }).servername, 'localhost');
    // An empty section still asks for TLS (system CAs).
    assert.deepEqual(JSON.parse(JSON.stringify(natsTlsOptions({}, 'join.nats'))), {});
    assert.throws(
      () => natsTlsOptions({ ca_file: '/x' }, 'sink.clickhouse.exactly_once.nats'),
      /sink\.clickhouse\.exactly_once\.nats\.tls\.ca_file/,
    );
  });

  it('@clickhouse/client: ca_cert (the default CAs without ca_file), cert and key', () => {
    assert.deepEqual(clickHouseTls({}), {});
    const mutual = clickHouseTls({
      tls: { ca_file: f.ca, cert_file: f.clientCert, key_file: f.clientKey },
    });
    assert.deepEqual(mutual, {
      tls: {
        ca_cert: readFileSync(f.ca),
        cert: readFileSync(f.clientCert),
        key: readFileSync(f.clientKey),
      },
    });
    const system = clickHouseTls({ tls: {} });
    assert.equal(system.tls?.ca_cert.toString(), rootCertificates.join('\n'));
    assert.equal('cert' in (system.tls ?? {}), false);
  });
});
