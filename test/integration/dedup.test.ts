// Dedup end to end: generated records with 10% duplicates through the real `weir run`, state in
// the real NATS JetStream, rows in the real ClickHouse. Every test has its own topic, table,
// consumer group and KV bucket; agents are child processes that only these tests start and stop.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { freePort, getText, runWeir, waitUntil, type WeirProcess } from '../helpers/agent.ts';
import {
  generate,
  metricValue,
  pipelineFixture,
  readDeadLetters,
  tableCounts,
  waitForDrain,
  type PipelineFixture,
} from '../helpers/pipeline.ts';
import { endpoints, kafka, natsConnect, randomName } from '../helpers/stack.ts';

const COUNT = 200_000;
const buckets: string[] = [];

after(async () => {
  const nc = await natsConnect();
  const jsm = await nc.jetstreamManager();
  for (const b of buckets) await jsm.streams.delete(`KV_${b}`).catch(() => undefined);
  await nc.close();
});

async function dedupFixture(dedup: Record<string, unknown> = {}): Promise<PipelineFixture> {
  const bucket = randomName('weir_dedup_test');
  buckets.push(bucket);
  return pipelineFixture({
    partitions: 4,
    maxDelayMs: 300,
    pipeline: {
      dedup: {
        key: 'event_id',
        window: '1h',
        nats: { servers: [endpoints.nats], bucket },
        ...dedup,
      },
    },
  });
}

