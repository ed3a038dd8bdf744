import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decompressBlock } from 'lz4js';
import { lz4Compress, lz4Decompress, lz4DecompressedBound } from './lz4.ts';
import { codecContract, javaBatch, samples } from './testing.ts';

describe('lz4 (frame format)', () => {
  codecContract('lz4', lz4Compress, lz4Decompress);

  it("writes the frame header Kafka's Java client writes", () => {
    const java = javaBatch('lz4').compressed;
    assert.deepEqual(lz4Compress(Buffer.from('x')).subarray(0, 7), java.subarray(0, 7));
  });

  it('compresses each 64 KiB block on its own, as the header says', () => {
    const [, data] = samples()[2]!;
    const frame = lz4Compress(data);
    let at = 7;
    let offset = 0;
    for (let size = frame.readUInt32LE(at); size !== 0; size = frame.readUInt32LE(at)) {
      assert.ok(size < 0x80000000, 'JSON compresses');
      const block = Buffer.alloc(64 * 1024);
      const n = decompressBlock(frame, block, at + 4, size, 0);
      assert.deepEqual(block.subarray(0, n), data.subarray(offset, offset + n));
      offset += n;
      at += 4 + size;
    }
    assert.equal(offset, data.length);
  });

  it('sizes the output from the blocks even when the frame states its content size', () => {
    const data = Buffer.alloc(70_000, 'c');
    const frame = lz4Compress(data);
    const withSize = Buffer.alloc(frame.length + 8);
    frame.copy(withSize, 0, 0, 6);
    withSize[4] = frame[4]! | 0x08; // content size present (the header checksum is not verified)
    withSize.writeBigUInt64LE(BigInt(data.length), 6);
    frame.copy(withSize, 14, 6);
    assert.equal(lz4DecompressedBound(withSize), 2 * 64 * 1024);
    assert.deepEqual(lz4Decompress(withSize), data);
  });

  it('refuses what is not an LZ4 frame, or is cut short', () => {
    assert.throws(() => lz4Decompress(Buffer.from('not lz4 at all')), /not an LZ4 frame/);
    const frame = lz4Compress(Buffer.alloc(1000, 'd'));
    assert.throws(() => lz4Decompress(frame.subarray(0, frame.length - 4)), /truncated/);
  });
});
