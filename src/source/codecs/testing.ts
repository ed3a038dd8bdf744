// Test data for the codec tests: batches Kafka's Java client compressed (remade by
// scripts/codec-fixtures.ts) and inputs of the shapes that matter to framing.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';

const dir = join(import.meta.dirname, 'fixtures');

/** The records of one batch as Kafka's Java producer compressed them, and what they decode to. */
export function javaBatch(codec: 'snappy' | 'lz4' | 'zstd') {
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<
    string,
    { sha256: string; bytes: number }
  >;
  return { compressed: readFileSync(join(dir, `java-${codec}.bin`)), ...expected[codec]! };
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The tests every codec passes: round trips, and the batch Kafka's Java producer compressed. */
export function codecContract(
  codec: 'snappy' | 'lz4' | 'zstd',
  compress: (data: Buffer) => Buffer | Promise<Buffer>,
  decompress: (data: Buffer) => Buffer | Promise<Buffer>,
): void {
  for (const [name, data] of samples())
    it(`round-trips ${name}`, async () => {
      assert.deepEqual(await decompress(await compress(data)), data);
    });

  it("decodes a batch Kafka's Java producer compressed", async () => {
    const java = javaBatch(codec);
    const plain = await decompress(java.compressed);
    assert.equal(plain.length, java.bytes);
    assert.equal(sha256(plain), java.sha256);
  });
}

/** Empty, tiny, compressible over several blocks, and incompressible. */
export const samples = (): [string, Buffer][] => [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from('x')],
  ['300 KiB of JSON lines', jsonLines(300 * 1024)],
  ['200 KiB of random bytes', randomBytes(200 * 1024)],
];

function jsonLines(bytes: number): Buffer {
  const lines: string[] = [];
  for (let i = 0, n = 0; n < bytes; i++) {
    const line = `{"id":${i},"user":"u-${i % 89}","amount":${(i * 13) % 1000}}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}
