import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../config/load.ts';
import { bearerToken, isLoopback, openApiWarning, tokensMatch, withApiToken } from './auth.ts';

const token = 'f3c1d2e4a5b6c7d8e9f0a1b2';

describe('tokensMatch', () => {
  it('accepts only the same token, whatever the lengths', () => {
    assert.equal(tokensMatch(token, token), true);
    assert.equal(tokensMatch(`${token}x`, token), false);
    assert.equal(tokensMatch(token.slice(0, -1), token), false);
    assert.equal(tokensMatch('', token), false);
    // timingSafeEqual throws on different lengths; hashing first means it never sees them.
    assert.equal(tokensMatch('a'.repeat(1000), token), false);
  });
});

describe('bearerToken', () => {
  it('reads the credentials of a Bearer header, the scheme in any case', () => {
    assert.equal(bearerToken(`Bearer ${token}`), token);
    assert.equal(bearerToken(`bearer ${token}`), token);
    assert.equal(bearerToken(`BEARER  ${token} `), token);
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken(`Basic ${token}`), undefined);
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken(`Bearer ${token} extra`), undefined);
  });
});

describe('isLoopback and the warning of an open API', () => {
  it('tells loopback addresses from the others', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', 'weir.example.com', '128.0.0.1'])
      assert.equal(isLoopback(h), false, h);
  });

  it('warns without a token, says "from the network" unless on loopback, and names the fix', () => {
    assert.equal(openApiWarning('0.0.0.0', token), undefined);
    const open = openApiWarning('0.0.0.0', undefined) ?? '';
    assert.match(open, /no authentication/);
    assert.match(open, /reachable from the network/);
    assert.match(open, /set WEIR_API_TOKEN \(or agent\.http\.token\)/);
    assert.match(open, /127\.0\.0\.1/);
    const local = openApiWarning('127.0.0.1', undefined) ?? '';
    assert.match(local, /no authentication \(reachable from this machine only\)/);
    assert.match(local, /set WEIR_API_TOKEN/);
  });
});

describe('withApiToken', () => {
  const load = (token?: string) =>
    parseConfigText(
      JSON.stringify({
        agent: { http: token === undefined ? {} : { token } },
        pipelines: [
          {
            name: 'p',
            source: { brokers: ['127.0.0.1:9092'], topics: ['t'] },
            schema: { fields: { id: 'string' } },
            sink: { clickhouse: { table: 't' } },
          },
        ],
      }),
      'json',
      {},
    );

  it('takes WEIR_API_TOKEN over agent.http.token, and treats empty as unset', () => {
    const other = 'b'.repeat(20);
    assert.equal(withApiToken(load(token), {}, 'f').agent.http.token, token);
    assert.equal(withApiToken(load(token), { WEIR_API_TOKEN: other }, 'f').agent.http.token, other);
    assert.equal(withApiToken(load(), { WEIR_API_TOKEN: other }, 'f').agent.http.token, other);
    assert.equal(withApiToken(load(token), { WEIR_API_TOKEN: '' }, 'f').agent.http.token, token);
    assert.equal(withApiToken(load(), {}, 'f').agent.http.token, undefined);
    assert.equal(withApiToken(load(''), {}, 'f').agent.http.token, undefined);
  });

  it('rejects a short or spaced WEIR_API_TOKEN naming the variable, never quoting it', () => {
    const secret = 'short-secret';
    assert.throws(
      () => withApiToken(load(), { WEIR_API_TOKEN: secret }, 'weir.yaml'),
      (err: Error) => {
        assert.equal(err.name, 'InvalidConfigError');
        assert.match(
          err.message,
          /^invalid config weir\.yaml \(1 problem\):\nWEIR_API_TOKEN: the API token is shorter than 16 characters \(fix: .*openssl rand -hex 32\)$/,
        );
        assert.ok(!err.message.includes(secret));
        return true;
      },
    );
    assert.throws(
      () => withApiToken(load(), { WEIR_API_TOKEN: `${token}\n` }, 'weir.yaml'),
      /WEIR_API_TOKEN: the API token contains a space, a line break/,
    );
  });
});
