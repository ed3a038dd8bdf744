import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from './random.ts';
import { makeTraceparent, TRACEPARENT } from './traceparent.ts';

describe('makeTraceparent', () => {
  it('produces valid, distinct, sampled W3C traceparent values', () => {
    const rng = new Random(4);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const tp = makeTraceparent(rng);
      assert.match(tp, TRACEPARENT);
      assert.ok(tp.endsWith('-01'));
      seen.add(tp);
    }
    assert.equal(seen.size, 1000);
  });
});
