import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LedgerConflictError, PartitionLedger, ledgerKey } from './ledger.ts';
import { MemoryStore } from './memory-store.ts';

describe('PartitionLedger', () => {
  it('records pending, dead letters and completion, and survives a reload', async () => {
    const store = new MemoryStore();
    const a = new PartitionLedger(store, 'k');
    assert.deepEqual(await a.load(), { hw: '-1', pending: null });
    await a.begin('0', '99', 't1');
    await a.markDeadLettersWritten();
    const b = new PartitionLedger(store, 'k');
    assert.deepEqual(await b.load(), {
      hw: '-1',
      pending: { from: '0', to: '99', token: 't1', deadLettersWritten: true },
    });
    await b.complete('99');
    assert.deepEqual(await new PartitionLedger(store, 'k').load(), { hw: '99', pending: null });
  });

  it('accepts the replay of the pending batch and refuses a different range', async () => {
    const l = new PartitionLedger(new MemoryStore(), 'k');
    await l.load();
    await l.begin('0', '9', 't');
    await l.begin('0', '9', 't');
    await assert.rejects(l.begin('0', '12', 't'), /does not match the pending 0-9/);
  });

  it('fences a stale writer with compare-and-set', async () => {
    const store = new MemoryStore();
    const old = new PartitionLedger(store, 'k');
    await old.load();
    await old.begin('0', '9', 't');
    const owner = new PartitionLedger(store, 'k');
    await owner.load();
    await owner.complete('9');
    await assert.rejects(old.complete('9'), LedgerConflictError);
  });

  it('a claim fences the previous owner at once, before the new owner writes a batch', async () => {
    const store = new MemoryStore();
    const old = new PartitionLedger(store, 'k', 'old');
    await old.load();
    await old.begin('0', '9', 't');
    const owner = new PartitionLedger(store, 'k', 'new');
    assert.deepEqual((await owner.claim()).pending?.to, '9');
    // The old owner, still finishing its batch, can no longer complete it (nor begin another).
    await assert.rejects(old.complete('9'), LedgerConflictError);
    await owner.complete('9');
    assert.deepEqual(await new PartitionLedger(store, 'k').load(), { hw: '9', pending: null });
  });

  it('a claim reads again when the previous owner writes between its read and its write', async () => {
    const store = new MemoryStore();
    const old = new PartitionLedger(store, 'k', 'old');
    await old.load();
    let raced = false;
    const racing = {
      get: async (key: string) => {
        const got = await store.get(key);
        if (!raced) {
          raced = true;
          await old.begin('0', '9', 't'); // lands after the claim's read
        }
        return got;
      },
      create: (key: string, value: Uint8Array) => store.create(key, value),
      update: (key: string, value: Uint8Array, revision: number) =>
        store.update(key, value, revision),
    };
    const owner = new PartitionLedger(racing, 'k', 'new');
    const entry = await owner.claim();
    assert.equal(entry.pending?.from, '0', 'the claim saw the batch the old owner began');
    await assert.rejects(old.complete('9'), LedgerConflictError);
  });

  it('a memo bigger than a quarter of the value size goes to parts cut in bytes, and reads back whole', async () => {
    const store = new MemoryStore(4096);
    const l = new PartitionLedger(store, 'k');
    await l.load();
    // Multi-byte characters, so a part boundary falls inside one.
    const memo = { names: Array.from({ length: 400 }, (_, i) => `€ campaign ${i} 🚀`) };
    await l.begin('0', '9', 't', memo);
    assert.ok(l.current.pending?.memoParts && l.current.pending.memoParts.length > 2);
    const again = new PartitionLedger(store, 'k');
    await again.load();
    assert.deepEqual(await again.pendingMemo(), memo);
    const small = new PartitionLedger(new MemoryStore(4096), 'k');
    await small.load();
    await small.begin('0', '9', 't', { n: 1 });
    assert.deepEqual(small.current.pending?.memo, { n: 1 }, 'a small memo stays inline');
  });

  it('a write the store refuses for another reason than a conflict is not called a conflict', async () => {
    const l = new PartitionLedger(new MemoryStore(10), 'k');
    await l.load();
    const err = await l.begin('0', '9', 't').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error && !(err instanceof LedgerConflictError));
    assert.match(err.message, /cannot write the batch ledger k: message size exceeds maximum/);
  });

  it('stores its writer, so two agents never write identical bytes', async () => {
    const written: string[] = [];
    const store = new MemoryStore();
    const spy = {
      get: (key: string) => store.get(key),
      create: (key: string, value: Uint8Array) => {
        written.push(new TextDecoder().decode(value));
        return store.create(key, value);
      },
      update: (key: string, value: Uint8Array, revision: number) => {
        written.push(new TextDecoder().decode(value));
        return store.update(key, value, revision);
      },
    };
    const a = new PartitionLedger(spy, 'k');
    await a.load();
    await a.begin('0', '9', 't');
    const b = new PartitionLedger(spy, 'k');
    await b.load();
    await b.begin('0', '9', 't'); // the pending batch, replayed: nothing written
    await b.complete('9');
    assert.equal(written.length, 2);
    assert.match(written[0]!, new RegExp(`"writer":"${a.writer}"`));
    assert.match(written[1]!, new RegExp(`"writer":"${b.writer}"`));
    assert.notEqual(a.writer, b.writer);
    // An entry written before writers were recorded still loads.
    const old = new MemoryStore();
    await old.create('k', new TextEncoder().encode('{"hw":"5","pending":null}'));
    assert.deepEqual(await new PartitionLedger(old, 'k').load(), { hw: '5', pending: null });
  });

  it('builds keys NATS accepts from any topic name', () => {
    assert.equal(ledgerKey('p', 'db.t', 'orders.v1', 3), 'p.db=2et.orders=2ev1.3');
    assert.match(ledgerKey('p', 't', 'a b/c', 0), /^[A-Za-z0-9_=.-]+$/);
  });
});
