import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryKeyedStore } from './memory-store.ts';
import { KeyedState, StatePartition } from './partitions.ts';

/** A partition whose whole state is a counter, each write one byte of it. */
class Counter extends StatePartition {
  value = 0;
}

function setup(store = new MemoryKeyedStore(), failed: unknown[] = []) {
  const state = new KeyedState<Counter>({
    store,
    snapshotEvery: 3,
    snapshotOf: (p) => [Uint8Array.of(p.value)],
    onSnapshotFailed: (_p, err) => failed.push(err),
  });
  return { store, state, failed };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('keyed state', () => {
  it('writes deltas, then replaces them by a snapshot of the live state every N deltas', async () => {
    const { store, state } = setup();
    const a = new Counter('t', 0);
    const b = new Counter('t', 1);
    for (let i = 1; i <= 3; i++) {
      a.value = i;
      await state.append([
        { p: a, entries: [Uint8Array.of(i)] },
        { p: b, entries: [] },
      ]);
    }
    await Promise.all(state.pending());
    assert.deepEqual(store.stored('t', 0), { deltas: 0, chunks: 1 });
    assert.equal(a.deltas, 0);
    assert.equal(a.snapshotting, false);
    const again = new Counter('t', 0);
    assert.deepEqual(
      (await state.load(again))?.map((e) => e[0]),
      [3],
    );
  });

  it('keeps the deltas when a snapshot fails and tries again after the next write', async () => {
    let failing = true;
    const store = Object.assign(new MemoryKeyedStore(), {
      snapshot(this: MemoryKeyedStore, ...args: Parameters<MemoryKeyedStore['snapshot']>) {
        if (failing) return Promise.reject(new Error('snapshot refused'));
        return MemoryKeyedStore.prototype.snapshot.apply(this, args);
      },
    });
    const { state, failed } = setup(store);
    const p = new Counter('t', 0);
    for (let i = 0; i < 3; i++) await state.append([{ p, entries: [Uint8Array.of(i)] }]);
    await settle();
    assert.equal(failed.length, 1);
    assert.equal(p.deltas, 3);
    failing = false;
    await state.append([{ p, entries: [Uint8Array.of(3)] }]);
    await Promise.all(state.pending());
    assert.equal(p.deltas, 0);
    assert.deepEqual(store.stored('t', 0), { deltas: 0, chunks: 1 });
  });

  it('loads a partition’s entries and delta count, or nothing once it is revoked', async () => {
    const { store, state } = setup();
    await state.append([{ p: new Counter('t', 0), entries: [Uint8Array.of(7)] }]);
    const p = new Counter('t', 0);
    p.loading(state.load(p).then(() => undefined));
    await p.ready;
    assert.equal(p.loaded, true);
    assert.equal(p.deltas, 1);

    let release = (): void => undefined;
    store.loadGate.set('t/0', new Promise<void>((r) => (release = r)));
    const revoked = new Counter('t', 0);
    const loading = state.load(revoked);
    revoked.revoked = true;
    release();
    assert.equal(await loading, undefined);
    assert.equal(revoked.deltas, 0);
  });

  it('reports a failed rebuild to whoever awaits it', async () => {
    const p = new Counter('t', 0);
    p.loading(Promise.reject(new Error('no NATS')));
    await assert.rejects(p.ready, /no NATS/);
    assert.equal(p.loaded, false);
  });
});
