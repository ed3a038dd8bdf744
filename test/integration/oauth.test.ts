// SASL OAUTHBEARER against the real broker: its SASL listener (127.0.0.1:9094) takes OAUTHBEARER
// with Kafka's validator of unsigned JWTs, which checks the token's form and expiry and, with
// connections.max.reauth.ms set for OAUTHBEARER, closes connections whose token has expired
// unless the client re-authenticates. A pipeline reads its token from a file; a token that
// expires while it runs is replaced in the file, and the pipeline goes on with the new one.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWeir, waitUntil, weirOnce } from '../helpers/agent.ts';
import { generate, pipelineFixture, tableCounts, waitAgentReady } from '../helpers/pipeline.ts';
import { endpoints } from '../helpers/stack.ts';

/** An unsigned JWT for the broker's unsecured validator. */
const token = (lifetimeSec: number) => {
  const iat = Math.floor(Date.now() / 1000);
  const claims = { sub: 'weir', iat, exp: iat + lifetimeSec };
  return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
};

const dir = mkdtempSync(join(tmpdir(), 'weir-oauth-'));

describe('SASL OAUTHBEARER', () => {
  it('consumes with a token from a file and keeps going after the file is rewritten with a new token', async () => {
    const file = join(dir, 'token');
    // Short-lived: the broker ends the session when it expires unless the client re-authenticates.
    writeFileSync(file, token(20));
    const f = await pipelineFixture({
      partitions: 2,
      maxDelayMs: 300,
      source: {
        brokers: [endpoints.kafkaSasl],
        sasl: { mechanism: 'oauthbearer', token_file: file },
      },
    });
    const agent = runWeir(['run', '-c', f.configPath], { OTEL_SDK_DISABLED: 'true' });
    try {
      await waitAgentReady(f, agent);
      await generate(f, { count: 2000, seed: 21 });
      await waitUntil(
        'the first 2,000 rows',
        async () => (await tableCounts(f)).rows === 2000,
        60_000,
      );
      // A sidecar refreshes the token; the first one expires meanwhile.
      writeFileSync(file, token(3600)); // same principal: brokers refuse a change on re-authentication
      await new Promise((r) => setTimeout(r, 25_000));
      await generate(f, { count: 3000, seed: 22 });
      await waitUntil(
        `all 5,000 rows after the first token expired\n${agent.output().slice(-2000)}`,
        async () => (await tableCounts(f)).rows === 5000,
        90_000,
      );
      assert.deepEqual(await tableCounts(f), { rows: 5000, unique: 5000 });
      assert.doesNotMatch(agent.output(), /eyJ/, 'no token in the output');
    } finally {
      const agentExit = await agent.stop();
      await f.cleanup();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });

  it('says when the token has expired or is missing, in one line, without the token', async () => {
    const validate = async (sasl: object, env: NodeJS.ProcessEnv = {}) => {
      const f = await pipelineFixture({
        partitions: 1,
        source: { brokers: [endpoints.kafkaSasl], sasl, connection_timeout_ms: 3000 },
      });
      try {
        return await weirOnce(['validate', '-c', f.configPath], { timeoutMs: 60_000, env });
      } finally {
        await f.cleanup();
      }
    };
    const expiredFile = join(dir, 'expired');
    const expired = token(-60);
    writeFileSync(expiredFile, expired);
    const old = await validate({ mechanism: 'oauthbearer', token_file: expiredFile });
    assert.notEqual(old.code, 0);
    assert.match(old.output, /the OAuth token in file .*expired at/);
    assert.ok(!old.output.includes(expired), old.output);
    assert.equal(old.output.trim().split('\n').length, 1, old.output);
    const none = await validate({ mechanism: 'oauthbearer', token_env: 'WEIR_TEST_NO_TOKEN' });
    assert.notEqual(none.code, 0);
    assert.match(none.output, /no OAuth token in environment variable WEIR_TEST_NO_TOKEN/);
    const good = await validate(
      { mechanism: 'oauthbearer', token_env: 'WEIR_TEST_TOKEN' },
      { WEIR_TEST_TOKEN: token(600) },
    );
    assert.equal(good.code, 0, good.output);
  });
});
