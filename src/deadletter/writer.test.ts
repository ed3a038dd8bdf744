import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeadLetter } from '../core/record.ts';
import { sourceRecord } from '../stages/testkit.ts';
import { MAX_DEAD_LETTER_BYTES, MAX_SEND_BYTES, chunkBySize, toMessage } from './writer.ts';

const letter = (i: number, bytes: number): DeadLetter => ({
  source: sourceRecord('x'.repeat(bytes), { offset: String(i) }),
  stage: 'parse',
  reason: 'invalid_json',
  detail: 'not JSON',
});

describe('dead-letter sends', () => {
  it('stay under the broker limit however many records a batch dead-letters', () => {
    // A whole insert batch rejected: 50,000 records of 300 bytes, 15 MB.
    const messages = Array.from({ length: 50_000 }, (_, i) => toMessage('p', letter(i, 300)));
    const chunks = chunkBySize(messages);
    assert.ok(chunks.length > 25, `${chunks.length} sends`);
    for (const c of chunks) {
      const bytes = c.reduce((n, m) => n + (m.value?.length ?? 0), 0);
      assert.ok(bytes <= MAX_SEND_BYTES, `${bytes} bytes in one send`);
    }
    // Every record once, in order.
    assert.deepEqual(
      chunks.flat().map((m) => m.headers['weir.source.offset']),
      messages.map((m) => m.headers['weir.source.offset']),
    );
  });

  it('sends a small batch at once, and a record over the limit alone', () => {
    assert.equal(
      chunkBySize([toMessage('p', letter(0, 10)), toMessage('p', letter(1, 10))]).length,
      1,
    );
    const big = toMessage('p', letter(2, MAX_SEND_BYTES + 1));
    assert.deepEqual(
      chunkBySize([toMessage('p', letter(0, 10)), big, toMessage('p', letter(3, 10))]).map(
        (c) => c.length,
      ),
      [1, 1, 1],
    );
  });
});

describe('dead-letter detail', () => {
  it('carries no URL credentials', () => {
    const l = { ...letter(0, 10), detail: 'cannot insert at http://weir:pw-in-url@ch:8123' };
    assert.equal(toMessage('p', l).headers['weir.detail'], 'cannot insert at http://***@ch:8123');
  });
});

describe('dead letters too large for the topic', () => {
  it('are written whole up to the limit, with their size', () => {
    const m = toMessage('p', letter(0, 1000));
    assert.equal(m.value?.length, 1000);
    assert.equal(m.headers['weir.source.size'], '1000');
    assert.equal(m.headers['weir.truncated'], undefined);
  });

  it('keep their headers and the start of their value, marked with the original size', () => {
    const bytes = 3 * 1024 * 1024;
    const l = { ...letter(7, bytes), reason: 'oversize' };
    const m = toMessage('p', l);
    assert.equal(m.headers['weir.truncated'], String(bytes));
    assert.equal(m.headers['weir.source.size'], String(bytes));
    assert.equal(m.headers['weir.reason'], 'oversize');
    assert.equal(m.headers['weir.source.offset'], '7');
    assert.ok(m.value !== null && m.value.length > 900 * 1024, `${m.value?.length} bytes kept`);
    assert.ok(l.source.value!.subarray(0, m.value.length).equals(m.value));
    const headerBytes = Object.entries(m.headers).reduce(
      (n, [k, v]) => n + k.length + String(v).length,
      0,
    );
    assert.ok(m.value.length + headerBytes < MAX_DEAD_LETTER_BYTES);
    assert.equal(m.headers['weir.truncated.key'], undefined);
  });

  it('lose their key too when the key alone is over the limit', () => {
    const key = Buffer.alloc(2000, 'k');
    const m = toMessage('p', { ...letter(1, 5000), source: sourceRecord('v', { key }) }, 1000);
    assert.equal(m.value?.length, 0);
    assert.equal(m.headers['weir.truncated'], '1');
    assert.equal(m.headers['weir.truncated.key'], '2000');
    assert.ok(m.key !== null && m.key.length < 1000);
  });
});
