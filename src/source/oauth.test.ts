import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConnectionError, describeError } from '../core/errors.ts';
import { clearSecrets } from '../core/redact.ts';
import { jwtExpiry, readToken, tokenProvider } from './oauth.ts';

/** An unsigned JWT (what Kafka's unsecured validator takes) with the given claims. */
const jwt = (claims: object) =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
const now = () => NOW;
const dir = mkdtempSync(join(tmpdir(), 'weir-oauth-'));

describe('OAuth token source', () => {
  it('reads the token from a file again at every call, so a rewritten file is used', async () => {
    const file = join(dir, 'token');
    const first = jwt({ sub: 'weir', exp: NOW / 1000 + 60 });
    const second = jwt({ sub: 'weir', exp: NOW / 1000 + 3600 });
    writeFileSync(file, `${first}\n`);
    const provide = tokenProvider({ token_file: file }, now);
    assert.deepEqual(await provide(), { value: first });
    writeFileSync(file, second);
    assert.deepEqual(await provide(), { value: second });
  });

  it('has every token it reads masked in what Weir prints afterwards', () => {
    const file = join(dir, 'masked');
    const token = jwt({ sub: 'weir', exp: NOW / 1000 + 60 });
    writeFileSync(file, token);
    try {
      readToken({ token_file: file }, now);
      assert.equal(describeError(new Error(`rejected ${token}`)), 'rejected ***');
    } finally {
      clearSecrets();
    }
  });

  it('reads the token from an environment variable', () => {
    process.env.WEIR_TEST_OAUTH_TOKEN = 'opaque-token';
    try {
      assert.deepEqual(readToken({ token_env: 'WEIR_TEST_OAUTH_TOKEN' }, now), {
        value: 'opaque-token',
      });
    } finally {
      delete process.env.WEIR_TEST_OAUTH_TOKEN;
    }
  });

  it('names where the token was looked for when it is missing, empty or expired, never the token', () => {
    const expired = jwt({ sub: 'weir', exp: NOW / 1000 - 1 });
    const file = join(dir, 'expired');
    writeFileSync(file, expired);
    const cases: [Parameters<typeof readToken>[0], RegExp][] = [
      [
        { token_file: join(dir, 'missing') },
        /cannot read the OAuth token file .*missing \(ENOENT\)/,
      ],
      [
        { token_env: 'WEIR_TEST_NO_SUCH_VAR' },
        /no OAuth token in environment variable WEIR_TEST_NO_SUCH_VAR/,
      ],
      [{ token_file: file }, /the OAuth token in file .*expired at 2026-12-05T11:59:59\.000Z/],
    ];
    for (const [source, message] of cases) {
      assert.throws(
        () => readToken(source, now),
        (err: unknown) => {
          assert.ok(err instanceof ConnectionError);
          assert.match(err.message, message);
          assert.ok(!err.message.includes(expired) && !(err.hint ?? '').includes(expired));
          assert.ok(err.hint);
          return true;
        },
      );
    }
  });

  it('reads the expiry of a JWT and nothing from other tokens', () => {
    assert.equal(jwtExpiry(jwt({ exp: 1700000000 })), 1700000000);
    assert.equal(jwtExpiry(jwt({ sub: 'x' })), undefined);
    assert.equal(jwtExpiry('opaque-token'), undefined);
    assert.equal(jwtExpiry('a.%%%.c'), undefined);
  });
});
