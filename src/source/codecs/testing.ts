// Test data for the codec tests: batches Kafka's Java client compressed (remade by
// scripts/codec-fixtures.ts) and inputs of the shapes that matter to framing.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

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
