import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeOrder } from './orders.ts';
import { Random } from './random.ts';

describe('makeOrder', () => {
  const rng = new Random(1);
  const orders = Array.from({ length: 5000 }, (_, i) => makeOrder(rng, rng.uuid(), 100, 1000 + i));

  it('serializes to ~220–260 bytes on average, never far outside', () => {
    const sizes = orders.map((o) => Buffer.byteLength(JSON.stringify(o)));
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    assert.ok(mean >= 220 && mean <= 260, `mean size ${mean}`);
    assert.ok(Math.min(...sizes) >= 200 && Math.max(...sizes) <= 340);
  });

  it('sums the items into amount with two decimals', () => {
    for (const o of orders) {
      const cents = o.items.reduce((s, it) => s + Math.round(it.price * 100) * it.qty, 0);
      assert.equal(Math.round(o.amount * 100), cents);
      assert.equal(o.amount, Math.round(o.amount * 100) / 100);
    }
  });

  it('spreads users over exactly keySpread ids', () => {
    const users = new Set(orders.map((o) => o.user_id));
    assert.equal(users.size, 100);
    for (const u of users) assert.match(u, /^u-\d{1,2}$/);
  });

  it('emits the rare test status', () => {
    const test = orders.filter((o) => o.status === 'test').length;
    assert.ok(test > 0 && test < 150, `test statuses: ${test}`);
  });
});
