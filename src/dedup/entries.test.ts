import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KEY_BYTES, KeyBuffer, decodeKeys } from './entries.ts';

test('keys round-trip through entries, split at the size limit', () => {
  const buf = new KeyBuffer(2);
  for (let i = 0; i < 1000; i++) buf.add(i, 0xffffffff - i, 2 ** 47 + i, 1_700_000_000 + i);
  const entries = buf.encode(4 + 300 * KEY_BYTES);
  assert.equal(entries.length, 4);
  const words = entries.flatMap((e) => [...decodeKeys(e)]);
  assert.equal(words.length, 5000);
  for (let i = 0; i < 1000; i++) {
    const w = words.slice(i * 5, i * 5 + 5);
    assert.deepEqual(w, [i, 0xffffffff - i, i >>> 0, 2 ** 15, 1_700_000_000 + i]);
  }
});

test('decodes unaligned payloads and refuses foreign ones', () => {
  const buf = new KeyBuffer();
  buf.add(1, 2, 3, 4);
  const [entry] = buf.encode(1000);
  const shifted = new Uint8Array(entry!.length + 1).subarray(1);
  shifted.set(entry!);
  assert.deepEqual([...decodeKeys(shifted)], [1, 2, 3, 0, 4]);
  assert.throws(() => decodeKeys(new TextEncoder().encode('{"json":true}')), /not a dedup state/);
});
