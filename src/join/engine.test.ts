// The join's semantics on a fake clock and an in-memory store: each case states the timeline.
// within 10 s, allowed lateness 2 s, idle timeout 5 s unless a test says otherwise.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../core/clock.ts';
import type { FieldInfo } from '../core/fields.ts';
import type { Envelope, StageOutput } from '../core/record.ts';
import { envelope, sourceRecord } from '../stages/testkit.ts';
import { planKey } from '../state/keyed/key.ts';
import { MemoryKeyedStore } from '../state/keyed/memory-store.ts';
import { JoinEngine, encodeEntries, type JoinObserver, type JoinSettings } from './engine.ts';
import { EVENT_OVERHEAD_BYTES } from './size.ts';

const T0 = Date.UTC(2025, 0, 1);
const s = (sec: number) => T0 + sec * 1000;
const left: FieldInfo[] = [
  { name: 'id', type: { kind: 'string' }, nullable: false },
  { name: 'ts', type: { kind: 'datetime' }, nullable: false },
];
const right: FieldInfo[] = [
  { name: 'order_id', type: { kind: 'string' }, nullable: true },
  { name: 'amount', type: { kind: 'number' }, nullable: false },
  { name: 'paid', type: { kind: 'datetime' }, nullable: false },
];

function engine(
  over: Partial<JoinSettings> = {},
  shared: { store?: MemoryKeyedStore; clock?: FakeClock; observer?: JoinObserver } = {},
) {
  const clock = shared.clock ?? new FakeClock(s(0));
  const store = shared.store ?? new MemoryKeyedStore();
  const released: StageOutput[] = [];
  const e = new JoinEngine(
    {
      type: 'inner',
      withinMs: 10_000,
      latenessMs: 2_000,
      match: 'all',
      idleMs: 5_000,
      leftTopic: 'orders',
      rightTopic: 'payments',
      leftKey: planKey('id', left),
      rightKey: planKey('order_id', right),
      leftTime: 'ts',
      rightTime: 'paid',
      outputs: [
        { name: 'id', side: 'left', field: 'id' },
        { name: 'amount', side: 'right', field: 'amount' },
      ],
      maxBufferRecords: 1000,
      maxBufferBytes: 1 << 30,
      lateLeft: 'emit_unmatched',
      ...over,
    },
    { store, clock, snapshotEvery: 3, observer: shared.observer },
  );
  e.setRelease('orders', 0, (out) => released.push(out));
  return { e, clock, store, released };
}

let offsets = { orders: 0, payments: 0 };
const L = (id: string | null, sec: number, offset = offsets.orders++): Envelope =>
  envelope(
    { id, ts: s(sec) },
    sourceRecord({}, { topic: 'orders', partition: 0, offset: String(offset) }),
  );
const R = (orderId: string | null, sec: number, amount: unknown = 1, offset = offsets.payments++) =>
  envelope(
    { order_id: orderId, amount, paid: s(sec) },
    sourceRecord({}, { topic: 'payments', partition: 0, offset: String(offset) }),
  );

/** Rows as `id:amount`, drops as `id@offset:reason`. */
const rows = (out: StageOutput | StageOutput[]) =>
  [out].flat().flatMap((o) => o.out.map((e) => `${String(e.row.id)}:${String(e.row.amount)}`));
const drops = (out: StageOutput | StageOutput[]) =>
  [out]
    .flat()
    .flatMap((o) =>
      o.dropped.map(
        (d) => `${String('id' in d.env.row ? d.env.row.id : d.env.row.order_id)}:${d.reason}`,
      ),
    );

