import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../telemetry/logger.ts';
import { explainNatsError, retryNats } from './nats.ts';

describe('NATS errors', () => {
  it('name the config section to fix, never a password', () => {
    const refused = explainNatsError(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4999'), {
        code: 'CONNECTION_REFUSED',
      }),
      ['127.0.0.1:4999'],
      'join.nats',
    );
    assert.match(refused.message, /cannot reach NATS at 127\.0\.0\.1:4999/);
    assert.match(refused.hint ?? '', /check join\.nats\.servers/);
    const denied = explainNatsError(
      Object.assign(new Error('Authorization Violation'), { code: 'AUTHORIZATION_VIOLATION' }),
      ['nats://weir@n1:4222'],
      'sink.clickhouse.exactly_once.nats',
    );
    assert.match(denied.message, /rejected the credentials/);
    assert.match(denied.hint ?? '', /sink\.clickhouse\.exactly_once\.nats\.user\/password/);
  });

  it('retries transient failures and gives up at once on others', async () => {
    let calls = 0;
    const logger = createLogger({ level: 'silent' });
    const signal = new AbortController().signal;
    const value = await retryNats(
      () => {
        calls++;
        return calls < 3
          ? Promise.reject(Object.assign(new Error('timeout'), { code: 'TIMEOUT' }))
          : Promise.resolve('ok');
      },
      { what: 'read', logger, signal, initialMs: 1 },
    );
    assert.equal(value, 'ok');
    assert.equal(calls, 3);
    await assert.rejects(
      retryNats(() => Promise.reject(new Error('permissions violation')), {
        what: 'write',
        logger,
        signal,
        initialMs: 1,
      }),
      /permissions violation/,
    );
  });
});
