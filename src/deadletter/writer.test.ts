import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeadLetter } from '../core/record.ts';
import { sourceRecord } from '../stages/testkit.ts';
import { MAX_SEND_BYTES, chunkBySize, toMessage } from './writer.ts';

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