describe('join: windows and matching', () => {
  it('matches inside the window, once the right side has moved past it', async () => {
    offsets = { orders: 0, payments: 0 };
    const { e, released } = engine();
    await e.process([R('a', 100, 7)]);
    // 105 + 10 s window: undecided until the right time less the lateness passes 115 s.
    assert.deepEqual(rows(await e.process([L('a', 105)])), []);
    assert.equal(e.heldFrom('orders', 0), '0');
    await e.process([R('x', 116)]); // 116 - 2 = 114: not yet
    assert.deepEqual(released, []);
    await e.process([R('y', 118)]); // 118 - 2 = 116 > 115: decided
    assert.deepEqual(rows(released), ['a:7']);
    assert.equal(e.heldFrom('orders', 0), undefined);
  });

  it('matches at exactly the window and not a millisecond beyond it, either way', async () => {
    offsets = { orders: 0, payments: 0 };
    const { e } = engine();
    await e.process([R('a', 100, 1), R('b', 100, 2), R('c', 130, 3), R('d', 129.999, 4)]);
    await e.process([R('z', 200)]);
    const out = await e.process([L('a', 110), L('b', 110.001), L('c', 120), L('d', 119.998)]);
    assert.deepEqual(rows(out), ['a:1', 'c:3']);
    assert.deepEqual(drops(out), ['b:expired', 'd:expired']);
  });

  it('joins a right event late within the allowed lateness, drops one later than that', async () => {
    offsets = { orders: 0, payments: 0 };
    const { e, released } = engine();
    await e.process([L('a', 110), L('b', 110)]);
    const r = await e.process([
      R('z', 120), // right time 120
      R('a', 118.5, 5), // 1.5 s behind: within the 2 s lateness, buffered
      R('b', 117.9, 6), // 2.1 s behind: late, dropped
    ]);
    assert.deepEqual(drops(r), ['z:buffered', 'a:buffered', 'b:late']);
    await e.process([R('y', 123)]); // 121 > 120: both windows close
    assert.deepEqual(rows(released), ['a:5']);
    assert.deepEqual(drops(released), ['b:expired']);
  });

  it('drops a left event later than the allowed lateness behind its partition', async () => {
    offsets = { orders: 0, payments: 0 };
    const { e } = engine();
    await e.process([R('a', 100, 1), R('z', 300)]);
    const out = await e.process([L('x', 110), L('a', 108.5), L('a', 107.9)]);
    assert.deepEqual(rows(out), ['a:1']);
    assert.deepEqual(drops(out), ['x:expired', 'a:late']);
  });

  it('left join: an unmatched event is emitted with nulls when its window closes, not before', async () => {
    offsets = { orders: 0, payments: 0 };
    const { e, released } = engine({ type: 'left' });
    assert.deepEqual(rows(await e.process([L('a', 100), L('b', 101)])), []);
    await e.process([R('a', 104, 9), R('q', 111)]); // 109 > ... not yet past 110
    assert.deepEqual(released, []);
    await e.process([R('q', 112.5)]); // 110.5 > 110: a closes; b (111) still open
    assert.deepEqual(rows(released), ['a:9']);
    await e.process([R('q', 113.5)]);
    assert.deepEqual(rows(released), ['a:9', 'b:null']);
  });

  it('one-to-many emits every match in offset order; latest only the newest', async () => {
    offsets = { orders: 0, payments: 0 };
    const all = engine();
    const latest = engine({ match: 'latest' });
    for (const { e } of [all, latest]) {
      offsets.payments = 0;
      // 101.5 is behind 103, within the lateness.
      await e.process([R('a', 100, 1), R('a', 103, 2), R('a', 101.5, 3), R('z', 200)]);
    }
    offsets.orders = 0;
    assert.deepEqual(rows(await all.e.process([L('a', 101)])), ['a:1', 'a:2', 'a:3']);
    offsets.orders = 0;
    assert.deepEqual(rows(await latest.e.process([L('a', 101)])), ['a:2']);
  });

  it('closes waiting windows when the right partition is idle', async () => {
    offsets = { orders: 0, payments: 0 };
    const { e, clock, released } = engine({ type: 'left' });
    await e.process([R('a', 100, 4)]);
    await e.process([L('a', 101), L('b', 102)]);
    clock.advance(4_999);
    e.tick();
    assert.deepEqual(released, []);
    clock.advance(1);
    e.tick();
    assert.deepEqual(rows(released), ['a:4', 'b:null']);
    // A right event for a closed window is late now.
    assert.deepEqual(drops(await e.process([R('b', 103)])), ['b:late']);
  });

  it('passes left events without a key through a left join, drops them in an inner join', async () => {
    offsets = { orders: 0, payments: 0 };
    const inner = engine();
    await inner.e.process([R('z', 200)]);
    assert.deepEqual(drops(await inner.e.process([L(null, 100)])), ['null:no_key']);
    offsets = { orders: 0, payments: 0 };
    const leftJoin = engine({ type: 'left' });
    await leftJoin.e.process([R(null, 200)]);
    assert.deepEqual(rows(await leftJoin.e.process([L(null, 100)])), ['null:null']);
  });
});

