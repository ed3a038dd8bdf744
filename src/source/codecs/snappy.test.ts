import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compress as rawCompress } from 'snappyjs';
import { snappyCompress, snappyDecompress } from './snappy.ts';
import { codecContract, javaBatch } from './testing.ts';

describe('snappy (xerial framing)', () => {
  codecContract('snappy', snappyCompress, snappyDecompress);

  it('writes the header a Java reader expects, and blocks of 32 KiB', () => {
    const java = javaBatch('snappy').compressed;
    const ours = snappyCompress(Buffer.alloc(100 * 1024, 'a'));
    assert.deepEqual(ours.subarray(0, 16), java.subarray(0, 16));
    let blocks = 0;
    for (let at = 16; at < ours.length; at += 4 + ours.readInt32BE(at)) blocks++;
    assert.equal(blocks, 4);
  });

  it('decodes unframed raw snappy too', () => {
    const data = Buffer.from('raw snappy, as some non-Java producers send it');
    assert.deepEqual(snappyDecompress(rawCompress(data)), data);
  });

  it('refuses a truncated frame', () => {
    const framed = snappyCompress(Buffer.alloc(50_000, 'b'));
    assert.throws(() => snappyDecompress(framed.subarray(0, framed.length - 3)), /snappy: block/);
  });
});
