// LZ4 in the frame format (Kafka's "lz4"). Writing copies Kafka's Java client: 64 KiB blocks,
// each compressed on its own (the block-independence flag), no checksums. Reading takes any frame
// without a dictionary, sizing the output from the block headers (lz4js reads the optional
// content-size field wrongly, and Kafka's Java client does not write it).
import { compressBlock, decompressFrame } from 'lz4js';

const MAGIC = 0x184d2204;
/** FLG: version 01, blocks independent. BD: 64 KiB blocks. HC: xxh32 of those two bytes. */
const DESCRIPTOR = [0x60, 0x40, 0x82];
const BLOCK_BYTES = 64 * 1024;
const BLOCK_SIZES = new Map([
  [4, 64 * 1024],
  [5, 256 * 1024],
  [6, 1024 * 1024],
  [7, 4 * 1024 * 1024],
]);
const UNCOMPRESSED = 0x80000000;
const FLAG = { blockChecksum: 0x10, contentSize: 0x08, dictId: 0x01 };

export function lz4Compress(data: Buffer): Buffer {
  const header = Buffer.alloc(4 + DESCRIPTOR.length);
  header.writeUInt32LE(MAGIC);
  header.set(DESCRIPTOR, 4);
  const parts: Buffer[] = [header];
  const hashTable = new Uint32Array(1 << 16);
  const scratch = new Uint8Array(BLOCK_BYTES + BLOCK_BYTES / 255 + 16);
  for (let at = 0; at < data.length; at += BLOCK_BYTES) {
    const length = Math.min(BLOCK_BYTES, data.length - at);
    hashTable.fill(0); // no match may reach into an earlier block
    const packed = compressBlock(data, scratch, at, length, hashTable);
    const size = Buffer.alloc(4);
    if (packed > 0 && packed < length) {
      size.writeUInt32LE(packed);
      parts.push(size, Buffer.from(scratch.subarray(0, packed)));
    } else {
      size.writeUInt32LE((UNCOMPRESSED | length) >>> 0);
      parts.push(size, data.subarray(at, at + length));
    }
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts);
}

export function lz4Decompress(data: Buffer): Buffer {
  const out = Buffer.alloc(lz4DecompressedBound(data));
  const written = decompressFrame(data, out);
  if (written > out.length) throw new Error('lz4: a block decodes to more than its frame allows');
  return out.subarray(0, written);
}

/** The most bytes a frame can decode to: raw blocks' sizes plus the block maximum per block. */
export function lz4DecompressedBound(data: Buffer): number {
  if (data.length < 7 || data.readUInt32LE(0) !== MAGIC) throw new Error('lz4: not an LZ4 frame');
  const flags = data[4]!;
  if (flags & FLAG.dictId) throw new Error('lz4: frames with a dictionary are not supported');
  const blockMax = BLOCK_SIZES.get((data[5]! >> 4) & 7);
  if (blockMax === undefined) throw new Error(`lz4: invalid block size code ${data[5]}`);
  let at = 7 + (flags & FLAG.contentSize ? 8 : 0);
  const checksum = flags & FLAG.blockChecksum ? 4 : 0;
  let bound = 0;
  for (;;) {
    if (at + 4 > data.length) throw new Error(`lz4: truncated frame at byte ${at}`);
    const word = data.readUInt32LE(at);
    at += 4;
    if (word === 0) return bound;
    const raw = word >= UNCOMPRESSED;
    const size = raw ? word - UNCOMPRESSED : word;
    bound += raw ? size : blockMax;
    at += size + checksum;
  }
}