describe('join: state', () => {
  it('replays the same rows after a crash: state restored from the store, lateness as before', async () => {
    offsets = { orders: 0, payments: 0 };
    const store = new MemoryKeyedStore();
    const clock = new FakeClock(s(0));
    const a = engine({}, { store, clock });
    await a.e.process([R('a', 100, 1), R('b', 101, 2), R('z', 130, 0)]);
    await a.e.checkpoint();
    // Left batch 0-2 committed; batch 3-5 decided and persisted, then the agent dies.
    const first = await a.e.process([L('a', 105), L('x', 106), L('b', 104)]);
    await a.e.checkpoint();
    a.e.onCommit('orders', 0, '3');
    // Left time is 106 here: 104.5 is on time (lateness 2 s); after 108, 105.9 is late.
    const second = await a.e.process([L('a', 104.5), L('b', 108), L('b', 105.9)]);
    await a.e.checkpoint();
    assert.deepEqual(rows(first), ['a:1', 'b:2']);
    assert.deepEqual(rows(second), ['a:1', 'b:2']);
    assert.deepEqual(drops(second), ['b:late']);
    // Restart: Kafka redelivers from the committed offset 3. The stored time is 108 by now; the
    // replay must judge lateness from 106, as the first run did, or a:1 would be lost as late.
    const b = engine({}, { store, clock });
    await b.e.onAssign('orders', 0);
    await b.e.onAssign('payments', 0);
    const replay = await b.e.process([L('a', 104.5, 3), L('b', 108, 4), L('b', 105.9, 5)]);
    assert.deepEqual(rows(replay), rows(second));
    assert.deepEqual(drops(replay), drops(second));
  });

  it('does not buffer a replayed right event twice, and forgets what no left event can match', async () => {
    offsets = { orders: 0, payments: 0 };
    const store = new MemoryKeyedStore();
    const a = engine({}, { store });
    await a.e.process([R('a', 100, 1), R('a', 100.5, 2)]);
    await a.e.checkpoint();
    const b = engine({}, { store });
    await b.e.onAssign('payments', 0);
    await b.e.process([R('a', 100, 1, 0), R('a', 100.5, 2, 1), R('z', 140, 0, 2)]);
    assert.equal(b.e.bufferedRight, 3);
    assert.deepEqual(rows(await b.e.process([L('a', 101, 0)])), ['a:1', 'a:2']);
    await b.e.checkpoint();
    b.e.onCommit('orders', 0, '1');
    // Left time 101 less lateness 2 and window 10: right events before 89 s go; none yet.
    assert.equal(b.e.bufferedRight, 3);
    await b.e.process([L('q', 125, 1)]);
    await b.e.checkpoint();
    b.e.onCommit('orders', 0, '2'); // 125 - 12 = 113: both a's go, z stays
    assert.equal(b.e.bufferedRight, 1);
  });

  it('snapshots replace deltas and a rebuild from them gives the same buffer', async () => {
    offsets = { orders: 0, payments: 0 };
    const store = new MemoryKeyedStore();
    const a = engine({}, { store });
    for (let i = 0; i < 6; i++) {
      await a.e.process([R(`k${i}`, 100 + i, i)]);
      await a.e.checkpoint();
    }
    await new Promise((r) => setImmediate(r));
    const held = store.stored('payments', 0);
    assert.ok(held.chunks >= 1 && held.deltas < 6, JSON.stringify(held));
    const b = engine({}, { store });
    await b.e.onAssign('payments', 0);
    assert.equal(b.e.bufferedRight, 6);
    await b.e.process([R('z', 200, 0, 6)]);
    assert.deepEqual(rows(await b.e.process([L('k3', 104, 0)])), ['k3:3']);
  });

  it('rebuilds a buffer of 200,000 right events', async () => {
    offsets = { orders: 0, payments: 0 };
    const store = new MemoryKeyedStore();
    const a = engine({ maxBufferRecords: 1_000_000 }, { store });
    const batch: Envelope[] = [];
    for (let i = 0; i < 200_000; i++) batch.push(R(`k${i}`, 100 + i / 1000, i));
    await a.e.process(batch);
    await a.e.checkpoint();
    const b = engine({ maxBufferRecords: 1_000_000 }, { store });
    await b.e.onAssign('payments', 0);
    assert.equal(b.e.bufferedRight, 200_000);
    // The replay of the last one is recognised, not buffered twice.
    await b.e.process([R('k199999', 100 + 199.999, 1, 199_999)]);
    assert.equal(b.e.bufferedRight, 200_000);
  });
});