/** Distinct event ids and distinct source records (partition, offset) that landed. */
async function landed(f: PipelineFixture): Promise<{ rows: number; ids: number; origins: number }> {
  const rs = await f.ch.query({
    query: `SELECT count() AS rows, uniqExact(event_id) AS ids,
              uniqExact(src_partition, src_offset) AS origins FROM ${f.table}`,
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ rows: string; ids: string; origins: string }>();
  return { rows: Number(r?.rows), ids: Number(r?.ids), origins: Number(r?.origins) };
}

async function metricsOf(port: number): Promise<string> {
  return (await getText(`http://127.0.0.1:${port}/metrics`)).body;
}

// Duplicates repeat one of the last 50k events: spread over seconds of stream and, unkeyed, over
// every partition.
const load = { count: COUNT, dupRate: 0.1, dupWindow: 50_000, seed: 21 };

describe('dedup end to end', () => {
  it('lands exactly the unique set: 200k records, 10% duplicates across partitions', async () => {
    const f = await dedupFixture({ time: { field: 'created_at' } });
    const agent = runWeir(['run', '-c', f.configPath]);
    try {
      const report = await generate(f, { ...load, keyed: false });
      assert.ok(report.counts.duplicates > 15_000, `${report.counts.duplicates} duplicates`);
      await waitForDrain(f, 180_000);
      const unique = report.counts.unique;
      assert.deepEqual(await tableCounts(f), { rows: unique, unique });
      const text = await metricsOf(f.port);
      assert.equal(
        metricValue(text, 'weir_stage_records_dropped_total', {
          stage: 'dedup',
          reason: 'duplicate',
        }),
        report.counts.duplicates,
      );
      assert.equal(
        metricValue(text, 'weir_dedup_records_total', { reason: 'unique' }),
        report.counts.unique,
      );
      assert.ok(metricValue(text, 'weir_dedup_index_keys') >= unique);
      assert.ok(metricValue(text, 'weir_dedup_index_bytes') > 0);
      assert.ok(
        metricValue(text, 'weir_state_op_duration_seconds_count', { op: 'dedup_persist' }) > 0,
      );
    } finally {
      const agentExit = await agent.stop();
      await f.cleanup();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });

  it('loses and doubles nothing when stopped with SIGTERM mid-stream and restarted', async () => {
    const f = await dedupFixture();
    let agent = runWeir(['run', '-c', f.configPath]);
    try {
      const producing = generate(f, { ...load, keyed: false, rate: 20_000 });
      await waitUntil('rows to land', async () => (await tableCounts(f)).rows > 30_000, 60_000);
      assert.equal(await agent.stop('SIGTERM'), 0, agent.output().slice(-3000));
      const firstRun = agent.output();
      assert.ok((await tableCounts(f)).rows < COUNT * 0.9, 'the stop should happen mid-stream');
      agent = runWeir(['run', '-c', f.configPath]);
      const report = await producing;
      await waitForDrain(f, 180_000);
      const unique = report.counts.unique;
      assert.deepEqual(await tableCounts(f), { rows: unique, unique }, firstRun.slice(-6000));
      assert.match(agent.output(), /dedup state rebuilt/);
    } finally {
      await agent.stop();
      await f.cleanup();
    }
  });

  it('loses nothing when killed with SIGKILL mid-stream: a replay is never its own duplicate', async () => {
    const f = await dedupFixture({ time: { field: 'created_at' } });
    let agent: WeirProcess = runWeir(['run', '-c', f.configPath]);
    try {
      const producing = generate(f, { ...load, keyed: false, rate: 20_000 });
      await waitUntil('rows to land', async () => (await tableCounts(f)).rows > 40_000, 60_000);
      agent.child.kill('SIGKILL');
      await agent.exited;
      assert.ok((await tableCounts(f)).rows < COUNT * 0.9, 'the kill should happen mid-stream');
      agent = runWeir(['run', '-c', f.configPath]);
      const report = await producing;
      await waitForDrain(f, 180_000);
      const unique = report.counts.unique;
      const got = await landed(f);
      // Every unique event landed (no loss), each from exactly one source record (no duplicate
      // slipped through). Rows beyond that are the at-least-once sink re-inserting the batches
      // that were inserted but not committed when the agent died: the same source records.
      assert.equal(got.ids, unique, 'every unique event landed');
      assert.equal(got.origins, unique, 'one source record per event');
      const text = await metricsOf(f.port);
      const replays = metricValue(text, 'weir_dedup_records_total', { reason: 'replay' });
      const duplicates = metricValue(text, 'weir_dedup_records_total', { reason: 'duplicate' });
      process.stderr.write(
        `# SIGKILL: ${got.rows - unique} rows re-inserted by replay; after restart ${replays} records recognised as replays of themselves, ${duplicates} duplicates dropped\n`,
      );
      // Keys are persisted at every checkpoint, ahead of other partitions' commits: the restart
      // meets records whose keys are already stored, and must pass them.
      assert.ok(replays > 0, 'the restart replayed records whose keys were already persisted');
    } finally {
      await agent.stop();
      await f.cleanup();
    }
  });

  it('two agents in one consumer group on a keyed topic land exactly the unique set', async () => {
    const f = await dedupFixture();
    const port2 = await freePort();
    const one = runWeir(['run', '-c', f.configPath]);
    const two = runWeir(['run', '-c', f.configWithPort(port2)]);
    try {
      const assigned = async (port: number) =>
        metricValue(await metricsOf(port), 'weir_assigned_partitions');
      await waitUntil(
        'both agents to own partitions',
        async () =>
          (await assigned(f.port)) + (await assigned(port2)) === 4 &&
          (await assigned(port2)) > 0 &&
          (await assigned(f.port)) > 0,
        60_000,
        500,
      );
      const report = await generate(f, { ...load, keyed: true });
      await waitForDrain(f, 180_000);
      const unique = report.counts.unique;
      assert.deepEqual(await tableCounts(f), { rows: unique, unique });
      const dropped = async (port: number) =>
        metricValue(await metricsOf(port), 'weir_dedup_records_total', { reason: 'duplicate' });
      const [d1, d2] = [await dropped(f.port), await dropped(port2)];
      assert.equal(d1 + d2, report.counts.duplicates);
      assert.ok(d1 > 0 && d2 > 0, 'both agents dropped duplicates');
    } finally {
      const oneExit = await one.stop();
      const twoExit = await two.stop();
      await f.cleanup();
      assert.equal(oneExit, 0, one.output().slice(-2000));
      assert.equal(twoExit, 0, two.output().slice(-2000));
    }
  });

  it('sends every dropped duplicate to duplicates_topic, naming the record it repeats', async () => {
    const dups = randomName('weir-dups');
    const f = await dedupFixture({ duplicates_topic: dups });
    const agent = runWeir(['run', '-c', f.configPath]);
    try {
      const report = await generate(f, { count: 30_000, dupRate: 0.1, dupWindow: 5000, seed: 5 });
      await waitForDrain(f, 120_000);
      assert.deepEqual(await tableCounts(f), {
        rows: report.counts.unique,
        unique: report.counts.unique,
      });
      const seen = await readDeadLetters({ ...f, dlqTopic: dups }, report.counts.duplicates);
      assert.equal(seen.length, report.counts.duplicates, 'one record per dropped duplicate');
      // Where each event landed from: the origin a duplicate names must be that record.
      const rs = await f.ch.query({
        query: `SELECT event_id, src_partition, src_offset FROM ${f.table}`,
        format: 'JSONEachRow',
      });
      const origin = new Map(
        (await rs.json<{ event_id: string; src_partition: number; src_offset: string }>()).map(
          (r) => [r.event_id, `${f.topic}/${r.src_partition}/${r.src_offset}`],
        ),
      );
      for (const d of seen) {
        assert.equal(d.stage, 'dedup');
        assert.equal(d.reason, 'duplicate');
        const id = (JSON.parse(d.value) as { event_id: string }).event_id;
        assert.equal(d.detail, `duplicate of ${origin.get(id)}`, `duplicate of ${id}`);
        assert.notEqual(
          `${d.sourcePartition}/${d.sourceOffset}`,
          origin.get(id)?.slice(f.topic.length + 1),
        );
      }
    } finally {
      const agentExit = await agent.stop();
      const admin = kafka().admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [dups] }).catch(() => undefined);
      await admin.disconnect();
      await f.cleanup();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });
});
