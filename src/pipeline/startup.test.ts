import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, ConnectionError, type Peer } from '../core/errors.ts';
import { createLogger } from '../telemetry/logger.ts';
import { openWhenReachable, type WaitOptions } from './startup.ts';

function capture() {
  const lines: { level: string; msg: string }[] = [];
  // A plain object with write(): pino writes to it synchronously.
  const destination = {
    write: (line: string) => lines.push(JSON.parse(line) as { level: string; msg: string }),
  } as unknown as NodeJS.WritableStream;
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

const down = (peer: Peer) =>
  new ConnectionError(`cannot reach ${peer} at somewhere`, {
    retriable: true,
    peer,
    hint: `start ${peer}`,
  });

/** Options with a sleep that returns at once, recording why the start waited. */
function options(over: Partial<WaitOptions<string>> = {}) {
  const { lines, logger } = capture();
  const waiting: (string | undefined)[] = [];
  const released: string[] = [];
  const o: WaitOptions<string> = {
    signal: new AbortController().signal,
    logger,
    onWaiting: (why) => waiting.push(why),
    release: (opened) => (released.push(opened), Promise.resolve()),
    retry: { sleep: () => Promise.resolve() },
    ...over,
  };
  return { o, lines, waiting, released };
}

/** An open that fails with each of `errors` in turn, then opens. */
function failingWith(...errors: Error[]) {
  let calls = 0;
  const open = () => {
    const err = errors[calls++];
    return err === undefined ? Promise.resolve('parts') : Promise.reject(err);
  };
  return { open, calls: () => calls };
}

describe('opening a pipeline while a service is down', () => {
  it('waits out an unreachable service: one warning per outage, readiness names it and the fix', async () => {
    const { o, lines, waiting } = options();
    const { open, calls } = failingWith(...Array.from({ length: 6 }, () => down('ClickHouse')));
    assert.equal(await openWhenReachable(open, o), 'parts');
    assert.equal(calls(), 7);
    const warnings = lines.filter((l) => l.level === 'warn');
    assert.deepEqual(
      warnings.map((l) => l.msg),
      ['waiting for ClickHouse: the pipeline starts once it can be reached'],
    );
    assert.equal(waiting.length, 7);
    assert.equal(
      waiting[0],
      'waiting for ClickHouse: cannot reach ClickHouse at somewhere (fix: start ClickHouse)',
    );
    assert.equal(waiting.at(-1), undefined, 'no longer waiting once open');
    assert.ok(lines.some((l) => l.msg === 'ClickHouse can be reached again: starting'));
  });

  it('warns again when it comes to wait for another service', async () => {
    const { o, lines } = options();
    const { open } = failingWith(down('Kafka'), down('Kafka'), down('NATS'));
    assert.equal(await openWhenReachable(open, o), 'parts');
    assert.deepEqual(
      lines.filter((l) => l.level === 'warn').map((l) => l.msg),
      [
        'waiting for Kafka: the pipeline starts once it can be reached',
        'waiting for NATS: the pipeline starts once it can be reached',
      ],
    );
  });

  it('fails at once on a config problem (credentials, a missing table)', async () => {
    const { o, lines } = options();
    const wrong = new ConnectionError('ClickHouse refused the user', { hint: 'check password' });
    const { open, calls } = failingWith(wrong);
    await assert.rejects(openWhenReachable(open, o), (e) => e === wrong);
    assert.equal(calls(), 1);
    const { open: missing } = failingWith(down('ClickHouse'), new ConfigError('no table'));
    await assert.rejects(openWhenReachable(missing, o), ConfigError);
    assert.equal(lines.filter((l) => l.level === 'warn').length, 1);
  });

  it('ends a wait between attempts at once when stopped', async () => {
    const stop = new AbortController();
    // A sleep that only the stop ends, as the real one does.
    const sleep = (_ms: number, signal?: AbortSignal) =>
      new Promise((resolve) => signal?.addEventListener('abort', resolve));
    const { o } = options({ signal: stop.signal, retry: { sleep } });
    const { open, calls } = failingWith(down('NATS'));
    const opening = openWhenReachable(open, o);
    await new Promise((r) => setImmediate(r));
    stop.abort();
    assert.equal(await opening, undefined);
    assert.equal(calls(), 1);
  });

  it('ends a wait during an attempt at once when stopped, and closes what the attempt opens', async () => {
    const stop = new AbortController();
    const { o, released } = options({ signal: stop.signal });
    let finish!: (parts: string) => void;
    const attempt = new Promise<string>((r) => (finish = r));
    const opening = openWhenReachable(() => attempt, o);
    stop.abort();
    assert.equal(await opening, undefined);
    assert.deepEqual(released, []);
    finish('late parts');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(released, ['late parts']);
  });
});
