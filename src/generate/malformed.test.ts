import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyOrder, makeMalformed, malformedKinds } from './malformed.ts';
import { makeOrder } from './orders.ts';
import { Random } from './random.ts';

describe('makeMalformed / classifyOrder', () => {
  const rng = new Random(5);

  it('classifies a valid order as valid', () => {
    const order = makeOrder(rng, rng.uuid(), 10, 0);
    assert.equal(classifyOrder(Buffer.from(JSON.stringify(order))), 'valid');
  });

  for (const kind of malformedKinds) {
    it(`round-trips ${kind}`, () => {
      for (let i = 0; i < 500; i++) {
        const order = makeOrder(rng, rng.uuid(), 10, 0);
        assert.equal(classifyOrder(makeMalformed(kind, order, rng)), kind);
      }
    });
  }

  it('treats a null value and non-object JSON as invalid_json', () => {
    assert.equal(classifyOrder(null), 'invalid_json');
    assert.equal(classifyOrder(Buffer.from('42')), 'invalid_json');
  });
});
