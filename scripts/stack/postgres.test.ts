import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  binMajor,
  bootstrapSql,
  postgresBinDir,
  postgresConf,
  postgresConventions,
  postgresHba,
  postgresUrl,
  postgresUrlRedacted,
  scramSha256Verifier,
} from './postgres.ts';

describe('scramSha256Verifier', () => {
  it('matches the RFC 7677 example exchange (user "user", password "pencil")', () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const v = scramSha256Verifier('pencil', salt, 4096);
    const m = /^SCRAM-SHA-256\$4096:([^$]+)\$([^:]+):(.+)$/.exec(v);
    assert.ok(m, v);
    assert.equal(m[1], 'W22ZaJ0SNY7soEsUEjb6gQ==');
    const storedKey = Buffer.from(m[2]!, 'base64');
    const serverKey = Buffer.from(m[3]!, 'base64');
    const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
    const hmac = (key: Buffer) => createHmac('sha256', key).update(authMessage).digest();
    // The server's signature proves ServerKey; the client's proof checks out against StoredKey.
    assert.equal(
      hmac(serverKey).toString('base64'),
      '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    );
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    const signature = hmac(storedKey);
    const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]!));
    assert.deepEqual(createHash('sha256').update(clientKey).digest(), storedKey);
  });

  it('salts each verifier afresh', () => {
    assert.notEqual(scramSha256Verifier('weir'), scramSha256Verifier('weir'));
  });
});

describe('postgres stack config', () => {
  it('bootstraps the weir role by verifier only: the password is not in the SQL', () => {
    const sql = bootstrapSql({ ...postgresConventions, password: 'hunter2-secret' });
    assert.match(sql, /CREATE ROLE weir LOGIN PASSWORD 'SCRAM-SHA-256\$4096:/);
    assert.match(sql, /CREATE DATABASE weir OWNER weir;/);
    assert.doesNotMatch(sql, /hunter2/);
  });

  it('listens on 127.0.0.1:5432 only, without a Unix socket, and asks TCP clients for a password', () => {
    const conf = postgresConf({ hbaFile: '/x/pg_hba.conf', identFile: '/x/pg_ident.conf' });
    assert.match(conf, /^listen_addresses = '127\.0\.0\.1'$/m);
    assert.match(conf, /^port = 5432$/m);
    assert.match(conf, /^unix_socket_directories = ''$/m);
    assert.match(conf, /^hba_file = '\/x\/pg_hba\.conf'$/m);
    const rules = postgresHba.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(
      rules.map((l) => l.split(/\s+/)),
      [['host', 'all', 'all', '127.0.0.1/32', 'scram-sha-256']],
    );
    assert.equal(postgresUrl(), 'postgres://weir:weir@127.0.0.1:5432/weir');
    assert.equal(postgresUrlRedacted(), 'postgres://weir:***@127.0.0.1:5432/weir');
  });

  it('picks the newest installed server that has both postgres and initdb', () => {
    const root = mkdtempSync(join(tmpdir(), 'weir-pglib-'));
    try {
      assert.equal(postgresBinDir(join(root, 'missing')), undefined);
      const make = (v: string, bins: string[]) => {
        mkdirSync(join(root, v, 'bin'), { recursive: true });
        for (const b of bins) writeFileSync(join(root, v, 'bin', b), '');
      };
      make('9.6', ['postgres', 'initdb']);
      make('15', ['postgres', 'initdb']);
      make('17', ['psql']); // a client only
      assert.equal(postgresBinDir(root), join(root, '15', 'bin'));
      make('16', ['postgres', 'initdb']);
      assert.equal(postgresBinDir(root), join(root, '16', 'bin'));
      assert.equal(binMajor(join(root, '16', 'bin')), '16');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
