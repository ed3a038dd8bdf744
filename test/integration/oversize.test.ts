// End-to-end: records too large to be copied whole to the dead-letter topic (whose broker limit is
// the default 1 MiB) and records above source.max_record_bytes, mixed with normal ones, on a topic
// configured to take 3 MiB records. They are dead-lettered truncated and marked, the rest lands
// exactly, the agent keeps running and the committed offsets reach the end of the topic.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { runWeir } from '../helpers/agent.ts';
import {
  pipelineFixture,
  readDeadLetters,
  tableCounts,
  waitForDrain,
} from '../helpers/pipeline.ts';
import { kafka } from '../helpers/stack.ts';

const MiB = 1024 * 1024;

/** `bytes` of random base64: text that gzip (the dead-letter default) shrinks by a quarter only. */
const noise = (bytes: number): string =>
  randomBytes(Math.ceil(bytes / 4) * 3)
    .toString('base64')
    .slice(0, bytes);

const event = () =>
  JSON.stringify({
    event_id: randomUUID(),
    user_id: 'u1',
    amount: 12.5,
    currency: 'EUR',
    status: 'paid',
    ts: '2024-05-01T12:00:00Z',
    items: [{ sku: 'a', qty: 1 }],
  });

interface Big {
  partition: number;
  key: string | null;
  value: Buffer;
  reason: string;
}

describe('oversize records end to end', () => {
  it('dead-letters records too large for the dead-letter topic or over max_record_bytes, truncated, and keeps going', async () => {
    const f = await pipelineFixture({
      partitions: 2,
      topicConfig: { 'max.message.bytes': String(3 * MiB) },
      source: { max_record_bytes: 2 * MiB },
      maxDelayMs: 300,
    });
    const bigs: Big[] = [
      // Exactly 1 MiB, not JSON: too large to be copied whole into a 1 MiB dead-letter topic.
      { partition: 0, key: null, value: Buffer.from(noise(MiB)), reason: 'invalid_json' },
      // 1.5 MiB of valid JSON without the required fields.
      {
        partition: 1,
        key: 'k1',
        value: Buffer.from(JSON.stringify({ pad: noise(1.5 * MiB) })),
        reason: 'missing_field',
      },
      // Above max_record_bytes: refused before parsing, even though it would parse.
      {
        partition: 0,
        key: 'k2',
        value: Buffer.from(JSON.stringify({ ...JSON.parse(event()), pad: noise(2.5 * MiB) })),
        reason: 'oversize',
      },
      { partition: 1, key: null, value: Buffer.from(noise(2.9 * MiB)), reason: 'oversize' },
    ];
    const producer = kafka().producer();
    await producer.connect();
    const agent = runWeir(['run', '-c', f.configPath]);
    let normal = 0;
    try {
      for (let round = 0; round < 4; round++) {
        for (const partition of [0, 1]) {
          const messages = Array.from({ length: 250 }, () => ({ value: event() }));
          await producer.send({
            topic: f.topic,
            acks: -1,
            messages: messages.map((m) => ({ ...m, partition })),
          });
          normal += messages.length;
        }
        const big = bigs[round]!;
        await producer.send({
          topic: f.topic,
          acks: -1,
          messages: [{ partition: big.partition, key: big.key, value: big.value }],
        });
      }
      await waitForDrain(f);
      assert.equal(agent.child.exitCode, null, agent.output().slice(-3000));
      assert.deepEqual(await tableCounts(f), { rows: normal, unique: normal });

      const letters = await readDeadLetters(f, bigs.length);
      assert.equal(letters.length, bigs.length);
      for (const big of bigs) {
        const l = letters.find(
          (x) =>
            x.headers['weir.source.size'] === String(big.value.length + (big.key?.length ?? 0)),
        );
        assert.ok(l, `a dead letter of ${big.value.length} bytes`);
        assert.equal(l.reason, big.reason);
        assert.equal(l.sourcePartition, String(big.partition));
        assert.equal(l.headers['weir.truncated'], String(big.value.length));
        assert.equal(l.key, big.key ?? '');
        assert.ok(l.value.length > 0 && l.value.length < MiB, `${l.value.length} bytes kept`);
        assert.equal(l.value, big.value.subarray(0, l.value.length).toString());
      }
      assert.equal(agent.child.exitCode, null, agent.output().slice(-3000));
    } finally {
      await producer.disconnect();
      const agentExit = await agent.stop();
      await f.cleanup();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });
});
