// Snappy as Kafka's Java client writes it: snappy-java's "xerial" framing, a 16-byte header
// (magic, version, minimum compatible version) then blocks of `int32 length + raw snappy`.
// Reading also takes unframed raw snappy, which some non-Java producers send.
import { compress as rawCompress, uncompress as rawUncompress } from 'snappyjs';

const MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]); // \x82SNAPPY\0
const VERSION = 1;
const MIN_COMPATIBLE_VERSION = 1;
const HEADER_BYTES = MAGIC.length + 8;
/** snappy-java's default block size: a Java reader allocates about this much per block. */
const BLOCK_BYTES = 32 * 1024;

export function snappyCompress(data: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header);
  header.writeInt32BE(VERSION, MAGIC.length);
  header.writeInt32BE(MIN_COMPATIBLE_VERSION, MAGIC.length + 4);
  const parts: Buffer[] = [header];
  for (let at = 0; at < data.length; at += BLOCK_BYTES) {
    const block = rawCompress(data.subarray(at, at + BLOCK_BYTES));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

export function snappyDecompress(data: Buffer): Buffer {
  if (data.length < HEADER_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC))
    return rawUncompress(data);
  const parts: Buffer[] = [];
  for (let at = HEADER_BYTES; at < data.length;) {
    if (at + 4 > data.length) throw new Error(`snappy: truncated block length at byte ${at}`);
    const length = data.readInt32BE(at);
    at += 4;
    if (length < 0 || at + length > data.length)
      throw new Error(
        `snappy: block at byte ${at} claims ${length} bytes, ${data.length - at} remain`,
      );
    parts.push(rawUncompress(data.subarray(at, at + length)));
    at += length;
  }
  return Buffer.concat(parts);
}
