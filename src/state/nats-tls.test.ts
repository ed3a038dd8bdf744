// The probe that finds why TLS to NATS fails when nats.js only says TIMEOUT, against a stand-in
// server that speaks the start of the NATS protocol: INFO in plaintext, then TLS, then PONG.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { testCertificates } from '../tls/testing.ts';
import { explainNatsError, probeNatsTls } from './nats.ts';

const f = testCertificates();
let server: Server;
let port: number;

before(async () => {
  // Like nats-server with `verify: true`: a client certificate signed by the CA is required.
  server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('INFO {"tls_required":true}\r\n');
    const secure = new TLSSocket(socket, {
      isServer: true,
      cert: readFileSync(f.serverCert),
      key: readFileSync(f.serverKey),
      ca: readFileSync(f.ca),
      requestCert: true,
      rejectUnauthorized: true,
    });
    secure.on('error', () => socket.destroy());
    secure.on('data', () => secure.write('PONG\r\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

const pem = (p: string) => readFileSync(p, 'utf8');

describe('probeNatsTls', () => {
  it('finds nothing wrong with a good certificate', async () => {
    const err = await probeNatsTls(
      `nats://127.0.0.1:${port}`,
      { ca: pem(f.ca), cert: pem(f.clientCert), key: pem(f.clientKey) },
      5000,
    );
    assert.equal(err, undefined);
  });

  it('finds the missing client certificate, explained as such', async () => {
    const err = await probeNatsTls(`127.0.0.1:${port}`, { ca: pem(f.ca) }, 5000);
    assert.ok(err);
    const e = explainNatsError(err, [`127.0.0.1:${port}`], 'join.nats', { ca_file: f.ca });
    assert.match(
      e.message,
      new RegExp(
        `^TLS to NATS at 127\\.0\\.0\\.1:${port} failed: the server requires a client certificate`,
      ),
    );
    assert.match(e.hint ?? '', /set join\.nats\.tls\.cert_file and join\.nats\.tls\.key_file/);
    assert.equal(e.retriable, false);
  });

  it('finds a server certificate signed by another CA', async () => {
    const err = await probeNatsTls(`127.0.0.1:${port}`, { ca: pem(f.otherCa) }, 5000);
    assert.equal((err as { code?: string } | undefined)?.code, 'SELF_SIGNED_CERT_IN_CHAIN');
  });

  it('gives up quietly on a server that is not there', async () => {
    assert.equal(await probeNatsTls('127.0.0.1:1', {}, 2000), undefined);
  });
});
