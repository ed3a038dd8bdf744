// Zstandard through the reference C library compiled to wasm (@bokuweb/zstd-wasm, wasm shipped in
// its npm package). Kafka's Java client streams into zstd, so a large batch's frame does not say
// how big it decodes: the output is sized from the block headers instead (at most 128 KiB a block).
import { compress, decompress, init } from '@bokuweb/zstd-wasm';

/** Kafka's default zstd level (compression.zstd.level). */
const LEVEL = 3;
const FRAME_MAGIC = 0xfd2fb528;
const MAX_BLOCK_BYTES = 128 * 1024;

let ready: Promise<void> | undefined;

export async function zstdCompress(data: Buffer): Promise<Buffer> {
  await (ready ??= init());
  return toBuffer(compress(data, LEVEL));
}

export async function zstdDecompress(data: Buffer): Promise<Buffer> {
  await (ready ??= init());
  // One frame at a time: the library sizes its output from the first frame's header alone.
  const frames = zstdFrames(data).map(({ bytes, bound }, i) => {
    try {
      return toBuffer(decompress(bytes, { defaultHeapSize: Math.max(1, bound) }));
    } catch (err) {
      throw new Error(`zstd: frame ${i} does not decode`, { cause: err });
    }
  });
  return frames.length === 1 ? frames[0]! : Buffer.concat(frames);
}

const toBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** The most bytes the frames in `data` can decode to, read from frame and block headers. */
export const zstdDecompressedBound = (data: Buffer): number =>
  zstdFrames(data).reduce((n, f) => n + f.bound, 0);

/** The zstd frames in `data` (skippable frames left out), each with the most it decodes to. */
function zstdFrames(data: Buffer): { bytes: Buffer; bound: number }[] {
  const frames: { bytes: Buffer; bound: number }[] = [];
  let at = 0;
  const need = (n: number) => {
    if (at + n > data.length) throw new Error(`zstd: truncated frame at byte ${at}`);
  };
  while (at < data.length) {
    need(8);
    const start = at;
    const magic = data.readUInt32LE(at);
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
      at += 8 + data.readUInt32LE(at + 4); // skippable frame
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Error(`zstd: no frame at byte ${at}`);
    const descriptor = data[at + 4]!;
    const singleSegment = (descriptor >> 5) & 1;
    const contentSizeBytes = [singleSegment, 2, 4, 8][descriptor >> 6]!;
    const dictIdBytes = [0, 1, 2, 4][descriptor & 3]!;
    at += 5 + (singleSegment ? 0 : 1) + dictIdBytes + contentSizeBytes;
    let bound = 0;
    for (let last = false; !last;) {
      need(3);
      const header = data.readUIntLE(at, 3);
      at += 3;
      last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      const size = header >> 3;
      if (type === 3) throw new Error(`zstd: reserved block type at byte ${at - 3}`);
      bound += type === 2 ? MAX_BLOCK_BYTES : size; // raw and RLE blocks state their size
      at += type === 1 ? 1 : size;
    }
    if (descriptor & 4) at += 4; // content checksum
    need(0);
    frames.push({ bytes: data.subarray(start, at), bound });
  }
  return frames;
}