describe('join: late left events', () => {
  it('left join: a late left event lands at once, unmatched, even when its match is buffered', async () => {
    offsets = { orders: 0, payments: 0 };
    const late: string[] = [];
    const observer: JoinObserver = {
      left: () => {},
      right: () => {},
      rows: () => {},
      late: (side, behind, outcome) => late.push(`${side}:${behind}:${outcome}`),
    };
    const { e } = engine({ type: 'left' }, { observer });
    await e.process([R('a', 100, 1), R('z', 300)]);
    // 107.9 is 2.1 s behind 110: late. Its match (a at 100) is buffered, but whether it still is
    // depends on commit timing, so it is not looked up.
    const out = await e.process([L('x', 110), L('a', 107.9)]);
    assert.deepEqual(rows(out), ['x:null', 'a:null']);
    assert.deepEqual(drops(out), []);
    assert.deepEqual(late, ['left:2100:emitted_unmatched']);
  });

  it('left join with late_left dead_letter: the late left event goes to the dead letters', async () => {
    offsets = { orders: 0, payments: 0 };
    const { e } = engine({ type: 'left', lateLeft: 'dead_letter' });
    await e.process([R('z', 300)]);
    const out = await e.process([L('x', 110), L('a', 100)]);
    assert.deepEqual(rows(out), ['x:null']);
    assert.deepEqual(drops(out), []);
    assert.deepEqual(
      out.dead.map((d) => `${d.stage}:${d.reason}:${d.source.offset}`),
      ['join:late:1'],
    );
    assert.match(out.dead[0]!.detail, /10000 ms behind .* allowed lateness of 2000 ms/);
  });

  it('left join: every left event of a jittered stream lands exactly once, stragglers unmatched', async () => {
    // Both topics written in arrival order, event times up to 4 s out of order, a few stragglers
    // 30 s behind: with lateness 5 s the jitter is absorbed and only the stragglers are late.
    offsets = { orders: 0, payments: 0 };
    const store = new MemoryKeyedStore();
    const clock = new FakeClock(s(0));
    const run = async (e: JoinEngine, released: StageOutput[]) => {
      const outs: StageOutput[] = [];
      let lo = 0;
      let ro = 0;
      for (let i = 0; i < 2000; i += 50) {
        const lefts: Envelope[] = [];
        const rights: Envelope[] = [];
        for (let j = i; j < i + 50; j++) {
          const jitter = ((j * 7919) % 4000) / 1000;
          const t = j % 97 === 0 && j > 100 ? 100 + j / 10 - 30 : 100 + j / 10 - jitter;
          lefts.push(L(`k${j}`, t, lo++));
          if (j % 3 !== 0)
            rights.push(R(`k${j}`, 100 + j / 10 - ((j * 31) % 4000) / 1000, j, ro++));
        }
        outs.push(await e.process(rights));
        outs.push(await e.process(lefts));
      }
      e.tick();
      clock.advance(60_000);
      e.tick();
      return [...outs, ...released];
    };
    // Never paused here (no pipeline): a bound it reached would keep its idle rule off.
    const a = engine({ type: 'left', latenessMs: 5_000, maxBufferRecords: 1e6 }, { store, clock });
    const outs = await run(a.e, a.released);
    const ids = outs.flatMap((o) => o.out.map((x) => String(x.row.id)));
    assert.equal(ids.length, 2000);
    assert.equal(new Set(ids).size, 2000);
    assert.deepEqual(
      outs.flatMap((o) => drops(o).filter((d) => !d.endsWith(':buffered'))),
      [],
    );
    const stragglers = outs
      .flatMap((o) => o.out)
      .filter((x) => Number(x.source.offset) % 97 === 0 && Number(x.source.offset) > 100);
    assert.ok(stragglers.length > 10);
    for (const x of stragglers) assert.equal(x.row.amount, null, `${String(x.row.id)} is late`);
    // Matched where a right event exists and the left one is on time.
    const matched = outs.flatMap((o) => o.out).filter((x) => x.row.amount !== null);
    assert.ok(matched.length > 1200, String(matched.length));
  });

  it('inner join drops a late left event, counted and reported with how far behind it is', async () => {
    offsets = { orders: 0, payments: 0 };
    const counted: string[] = [];
    const observer: JoinObserver = {
      left: (o, n) => counted.push(`left:${o}:${n}`),
      right: (o, n) => counted.push(`right:${o}:${n}`),
      rows: () => {},
      late: (side, behind, outcome) => counted.push(`late:${side}:${behind}:${outcome}`),
    };
    const { e } = engine({}, { observer });
    await e.process([R('z', 300)]);
    const out = await e.process([L('x', 110), L('a', 105)]);
    assert.deepEqual(drops(out), ['x:expired', 'a:late']);
    assert.deepEqual(counted.slice(-2), ['left:late:1', 'late:left:5000:dropped']);
  });
});

