// dedup.max_keys end to end: a pipeline whose dedup index may hold only 500 keys, with a 4 s
// arrival-time window, gets 2,000 distinct events plus 400 duplicates through the real `weir run`
// (state in NATS, rows in ClickHouse). It must pause at the cap (metric, readiness, log), resume
// as keys expire, and land every distinct event exactly once with no duplicate.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { getText, runWeir, waitUntil } from '../helpers/agent.ts';
import {
  metricValue,
  metrics,
  pipelineFixture,
  tableCounts,
  waitForDrain,
  type PipelineFixture,
} from '../helpers/pipeline.ts';
import { endpoints, kafka, natsConnect, randomName } from '../helpers/stack.ts';

const DISTINCT = 2_000;
/** Every fifth event is sent twice. */
const DUPLICATES = DISTINCT / 5;
const MAX_KEYS = 500;
const bucket = randomName('weir_dedup_cap_test');

after(async () => {
  const nc = await natsConnect();
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(`KV_${bucket}`).catch(() => undefined);
  await nc.close();
});

/**
 * Sends each event (and its duplicate) in a send of its own: one Kafka record batch, which a
 * fetch never splits, so a duplicate is judged in the same batch as its original. A hold between
 * them could outlast the arrival-time window and rightly accept the copy as new.
 */
async function produce(f: PipelineFixture): Promise<void> {
  const producer = kafka().producer();
  await producer.connect();
  try {
    const send = (i: number) => {
      const id = randomUUID();
      const value = JSON.stringify({
        event_id: id,
        user_id: `u${i % 97}`,
        amount: i,
        currency: 'EUR',
        status: 'paid',
        ts: Date.now(),
        items: [],
      });
      const copies = i % 5 === 0 ? 2 : 1;
      return producer.send({
        topic: f.topic,
        messages: Array.from({ length: copies }, () => ({ key: id, value })),
      });
    };
    const concurrency = 20;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < DISTINCT) await send(next++);
      }),
    );
  } finally {
    await producer.disconnect();
  }
}

describe('dedup.max_keys end to end', () => {
  it('pauses at the cap, resumes as keys expire, and lands every event once', async (t) => {
    const f = await pipelineFixture({
      partitions: 2,
      maxDelayMs: 300,
      // Small fetches: the cap is checked per fetched batch, so it is overshot by little.
      source: { max_bytes_per_partition: 4096 },
      pipeline: {
        dedup: {
          key: 'event_id',
          window: '4s',
          max_keys: MAX_KEYS,
          nats: { servers: [endpoints.nats], bucket },
        },
      },
    });
    const agent = runWeir(['run', '-c', f.configPath]);
    try {
      const producing = produce(f);
      // The pipeline pauses several times (2,000 keys through a cap of 500): each is seen once.
      let pausedMetric = false;
      let pausedReadiness = false;
      await waitUntil(
        'weir_pipeline_paused{reason="dedup_keys"} = 1 and /readyz to say why',
        async () => {
          const paused = metricValue(await metrics(f), 'weir_pipeline_paused', {
            reason: 'dedup_keys',
          });
          pausedMetric ||= paused === 1;
          const readyz = await getText(`http://127.0.0.1:${f.port}/readyz`);
          pausedReadiness ||= readyz.status === 503 && /at dedup.max_keys = 500/.test(readyz.body);
          return pausedMetric && pausedReadiness;
        },
        120_000,
        100,
      );
      await producing;
      await waitForDrain(f, 180_000);

      assert.deepEqual(await tableCounts(f), { rows: DISTINCT, unique: DISTINCT });
      const text = await metrics(f);
      assert.equal(metricValue(text, 'weir_dedup_records_total', { reason: 'unique' }), DISTINCT);
      assert.equal(
        metricValue(text, 'weir_dedup_records_total', { reason: 'duplicate' }),
        DUPLICATES,
      );
      assert.equal(metricValue(text, 'weir_dedup_index_max_keys'), MAX_KEYS);
      assert.equal(metricValue(text, 'weir_pipeline_paused', { reason: 'dedup_keys' }), 0);
      const out = agent.output();
      assert.match(
        out,
        /"pipeline":"e2e".*pipeline paused: the dedup index holds \d+ keys, at its cap dedup.max_keys = 500/,
      );
      assert.match(out, /raise dedup.max_keys \(about 32 bytes per key\) or shorten dedup.window/);
      assert.match(out, /pipeline resumes: dedup keys expired/);
      t.diagnostic(`paused ${out.match(/pipeline paused: the dedup index/g)?.length} times`);
    } finally {
      const agentExit = await agent.stop();
      await f.cleanup();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });
});
