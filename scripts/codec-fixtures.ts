// `node --import tsx scripts/codec-fixtures.ts`: remakes src/source/codecs/fixtures/ on the local
// stack. Kafka's Java console producer writes one large batch per codec (several xerial blocks, LZ4
// blocks and zstd blocks, zstd without a content size); a kafkajs consumer keeps the compressed
// bytes exactly as fetched, checks the records decode to the lines sent, and the fixture records
// the SHA-256 of the decoded bytes.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs, { CompressionTypes } from 'kafkajs';
import { codecs, registerCodecs } from '../src/source/codecs/index.ts';
import { javaProduce, type JavaCodec } from '../test/helpers/java-kafka.ts';
import { createTopic, kafka, randomName } from '../test/helpers/stack.ts';

const dir = join(import.meta.dirname, '..', 'src', 'source', 'codecs', 'fixtures');
const LINES = Array.from(
  { length: 2500 },
  (_, i) =>
    `{"id":${i},"user":"u-${(i * 7919) % 97}","amount":${((i * 37) % 1000) / 10},"note":"record ${i} of the codec fixture"}`,
);
const TYPES = {
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
} as const;

registerCodecs();
const expected: Record<string, { sha256: string; bytes: number }> = {};
for (const [name, type] of Object.entries(TYPES)) {
  const { topic, cleanup } = await createTopic('codec-fixture', 1);
  try {
    await javaProduce(topic, LINES, {
      compression: name as JavaCodec,
      properties: { 'batch.size': '1000000', 'linger.ms': '3000' },
    });
    const fetched: Buffer[] = [];
    const plain: Buffer[] = [];
    const real = codecs[type];
    kafkajs.CompressionCodecs[type] = () => ({
      compress: (encoder: { buffer: Buffer }) => real.compress(encoder),
      decompress: async (buffer: Buffer) => {
        fetched.push(Buffer.from(buffer));
        const out = await real.decompress(buffer);
        plain.push(out);
        return out;
      },
    });
    const values: string[] = [];
    const consumer = kafka().consumer({ groupId: randomName('fixture') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        values.push(message.value?.toString() ?? '');
        return Promise.resolve();
      },
    });
    while (values.length < LINES.length) await new Promise((r) => setTimeout(r, 100));
    await consumer.disconnect();
    if (values.join('\n') !== LINES.join('\n')) throw new Error(`${name}: records differ`);
    if (fetched.length !== 1) throw new Error(`${name}: ${fetched.length} batches, want one`);
    writeFileSync(join(dir, `java-${name}.bin`), fetched[0]!);
    expected[name] = {
      sha256: createHash('sha256').update(plain[0]!).digest('hex'),
      bytes: plain[0]!.length,
    };
    console.log(`${name}: ${fetched[0]!.length} bytes decode to ${plain[0]!.length}`);
  } finally {
    await cleanup();
  }
}
writeFileSync(join(dir, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`);
