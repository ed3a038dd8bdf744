import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventFactory, type EventFactoryOptions, type GeneratedRecord } from './events.ts';
import { classifyOrder } from './malformed.ts';

function run(n: number, opts: Partial<EventFactoryOptions> = {}) {
  const factory = new EventFactory({ seed: 1, trackIds: true, ...opts });
  const orders: GeneratedRecord[] = [];
  const payments: GeneratedRecord[] = [];
  const paymentAfterOrders: number[] = [];
  for (let i = 0; i < n; i++) {
    orders.push(factory.nextOrder());
    for (const p of factory.duePayments()) {
      payments.push(p);
      paymentAfterOrders.push(orders.length);
    }
  }
  payments.push(...factory.remainingPayments());
  return { factory, orders, payments, paymentAfterOrders };
}

describe('EventFactory', () => {
  it('pads orders to the record size asked for, with text that differs between records', () => {
    const { orders } = run(200, { recordBytes: 10_240, dupRate: 0 });
    const notes = new Set<string>();
    for (const r of orders) {
      assert.equal(r.value.length, 10_240);
      const order = JSON.parse(r.value.toString()) as { note: string; event_id: string };
      assert.match(order.note, /^[A-Za-z0-9]+$/);
      notes.add(order.note.slice(0, 64));
    }
    assert.ok(notes.size > 190, `${notes.size} distinct notes of 200`);
    // Without a size the orders stay as they were (~250 bytes, no note).
    const plain = run(10).orders.map((r) => JSON.parse(r.value.toString()) as object);
    assert.ok(plain.every((o) => !('note' in o)));
  });

  it('is deterministic: same seed, same bytes; other seed, other bytes', () => {
    const bytes = (seed: number) =>
      run(2000, { seed, dupRate: 0.1, badRate: 0.05, joinRate: 0.5 })
        .orders.map((r) => r.value.toString('base64'))
        .join();
    assert.equal(bytes(7), bytes(7));
    assert.notEqual(bytes(7), bytes(8));
  });

  it('keeps the orders stream the same whether payments are on or off', () => {
    const a = run(1000, { joinRate: 0 }).orders.map((r) => r.value.toString());
    const b = run(1000, { joinRate: 0.9, orphanRate: 0.1 }).orders.map((r) => r.value.toString());
    assert.deepEqual(a, b);
  });

  it('counts what it produced, and the counts add up', () => {
    const { factory, orders } = run(20_000, { dupRate: 0.1, badRate: 0.02 });
    const c = factory.counts();
    const bad = c.malformed.invalid_json + c.malformed.wrong_type + c.malformed.missing_field;
    assert.equal(c.total, 20_000);
    assert.equal(c.unique + c.duplicates + bad, c.total);
    assert.ok(Math.abs(c.duplicates / c.total - 0.1) < 0.01, `dups ${c.duplicates}`);
    assert.ok(Math.abs(bad / c.total - 0.02) < 0.005, `bad ${bad}`);
    for (const n of Object.values(c.malformed)) assert.ok(n > 0);
    // What a consumer would see agrees with the tags and the counters.
    const seen = new Map<string, number>();
    for (const r of orders) {
      const cls = classifyOrder(r.value);
      assert.equal(
        cls === 'valid' ? ['order', 'duplicate'].includes(r.kind) : cls === r.kind,
        true,
      );
      seen.set(r.kind, (seen.get(r.kind) ?? 0) + 1);
    }
    assert.equal(seen.get('order'), c.unique);
    assert.equal(seen.get('duplicate'), c.duplicates);
    const ids = factory.uniqueEventIds();
    assert.equal(ids.length, c.unique);
    assert.equal(new Set(ids).size, c.unique);
  });

  it('repeats duplicates verbatim from within the recent window', () => {
    const dupWindow = 50;
    const { orders } = run(10_000, { dupRate: 0.3, dupWindow });
    const positionOf = new Map<string, number>();
    let uniqueSeen = 0;
    const originals = new Map<string, Buffer>();
    for (const r of orders) {
      if (r.kind === 'order') {
        positionOf.set(r.id, uniqueSeen++);
        originals.set(r.id, r.value);
      } else if (r.kind === 'duplicate') {
        assert.ok(r.value.equals(originals.get(r.id)!));
        assert.ok(
          uniqueSeen - positionOf.get(r.id)! <= dupWindow,
          'duplicate reached too far back',
        );
      }
    }
  });

  it('keeps event time ordered without jitter and bounded with it', () => {
    const ordered = run(1000, { baseTime: 1000, intervalMs: 2 }).orders;
    ordered.forEach((r, i) =>
      assert.equal(r.kind === 'duplicate' ? true : r.ts === 1000 + 2 * i, true),
    );
    const jittered = run(5000, { baseTime: 0, intervalMs: 1, jitterMs: 100, dupRate: 0 }).orders;
    let outOfOrder = 0;
    jittered.forEach((r, i) => {
      assert.ok(r.ts <= i && r.ts >= i - 100);
      if (i > 0 && r.ts < jittered[i - 1]!.ts) outOfOrder++;
    });
    assert.ok(outOfOrder > 1000);
  });

  it('emits payments after their order, within the join delay, and orphans separately', () => {
    const joinDelayMs = 500;
    const { factory, orders, payments, paymentAfterOrders } = run(10_000, {
      joinRate: 0.7,
      joinDelayMs,
      orphanRate: 0.05,
      badRate: 0.01,
    });
    const c = factory.counts();
    assert.equal(c.payments, payments.length);
    assert.equal(c.joinablePairs + c.orphanPayments, c.payments);
    assert.ok(Math.abs(c.joinablePairs / c.unique - 0.7) < 0.03);
    assert.ok(c.orphanPayments > 0);
    const orderAt = new Map<string, { index: number; ts: number; amount: number }>();
    orders.forEach((r, index) => {
      if (r.kind === 'order') {
        const o = JSON.parse(r.value.toString()) as { ts: number; amount: number };
        orderAt.set(r.id, { index, ts: o.ts, amount: o.amount });
      }
    });
    let pairs = 0;
    payments.forEach((p, i) => {
      const pay = JSON.parse(p.value.toString()) as {
        order_id: string;
        amount: number;
        ts: number;
      };
      assert.equal(p.key, pay.order_id);
      const order = orderAt.get(pay.order_id);
      if (p.kind === 'orphan_payment') {
        assert.equal(order, undefined);
        return;
      }
      pairs++;
      assert.ok(order, 'payment without its order');
      assert.equal(pay.amount, order.amount);
      assert.ok(pay.ts >= order.ts && pay.ts <= order.ts + joinDelayMs);
      if (i < paymentAfterOrders.length) assert.ok(paymentAfterOrders[i]! > order.index);
    });
    assert.equal(pairs, c.joinablePairs);
    assert.equal(factory.joinPairs().length, c.joinablePairs);
  });

  it('refuses to list ids unless tracking', () => {
    const f = new EventFactory({ seed: 1 });
    f.nextOrder();
    assert.throws(() => f.uniqueEventIds(), /trackIds/);
  });
});
