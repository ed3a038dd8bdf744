// The batch ledger against the real NATS, through a proxy that loses answers: a write the server
// applied but whose answer never came back must not be taken for another agent's write.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from 'nats';
import { Registry } from 'prom-client';
import { LedgerConflictError, PartitionLedger } from '../../src/state/ledger.ts';
import { NatsLedgerStore } from '../../src/state/ledger-nats.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { startProxy, type TcpProxy } from '../helpers/proxy.ts';
import { endpoints, randomName } from '../helpers/stack.ts';

const [natsHost = '127.0.0.1', natsPort = '4222'] = endpoints.nats.split(':');

/**
 * A ledger store in a fresh bucket, over its own connection through `proxy`, with a 1 s JetStream
 * timeout; `close` deletes the bucket.
 */
async function storeThrough(proxy: TcpProxy) {
  const bucket = randomName('weir_ledger_test');
  const nc = await connect({
    servers: `127.0.0.1:${proxy.port}`,
    name: randomName('weir-test-ledger'),
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  const kv = await nc.jetstream({ timeout: 1000 }).views.kv(bucket, { history: 1 });
  const store = new NatsLedgerStore(kv, {
    pipeline: 'p',
    metrics: createMetrics(new Registry(), { defaults: false }),
    logger: createLogger({ level: 'silent' }),
  });
  const close = async () => {
    store.close();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(`KV_${bucket}`).catch(() => undefined);
    await nc.close();
  };
  return { store, close };
}

describe('batch ledger in NATS', () => {
  it('takes a write whose answer was lost (and that NATS applied) as done', async () => {
    const proxy = await startProxy({ host: natsHost, port: Number(natsPort) });
    const { store, close } = await storeThrough(proxy);
    try {
      const ledger = new PartitionLedger(store, 'p.t.topic.0');
      await ledger.load();
      await ledger.begin('0', '99', 'tok');
      proxy.dropReplies();
      const completing = ledger.complete('99');
      // The update reaches NATS, its answer does not: the client times out (1 s) and retries
      // into the same silence; then the connection is cut and the client reconnects.
      await new Promise((r) => setTimeout(r, 1500));
      proxy.unblock();
      await completing;
      assert.deepEqual(ledger.current, { hw: '99', pending: null });
      await ledger.begin('100', '199', 'tok2');
      const fresh = new PartitionLedger(store, 'p.t.topic.0');
      assert.deepEqual(await fresh.load(), {
        hw: '99',
        pending: { from: '100', to: '199', token: 'tok2', deadLettersWritten: false },
      });
      // The old instance is fenced as before once someone else has written.
      await fresh.complete('199');
      await assert.rejects(ledger.complete('199'), LedgerConflictError);
    } finally {
      await close();
      await proxy.close();
    }
  });
});
