import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../core/errors.ts';
import { testCertificates } from './testing.ts';
import { explainTlsFailure, isTlsFailure, loadTlsFiles } from './tls.ts';

const f = testCertificates();

const configError = (fn: () => unknown): ConfigError => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
};

describe('loadTlsFiles', () => {
  it('reads the CA, the certificate and its key', () => {
    const m = loadTlsFiles(
      { ca_file: f.ca, cert_file: f.clientCert, key_file: f.clientKey },
      'source.tls',
    );
    assert.match(m.ca?.toString() ?? '', /BEGIN CERTIFICATE/);
    assert.match(m.cert?.toString() ?? '', /BEGIN CERTIFICATE/);
    assert.match(m.key?.toString() ?? '', /PRIVATE KEY/);
    assert.deepEqual(loadTlsFiles({}, 'source.tls'), {});
  });

  it('names the option of a file it cannot read', () => {
    const e = configError(() =>
      loadTlsFiles({ ca_file: join(f.dir, 'nope.pem') }, 'dedup.nats.tls'),
    );
    assert.equal(e.message, `cannot read dedup.nats.tls.ca_file (${f.dir}/nope.pem): no such file`);
    assert.match(e.hint ?? '', /dedup\.nats\.tls\.ca_file/);
    const dir = configError(() =>
      loadTlsFiles({ cert_file: f.dir, key_file: f.clientKey }, 'sink.clickhouse.tls'),
    );
    assert.match(dir.message, /sink\.clickhouse\.tls\.cert_file .*: it is a directory/);
  });

  it('refuses files that are not PEM, and a key of another certificate', () => {
    const junk = join(f.dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    assert.match(
      configError(() => loadTlsFiles({ ca_file: junk }, 'source.tls')).message,
      /source\.tls\.ca_file \(.*junk\.pem\) holds no PEM certificate/,
    );
    assert.match(
      configError(() => loadTlsFiles({ cert_file: f.clientCert, key_file: junk }, 'source.tls'))
        .message,
      /source\.tls\.key_file .* holds no unencrypted PEM private key/,
    );
    const e = configError(() =>
      loadTlsFiles({ cert_file: f.clientCert, key_file: f.serverKey }, 'source.tls'),
    );
    assert.match(e.message, /source\.tls\.key_file .* is not the key of the certificate in/);
  });

  it('refuses an expired client certificate, saying when it expired', () => {
    const e = configError(() =>
      loadTlsFiles(
        { cert_file: f.expiredClientCert, key_file: f.expiredClientKey },
        'exactly_once.nats.tls',
      ),
    );
    assert.match(
      e.message,
      /client certificate in exactly_once\.nats\.tls\.cert_file .* expired on 2020-12-31/,
    );
    assert.match(e.hint ?? '', /renew/);
    // Before it was valid.
    const early = configError(() =>
      loadTlsFiles(
        { cert_file: f.clientCert, key_file: f.clientKey },
        'source.tls',
        new Date('2001-01-01T00:00:00Z'),
      ),
    );
    assert.match(early.message, /is valid only from/);
  });
});

const nodeError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('explainTlsFailure', () => {
  const kafka = {
    peer: 'Kafka' as const,
    where: '127.0.0.1:9095',
    section: 'source.tls',
    tls: { ca_file: '/etc/ca.pem' },
  };

  it('a server certificate not signed by the configured CA', () => {
    // As kafkajs wraps it: a connection error with the socket's code, retried, then given up.
    const socket = nodeError(
      'SELF_SIGNED_CERT_IN_CHAIN',
      'self-signed certificate in certificate chain',
    );
    const kafkajs = Object.assign(new Error(`Connection error: ${socket.message}`), {
      name: 'KafkaJSConnectionError',
      code: socket.code,
    });
    const gaveUp = Object.assign(new Error(kafkajs.message), { cause: kafkajs });
    const e = explainTlsFailure(gaveUp, kafka);
    assert.equal(
      e?.describe(),
      "TLS to Kafka at 127.0.0.1:9095 failed: the server's certificate is not signed by the CA in source.tls.ca_file (self-signed certificate in certificate chain) (fix: set source.tls.ca_file to the PEM file of the CA that signed the server's certificate)",
    );
    assert.equal(e?.retriable, false);
    assert.equal(e?.peer, 'Kafka');
    // Without ca_file, the system CAs were used.
    const system = explainTlsFailure(
      nodeError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
      { ...kafka, tls: {} },
    );
    assert.match(
      system?.message ?? '',
      /a CA this machine trusts \(source\.tls\.ca_file is not set\)/,
    );
  });

  it('an expired server certificate, a wrong host name', () => {
    const expired = explainTlsFailure(nodeError('CERT_HAS_EXPIRED', 'certificate has expired'), {
      ...kafka,
      peer: 'ClickHouse',
      where: 'https://127.0.0.1:8443',
      section: 'sink.clickhouse.tls',
    });
    assert.match(
      expired?.describe() ?? '',
      /^TLS to ClickHouse at https:\/\/127\.0\.0\.1:8443 failed: the server's certificate has expired \(certificate has expired\) \(fix: renew the certificate of ClickHouse/,
    );
    const name = explainTlsFailure(
      nodeError(
        'ERR_TLS_CERT_ALTNAME_INVALID',
        "Hostname/IP does not match certificate's altnames",
      ),
      { ...kafka, peer: 'NATS', section: 'dedup.nats.tls', serverNameOption: true },
    );
    assert.match(name?.hint ?? '', /set dedup\.nats\.tls\.server_name/);
  });

  it('a server asking for a client certificate, or refusing the one given', () => {
    // OpenSSL's message, as Node gives it.
    const required = nodeError(
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      '80AC2FECD77F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n',
    );
    assert.equal(
      explainTlsFailure(required, kafka)?.describe(),
      'TLS to Kafka at 127.0.0.1:9095 failed: the server requires a client certificate (tlsv13 alert certificate required) (fix: set source.tls.cert_file and source.tls.key_file to a client certificate signed by a CA that Kafka trusts)',
    );
    // Kafka (Java) answers a missing certificate with "bad certificate".
    const kafkaAlert = nodeError(
      'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
      '80DC49E4CD7F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n',
    );
    assert.match(
      explainTlsFailure(kafkaAlert, kafka)?.message ?? '',
      /the server requires a client certificate \(sslv3 alert bad certificate\)$/,
    );
    const refused = explainTlsFailure(
      nodeError(
        'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
        'error:0A000418:SSL routines::tlsv1 alert unknown ca',
      ),
      { ...kafka, tls: { cert_file: 'c.pem', key_file: 'k.pem' } },
    );
    assert.match(
      refused?.message ?? '',
      /refused the client certificate in source\.tls\.cert_file \(tlsv1 alert unknown ca\)/,
    );
  });

  it('a port that does not speak TLS; a hang-up may be a restart, so it is retriable', () => {
    const plain = explainTlsFailure(
      nodeError(
        'ERR_SSL_WRONG_VERSION_NUMBER',
        'error:0A00010B:SSL routines:ssl3_get_record:wrong version number',
      ),
      kafka,
    );
    assert.match(plain?.message ?? '', /does not speak TLS on this port \(wrong version number\)/);
    // The same from a write (an https request to an http port).
    const write = nodeError(
      'EPROTO',
      'write EPROTO 807CAD9D927F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n',
    );
    assert.match(explainTlsFailure(write, kafka)?.message ?? '', /does not speak TLS on this port/);
    const hangup = nodeError(
      'ECONNRESET',
      'Client network socket disconnected before secure TLS connection was established',
    );
    assert.equal(explainTlsFailure(hangup, kafka)?.retriable, true);
    assert.equal(isTlsFailure(hangup), false);
    assert.equal(isTlsFailure(plain?.cause), true);
  });

  it('leaves other errors alone', () => {
    assert.equal(
      explainTlsFailure(nodeError('ECONNREFUSED', 'connect ECONNREFUSED'), kafka),
      undefined,
    );
    assert.equal(
      explainTlsFailure(nodeError('ERR_TLS_HANDSHAKE_TIMEOUT', 'timeout'), kafka),
      undefined,
    );
    assert.equal(explainTlsFailure('text', kafka), undefined);
  });
});
