import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zstdCompress, zstdDecompress, zstdDecompressedBound } from './zstd.ts';
import { codecContract, javaBatch, samples } from './testing.ts';

describe('zstd', () => {
  codecContract('zstd', zstdCompress, zstdDecompress);

  it("sizes the output of Java's streamed batch (no content size in its frame) from its blocks", () => {
    const java = javaBatch('zstd');
    assert.equal(java.compressed[4]! >> 6, 0, 'the fixture frame does not state its size');
    const bound = zstdDecompressedBound(java.compressed);
    assert.ok(bound >= java.bytes && bound <= java.bytes + 128 * 1024, `bound ${bound}`);
  });

  it('reads concatenated frames and skips skippable ones', async () => {
    const a = await zstdCompress(Buffer.from('first frame, '));
    const b = await zstdCompress(Buffer.from('second frame'));
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const joined = Buffer.concat([a, skippable, b]);
    assert.equal(zstdDecompressedBound(joined), 25);
    assert.equal((await zstdDecompress(joined)).toString(), 'first frame, second frame');
  });

  it('refuses what is not zstd, or is cut short', async () => {
    await assert.rejects(zstdDecompress(Buffer.from('not zstd at all')), /no frame at byte 0/);
    const frame = await zstdCompress(Buffer.alloc(10_000, 'e'));
    await assert.rejects(zstdDecompress(frame.subarray(0, frame.length - 2)), /truncated/);
    const corrupt = await zstdCompress(samples()[2]![1]);
    corrupt.fill(0xff, 20, 60); // inside the first block
    await assert.rejects(zstdDecompress(corrupt), /zstd: frame 0 does not decode/);
  });
});
