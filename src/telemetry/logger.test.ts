import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { FakeClock } from '../core/clock.ts';
import { clearSecrets, registerSecrets } from '../core/redact.ts';
import { LogLimiter } from './log-limit.ts';
import { createLogger, logLimited } from './logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  // A plain object with write(): pino writes to it synchronously.
  const destination = {
    write(line: string) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  } as unknown as NodeJS.WritableStream;
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('logger', () => {
  const manager = new AsyncLocalStorageContextManager();
  before(() => context.setGlobalContextManager(manager.enable()));
  after(() => context.disable());

  it('adds the trace and span ids of the active span to every line', async () => {
    const { lines, logger } = capture();
    const tracer = new BasicTracerProvider().getTracer('t');
    const span = tracer.startSpan('batch');
    const child = logger.child({ pipeline: 'orders' });
    await context.with(trace.setSpan(context.active(), span), async () => {
      await flush();
      child.info({ stage: 'sink' }, 'inside');
    });
    child.info('outside');
    span.end();
    await flush();
    const sc = span.spanContext();
    assert.equal(lines[0]!.trace_id, sc.traceId);
    assert.equal(lines[0]!.span_id, sc.spanId);
    assert.equal(lines[0]!.pipeline, 'orders');
    assert.equal(lines[0]!.stage, 'sink');
    assert.equal(lines[1]!.trace_id, undefined);
  });

  it('redacts secrets wherever they sit', async () => {
    const { lines, logger } = capture();
    logger.info(
      {
        password: 'p1',
        sink: { clickhouse: { password: 'p2' } },
        source: { sasl: { password: 'p3' } },
        headers: { authorization: 'Bearer x' },
        token: 't',
      },
      'config',
    );
    await flush();
    const text = JSON.stringify(lines[0]);
    for (const secret of ['p1', 'p2', 'p3', 'Bearer x', '"t"'])
      assert.ok(!text.includes(secret), secret);
    assert.match(text, /\[redacted\]/);
  });

  it('masks URL user info and registered secret values in any field or message', async () => {
    const { lines, logger } = capture();
    registerSecrets(['ledger-t0ken', 'pa"ss']);
    try {
      logger.warn(
        { nats: 'nats://u:url-pw@n:4222', err: 'auth failed for ledger-t0ken', detail: 'pa"ss' },
        'NATS at nats://tok@n:4222 said ledger-t0ken',
      );
    } finally {
      clearSecrets();
    }
    await flush();
    assert.deepEqual(
      { nats: lines[0]!.nats, err: lines[0]!.err, detail: lines[0]!.detail, msg: lines[0]!.msg },
      {
        nats: 'nats://***@n:4222',
        err: 'auth failed for ***',
        detail: '***',
        msg: 'NATS at nats://***@n:4222 said ***',
      },
    );
  });

  it('rate-limits repeated lines and says how many were held back', async () => {
    const { lines, logger } = capture();
    const clock = new FakeClock(0);
    const limiter = new LogLimiter(10_000, clock);
    for (let i = 0; i < 5; i++) logLimited(logger, limiter, 'warn', 'k', { attempt: i }, 'failing');
    clock.advance(10_000);
    logLimited(logger, limiter, 'warn', 'k', { attempt: 5 }, 'failing');
    await flush();
    assert.deepEqual(
      lines.map((l) => [l.attempt, l.suppressed]),
      [
        [0, undefined],
        [5, 4],
      ],
    );
  });
});
