import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../telemetry/logger.ts';
import { ConfigError, ConnectionError, isRetriable } from '../core/errors.ts';
import { explainNatsError, natsAuth, natsFailure, retryNats } from './nats.ts';

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
    // An outage: a start waits for it (pipeline/startup.ts).
    assert.ok(refused.retriable);
    assert.equal(refused.peer, 'NATS');
    const denied = explainNatsError(
      Object.assign(new Error('Authorization Violation'), { code: 'AUTHORIZATION_VIOLATION' }),
      ['nats://weir@n1:4222'],
      'sink.clickhouse.exactly_once.nats',
    );
    assert.match(denied.message, /rejected the credentials/);
    assert.match(denied.hint ?? '', /sink\.clickhouse\.exactly_once\.nats\.user\/password/);
  });

  it('name the servers without the credentials in their URLs', () => {
    const err = explainNatsError(
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'CONNECTION_REFUSED' }),
      ['nats://weir:pw-in-url@n1:4222', 'tok3n@n2:4222'],
      'dedup.nats',
    );
    assert.match(err.message, /cannot reach NATS at nats:\/\/\*\*\*@n1:4222,\*\*\*@n2:4222/);
    assert.doesNotMatch(err.message, /pw-in-url|tok3n/);
  });

  it('turn credentials in server URLs into connection options (nats.js ignores them there)', () => {
    const base = { timeout_ms: 1000 };
    assert.deepEqual(
      natsAuth({ ...base, servers: ['nats://weir:p%40ss@n1:4222', 'n2:4222'] }, 'dedup.nats'),
      { servers: ['nats://n1:4222', 'n2:4222'], user: 'weir', pass: 'p@ss' },
    );
    assert.deepEqual(natsAuth({ ...base, servers: ['t0ken@n1:4222'] }, 'dedup.nats'), {
      servers: ['n1:4222'],
      token: 't0ken',
    });
    assert.deepEqual(
      natsAuth({ ...base, servers: ['n1:4222'], user: 'u', password: 'p' }, 'dedup.nats'),
      { servers: ['n1:4222'], user: 'u', pass: 'p', token: undefined },
    );
    assert.throws(
      () => natsAuth({ ...base, servers: ['a:b@n1:4222', 'a:c@n2:4222'] }, 'join.nats'),
      (err: unknown) =>
        err instanceof ConfigError &&
        /servers of join\.nats carry different credentials/.test(err.message) &&
        !err.message.includes(':b') &&
        !err.message.includes(':c'),
    );
    assert.throws(
      () => natsAuth({ ...base, servers: ['a:b@n1:4222'], token: 'x' }, 'join.nats'),
      /join\.nats\.servers carry credentials and join\.nats sets them too/,
    );
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

  it('mark transient failures retriable and leave the others as they are', () => {
    const timeout = Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
    const marked = natsFailure(timeout);
    assert.ok(marked instanceof ConnectionError);
    assert.ok(isRetriable(marked));
    assert.equal(marked.message, 'TIMEOUT');
    assert.equal(marked.cause, timeout);
    const conflict = Object.assign(new Error('wrong last sequence: 3'), {
      api_error: { code: 400, err_code: 10071 },
    });
    assert.equal(natsFailure(conflict), conflict);
    assert.ok(!isRetriable(natsFailure(conflict)));
    const denied = new Error('permissions violation');
    assert.equal(natsFailure(denied), denied);
    const down = Object.assign(new Error('server error'), { api_error: { code: 503 } });
    assert.ok(isRetriable(natsFailure(down)));
  });

  it('stop retrying when the signal aborts, with the last failure', async () => {
    const abort = new AbortController();
    const logger = createLogger({ level: 'silent' });
    const failing = retryNats(
      () => Promise.reject(Object.assign(new Error('disconnected'), { code: 'DISCONNECT' })),
      { what: 'read', logger, signal: abort.signal, initialMs: 60_000 },
    );
    setImmediate(() => abort.abort());
    await assert.rejects(
      failing,
      (e) => e instanceof ConnectionError && /disconnected/.test(e.message),
    );
  });
});
