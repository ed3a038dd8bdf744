// The compression codecs kafkajs lacks (it ships gzip only), registered once per process so every
// consumer reads snappy, lz4 and zstd batches and every producer may write them.
import kafkajs, { CompressionTypes } from 'kafkajs';
import type { KafkaCompression } from '../../config/schema.ts';
import { lz4Compress, lz4Decompress } from './lz4.ts';
import { snappyCompress, snappyDecompress } from './snappy.ts';
import { zstdCompress, zstdDecompress } from './zstd.ts';

/** What kafkajs calls with a record batch's records: an encoder to compress, bytes to expand. */
export interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const codec = (
  compress: (data: Buffer) => Buffer | Promise<Buffer>,
  decompress: (data: Buffer) => Buffer | Promise<Buffer>,
): KafkaCodec => ({
  compress: async (encoder) => compress(encoder.buffer),
  decompress: async (buffer) => decompress(buffer),
});

export const codecs = {
  [CompressionTypes.Snappy]: codec(snappyCompress, snappyDecompress),
  [CompressionTypes.LZ4]: codec(lz4Compress, lz4Decompress),
  [CompressionTypes.ZSTD]: codec(zstdCompress, zstdDecompress),
};

/** Makes kafkajs read and write snappy, lz4 and zstd; safe to call more than once. */
export function registerCodecs(): void {
  // A property access: Node's named-export detection misses this one in kafkajs's CommonJS exports.
  const { CompressionCodecs } = kafkajs;
  CompressionCodecs[CompressionTypes.Snappy] = () => codecs[CompressionTypes.Snappy];
  CompressionCodecs[CompressionTypes.LZ4] = () => codecs[CompressionTypes.LZ4];
  CompressionCodecs[CompressionTypes.ZSTD] = () => codecs[CompressionTypes.ZSTD];
}

const TYPES: Record<KafkaCompression, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** The kafkajs compression type of a config name (dead_letter.compression). */
export const compressionType = (name: KafkaCompression): CompressionTypes => TYPES[name];
