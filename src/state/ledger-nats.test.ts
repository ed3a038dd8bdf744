import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KV } from 'nats';
import { Registry } from 'prom-client';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { LedgerConflictError, PartitionLedger } from './ledger.ts';
import { NatsLedgerStore } from './ledger-nats.ts';

const conflict = () =>
  Object.assign(new Error('wrong last sequence'), {
    code: '400',
    api_error: { code: 400, err_code: 10071 },
  });
const timeout = () => Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });

/**
 * NATS KV's compare-and-set, in memory. `loseNextAnswer('applied')` makes the next write succeed
 * and then time out (its answer lost); `'dropped'` makes it time out without being applied.
 */
class FakeKv {
  private data = new Map<string, { value: Uint8Array; revision: number }>();
  private seq = 0;
  private lose: 'applied' | 'dropped' | undefined;
  /** Runs before the next write is judged (another writer getting in first). */
  private interlude: (() => void) | undefined;

  loseNextAnswer(how: 'applied' | 'dropped', interlude?: () => void): void {
    this.lose = how;
    this.interlude = interlude;
  }

  get(key: string) {
    const e = this.data.get(key);
    return Promise.resolve(e ? { ...e, operation: 'PUT' } : null);
  }
  create(key: string, value: Uint8Array) {
    return this.put(key, value, 0);
  }
  update(key: string, value: Uint8Array, revision: number) {
    return this.put(key, value, revision);
  }
  /** Another agent's write, straight to the store. */
  overwrite(key: string, value: Uint8Array): void {
    this.data.set(key, { value, revision: ++this.seq });
  }
  private put(key: string, value: Uint8Array, expected: number): Promise<number> {
    const { lose, interlude } = this;
    this.lose = undefined;
    this.interlude = undefined;
    interlude?.();
    if (lose === 'dropped') return Promise.reject(timeout());
    if ((this.data.get(key)?.revision ?? 0) !== expected) return Promise.reject(conflict());
    this.data.set(key, { value, revision: ++this.seq });
    return lose === 'applied' ? Promise.reject(timeout()) : Promise.resolve(this.seq);
  }
}

function storeOver(kv: FakeKv): NatsLedgerStore {
  return new NatsLedgerStore(kv as unknown as KV, {
    pipeline: 'p',
    metrics: createMetrics(new Registry(), { defaults: false }),
    logger: createLogger({ level: 'silent' }),
  });
}

describe('NatsLedgerStore', () => {
  it('takes an update that timed out but was applied as done, not as a conflict', async () => {
    const kv = new FakeKv();
    const ledger = new PartitionLedger(storeOver(kv), 'k');
    await ledger.load();
    await ledger.begin('0', '9', 't');
    kv.loseNextAnswer('applied');
    await ledger.complete('9');
    assert.deepEqual(ledger.current, { hw: '9', pending: null });
    // The revision read back is the ledger's own: the next write goes through.
    await ledger.begin('10', '19', 't2');
    assert.deepEqual(await new PartitionLedger(storeOver(kv), 'k').load(), {
      hw: '9',
      pending: { from: '10', to: '19', token: 't2', deadLettersWritten: false },
    });
  });

  it('takes a create that timed out but was applied as done', async () => {
    const kv = new FakeKv();
    const ledger = new PartitionLedger(storeOver(kv), 'k');
    await ledger.load();
    kv.loseNextAnswer('applied');
    await ledger.begin('0', '9', 't');
    await ledger.complete('9');
    assert.equal((await new PartitionLedger(storeOver(kv), 'k').load()).hw, '9');
  });

  it('still fences a stale writer whose unanswered write met another agent', async () => {
    const kv = new FakeKv();
    const old = new PartitionLedger(storeOver(kv), 'k');
    await old.load();
    await old.begin('0', '9', 't');
    const owner = new PartitionLedger(storeOver(kv), 'k');
    await owner.load();
    // The new owner completes the same batch - the same entry, but its own - while the old
    // owner's write times out unapplied.
    kv.loseNextAnswer('dropped', () => void owner.complete('9'));
    await assert.rejects(old.complete('9'), LedgerConflictError);
  });

  it('still fences a stale writer whose write timed out after another agent wrote', async () => {
    const kv = new FakeKv();
    const old = new PartitionLedger(storeOver(kv), 'k');
    await old.load();
    await old.begin('0', '9', 't');
    kv.overwrite('k', new TextEncoder().encode('{"hw":"9","pending":null,"writer":"b"}'));
    kv.loseNextAnswer('dropped');
    await assert.rejects(old.complete('9'), LedgerConflictError);
  });
});
