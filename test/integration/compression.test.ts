// Compressed topics: Kafka's own Java producer writes one topic per codec, one agent runs a pipeline
// per topic, and every row lands exactly once. Each pipeline writes its dead letters with that
// same codec; kafkajs (with Weir's codecs) and the Java consumer both read them back.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import kafkajs, { CompressionTypes } from 'kafkajs';
import { parse } from 'yaml';
import { EventFactory } from '../../src/generate/index.ts';
import { registerCodecs } from '../../src/source/codecs/index.ts';
import { runWeir, waitUntil, writeConfig } from '../helpers/agent.ts';
import { javaConsume, javaProduce } from '../helpers/java-kafka.ts';
import { kafka, randomName } from '../helpers/stack.ts';
import {
  pipelineFixture,
  readDeadLetters,
  tableCounts,
  waitForDrain,
  type PipelineFixture,
} from '../helpers/pipeline.ts';

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
const TYPES = {
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
} as const;
const VALID = 5000;
const MALFORMED = ['not json at all', '{"event_id":"torn', '[1, 2'];

/** 5,000 valid orders with the malformed lines spread among them, one record per line. */
function lines(seed: number): string[] {
  const events = new EventFactory({ seed, badRate: 0, dupRate: 0 });
  const out = Array.from({ length: VALID }, () => events.nextOrder().value.toString());
  MALFORMED.forEach((m, i) => out.splice((i + 1) * 1000, 0, m));
  return out;
}

/** Counts the batches kafkajs decompresses in this process, by codec. */
function countDecompressions(): Record<string, number> {
  const counts: Record<string, number> = {};
  const { CompressionCodecs } = kafkajs;
  for (const name of CODECS) {
    const type = TYPES[name];
    const codec = CompressionCodecs[type]() as {
      compress(encoder: unknown): Promise<Buffer>;
      decompress(buffer: Buffer): Promise<Buffer>;
    };
    counts[name] = 0;
    CompressionCodecs[type] = () => ({
      compress: (encoder: unknown) => codec.compress(encoder),
      decompress: (buffer: Buffer) => {
        counts[name]!++;
        return codec.decompress(buffer);
      },
    });
  }
  return counts;
}

/** One agent config holding each fixture's pipeline, named and compressing after its codec. */
function oneAgent(fixtures: PipelineFixture[]): string {
  type Config = { agent: unknown; pipelines: Record<string, unknown>[] };
  const configs = fixtures.map((f) => parse(readFileSync(f.configPath, 'utf8')) as Config);
  return writeConfig({
    agent: configs[0]!.agent,
    pipelines: configs.map((c, i) => {
      const p = c.pipelines[0]!;
      const deadLetter = p.dead_letter as Record<string, unknown>;
      return { ...p, name: CODECS[i], dead_letter: { ...deadLetter, compression: CODECS[i] } };
    }),
  });
}

/** Reads `count` records from the start of each topic with kafkajs in this process. */
async function readAll(topics: string[], count: number): Promise<void> {
  const consumer = kafka().consumer({ groupId: randomName('codec-check') });
  let seen = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachBatch: ({ batch }) => {
        seen += batch.messages.length;
        return Promise.resolve();
      },
    });
    await waitUntil(`${count} records of ${topics.join(', ')}`, () => seen >= count, 60_000);
  } finally {
    await consumer.disconnect();
  }
}

describe('compressed topics', () => {
  it('lands 5,000 rows exactly once from each of gzip, snappy, lz4 and zstd topics a Java producer wrote, and writes readable compressed dead letters', async () => {
    registerCodecs();
    const decompressed = countDecompressions();
    const fixtures = await Promise.all(CODECS.map(() => pipelineFixture({ partitions: 2 })));
    const agent = runWeir(['run', '-c', oneAgent(fixtures)]);
    try {
      await Promise.all(
        CODECS.map((codec, i) =>
          javaProduce(fixtures[i]!.topic, lines(i + 1), { compression: codec }),
        ),
      );
      // The input really is compressed with each codec: kafkajs here decodes batches of each.
      await readAll(
        fixtures.map((f) => f.topic),
        CODECS.length * (VALID + MALFORMED.length),
      );
      for (const codec of CODECS) {
        assert.ok(decompressed[codec]! > 0, `the ${codec} topic holds ${codec} batches`);
        decompressed[codec] = 0;
      }

      await Promise.all(
        fixtures.map(async (f, i) => {
          await waitUntil(
            `${VALID} rows from the ${CODECS[i]} topic`,
            async () => (await tableCounts(f)).rows >= VALID,
            120_000,
            500,
          );
          await waitForDrain(f);
          assert.deepEqual(await tableCounts(f), { rows: VALID, unique: VALID }, CODECS[i]);
        }),
      );

      await Promise.all(
        fixtures.map(async (f, i) => {
          const codec = CODECS[i]!;
          const letters = await readDeadLetters(f, MALFORMED.length);
          assert.deepEqual(letters.map((l) => l.value).sort(), [...MALFORMED].sort(), codec);
          assert.ok(letters.every((l) => l.reason === 'invalid_json' && l.stage === 'parse'));
          const byJava = await javaConsume(f.dlqTopic, MALFORMED.length);
          assert.deepEqual(byJava.sort(), [...MALFORMED].sort(), `${codec}, read by Java`);
        }),
      );
      for (const codec of CODECS)
        assert.ok(decompressed[codec]! > 0, `the ${codec} dead letters are ${codec} batches`);
    } finally {
      const agentExit = await agent.stop();
      for (const f of fixtures) await f.cleanup();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });
});