describe('join: the buffer bounded in bytes', () => {
  // '€' is one UTF-16 code unit and three UTF-8 bytes: counting .length would see a third.
  const euros = (n: number) => '€'.repeat(n);

  it('counts a buffered event as the UTF-8 bytes of its key and kept fields, plus its overhead', async () => {
    offsets = { orders: 0, payments: 0 };
    const { e } = engine();
    // Kept: the key and `amount` (the output's one right field); `paid` is not kept.
    await e.process([R('ключ', 100, euros(10))]);
    assert.equal(e.bufferedBytes, EVENT_OVERHEAD_BYTES + 8 + 30);
    await e.process([R('k', 100, 12.5)]);
    assert.equal(e.bufferedBytes, 2 * EVENT_OVERHEAD_BYTES + 8 + 30 + 1 + 8);
  });

  it('is full at max_buffer_bytes long before max_buffer_records, and empties by bytes', async () => {
    offsets = { orders: 0, payments: 0 };
    const one = EVENT_OVERHEAD_BYTES + 1 + 3000; // key "a" and 1,000 euros
    const { e } = engine({ maxBufferRecords: 1000, maxBufferBytes: 3 * one });
    await e.process([R('a', 100, euros(1000)), R('a', 101, euros(1000))]);
    assert.equal(e.bufferedBytes, 2 * one);
    assert.equal(e.fullBy, undefined);
    await e.process([R('a', 102, euros(1000))]);
    assert.equal(e.bufferedRight, 3);
    assert.equal(e.fullBy, 'bytes');
    assert.equal(e.full, true);
    // Left time 115 committed: right events before 115 - 2 - 10 = 103 s can match nothing more.
    await e.process([L('z', 115)]);
    await e.checkpoint();
    e.onCommit('orders', 0, '1');
    assert.equal(e.bufferedRight, 0);
    assert.equal(e.bufferedBytes, 0, 'released by the bytes it was counted with');
    assert.equal(e.full, false);
  });

  it('does not close windows while the right partitions are paused for a full buffer', async () => {
    offsets = { orders: 0, payments: 0 };
    const one = EVENT_OVERHEAD_BYTES + 1 + 8;
    const { e, clock, released } = engine({ maxBufferBytes: 3 * one });
    await e.process([R('a', 100, 1), R('b', 101, 2)]);
    await e.process([L('z', 120)]);
    await e.process([L('a', 125)]);
    // Right time 134 - 2 = 132: past z's window (130), not a's (135): a is held.
    await e.process([R('c', 134, 3)]);
    assert.equal(e.fullBy, 'bytes');
    assert.equal(e.heldLeft, 1);
    clock.advance(60_000);
    e.tick();
    assert.equal(e.heldLeft, 1, 'paused, not idle: the window of a@125 stays open');
    // z committed: right events before 120 - 12 = 108 can match nothing more and go.
    await e.checkpoint();
    e.onCommit('orders', 0, '1');
    assert.equal(e.full, false);
    // Resumed: the partition has the idle timeout to deliver again; its next event is on time.
    clock.advance(4_000);
    e.tick();
    assert.deepEqual(drops(await e.process([R('a', 133, 5)])), ['a:buffered']);
    await e.process([R('y', 138)]);
    assert.deepEqual(rows(released), ['a:5']);
  });

  it('is full at max_buffer_records when the events are small', async () => {
    offsets = { orders: 0, payments: 0 };
    const { e } = engine({ maxBufferRecords: 2, maxBufferBytes: 1 << 20 });
    await e.process([R('a', 100), R('b', 100)]);
    assert.equal(e.fullBy, 'records');
  });

  it('a rebuilt buffer counts the same bytes', async () => {
    offsets = { orders: 0, payments: 0 };
    const store = new MemoryKeyedStore();
    const a = engine({}, { store });
    await a.e.process([R('é', 100, euros(7)), R('b', 101, { nested: ['ü', 2] })]);
    await a.e.checkpoint();
    const b = engine({}, { store });
    await b.e.onAssign('payments', 0);
    assert.equal(b.e.bufferedRight, 2);
    assert.equal(b.e.bufferedBytes, a.e.bufferedBytes);
  });

  it('reports the bytes of held left events until they are decided', async () => {
    offsets = { orders: 0, payments: 0 };
    const { e } = engine();
    await e.process([R('a', 100)]);
    const value = JSON.stringify({ id: 'a', note: euros(5) });
    const held = envelope(
      { id: 'a', ts: s(105) },
      sourceRecord(value, { topic: 'orders', partition: 0, offset: '0', key: Buffer.from('a') }),
    );
    await e.process([held]);
    assert.equal(e.heldLeftBytes, Buffer.byteLength(value) + 1);
    await e.process([R('y', 118)]);
    assert.equal(e.heldLeftBytes, 0);
  });

  it('writes NATS entries of at most max payload bytes with multi-byte text', async () => {
    offsets = { orders: 0, payments: 0 };
    // 300 euros: 300 UTF-16 code units but 900 bytes per event.
    const records = Array.from({ length: 40 }, (_, i) => ({
      offset: i,
      t: s(100),
      key: `k${i}`,
      row: { amount: euros(300) },
      bytes: 0,
    }));
    const entries = encodeEntries([[39, s(100)]], records, 4000);
    for (const entry of entries) assert.ok(entry.byteLength <= 4000, `${entry.byteLength} bytes`);
    assert.ok(entries.length >= 10, `${entries.length} entries`);
    // Through the engine: a store that refuses larger entries (as NATS does) takes them all, and a
    // rebuild has every event back.
    const store = new MemoryKeyedStore(4000);
    const a = engine({}, { store });
    await a.e.process(records.map((r) => R(r.key, 100, r.row.amount)));
    await a.e.checkpoint();
    const b = engine({}, { store });
    await b.e.onAssign('payments', 0);
    assert.equal(b.e.bufferedRight, 40);
  });
});
