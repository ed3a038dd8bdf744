import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kafkajs, { CompressionTypes } from 'kafkajs';
import { kafkaCompressions } from '../../config/schema.ts';
import { codecs, compressionType, registerCodecs, type KafkaCodec } from './index.ts';

describe('kafkajs codecs', () => {
  it('registers snappy, lz4 and zstd with kafkajs, and keeps its gzip', () => {
    const gzip: unknown = kafkajs.CompressionCodecs[CompressionTypes.GZIP]();
    registerCodecs();
    registerCodecs();
    const { CompressionCodecs } = kafkajs;
    assert.equal(CompressionCodecs[CompressionTypes.Snappy](), codecs[CompressionTypes.Snappy]);
    assert.equal(CompressionCodecs[CompressionTypes.LZ4](), codecs[CompressionTypes.LZ4]);
    assert.equal(CompressionCodecs[CompressionTypes.ZSTD](), codecs[CompressionTypes.ZSTD]);
    assert.equal(kafkajs.CompressionCodecs[CompressionTypes.GZIP](), gzip);
  });

  it('compress an encoder and decompress the bytes, as kafkajs calls them', async () => {
    const records = Buffer.from('records of one batch '.repeat(200));
    for (const [type, codec] of Object.entries<KafkaCodec>(codecs)) {
      const packed = await codec.compress({ buffer: records });
      assert.ok(packed.length < records.length, `type ${type} compresses`);
      const plain = await codec.decompress(packed);
      assert.ok(Buffer.isBuffer(plain), `type ${type} gives kafkajs a Buffer`);
      assert.deepEqual(plain, records);
    }
  });

  it('maps every dead_letter.compression name to its kafkajs type', () => {
    assert.deepEqual(kafkaCompressions.map(compressionType), [
      CompressionTypes.None,
      CompressionTypes.GZIP,
      CompressionTypes.Snappy,
      CompressionTypes.LZ4,
      CompressionTypes.ZSTD,
    ]);
  });
});
