// `weir validate` changes nothing: it says which side topics, table and NATS buckets are missing
// (`weir run` creates them); `weir validate --create` creates them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { weirOnce, writeConfig } from '../helpers/agent.ts';
import { clickhouse, endpoints, kafka, natsConnect, randomName } from '../helpers/stack.ts';

describe('weir validate', () => {
  const id = randomName('validate');
  const orders = `weir-${id}-orders`;
  const payments = `weir-${id}-payments`;
  const dlq = `weir-${id}.dlq`;
  const duplicates = `weir-${id}.duplicates`;
  const table = `t_${id}`;
  const buckets = {
    dedup: `weir_dedup_${id}`,
    join: `weir_join_${id}`,
    ledger: `weir_ledger_${id}`,
  };
  const admin = kafka().admin();
  const ch = clickhouse();
  const nats = { servers: [endpoints.nats] };

  const config = writeConfig({
    pipelines: [
      {
        name: 'validated',
        source: { brokers: [endpoints.kafka], topics: [orders], connection_timeout_ms: 2000 },
        schema: {
          fields: { order_id: 'uuid', amount: 'number', created_at: 'datetime' },
        },
        dedup: {
          key: 'order_id',
          window: '1h',
          duplicates_topic: duplicates,
          nats: { ...nats, bucket: buckets.dedup },
        },
        join: {
          type: 'left',
          within: '10s',
          left: { key: 'order_id', time: 'created_at' },
          right: {
            topic: payments,
            schema: { fields: { order_id: 'string', paid_at: 'datetime' } },
            key: 'order_id',
            time: 'paid_at',
          },
          fields: {
            order_id: 'left.order_id',
            amount: 'left.amount',
            created_at: 'left.created_at',
            paid_at: 'right.paid_at',
          },
          nats: { ...nats, bucket: buckets.join },
        },
        sink: {
          clickhouse: {
            url: endpoints.clickhouse,
            table,
            create_table: {
              engine: `ReplicatedMergeTree('/clickhouse/tables/{shard}/${table}', '{replica}')`,
              order_by: ['order_id'],
            },
            exactly_once: { mode: 'required', nats: { ...nats, bucket: buckets.ledger } },
          },
        },
        dead_letter: { topic: dlq },
      },
    ],
  });

  /** Which of the things validate may create exist now. */
  async function existing(): Promise<string[]> {
    const topics = new Set(await admin.listTopics());
    const found = [dlq, duplicates].filter((t) => topics.has(t));
    const rs = await ch.query({
      query: `SELECT name FROM system.tables WHERE database = currentDatabase() AND name = '${table}'`,
      format: 'JSONEachRow',
    });
    if ((await rs.json()).length > 0) found.push(table);
    const nc = await natsConnect();
    try {
      const jsm = await nc.jetstreamManager();
      for (const bucket of Object.values(buckets))
        if (
          await jsm.streams.info(`KV_${bucket}`).then(
            () => true,
            () => false,
          )
        )
          found.push(bucket);
    } finally {
      await nc.close();
    }
    return found.sort();
  }

  before(async () => {
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: orders, numPartitions: 2 },
        { topic: payments, numPartitions: 2 },
      ],
      waitForLeaders: true,
    });
  });

  after(async () => {
    await admin
      .deleteTopics({ topics: [orders, payments, dlq, duplicates] })
      .catch(() => undefined);
    await admin.disconnect();
    await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await ch.close();
    const nc = await natsConnect();
    const jsm = await nc.jetstreamManager();
    for (const bucket of Object.values(buckets))
      await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
    await nc.close();
  });

  it('reports the missing side topics, table and buckets, and creates none of them', async () => {
    const r = await weirOnce(['validate', '-c', config]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /OK \(1 pipeline: validated; .*nothing changed\)/);
    for (const [what, name] of [
      ['dead-letter topic', dlq],
      ['duplicates topic', duplicates],
      ['ClickHouse table', `default.${table}`],
      ['NATS KV bucket (dedup state)', buckets.dedup],
      ['NATS KV bucket (join state)', buckets.join],
      ['NATS KV bucket (batch ledger)', buckets.ledger],
    ])
      assert.ok(
        r.output.includes(`the ${what} ${name} does not exist; \`weir run\` creates it`),
        `${what} ${name} reported missing:\n${r.output}`,
      );
    assert.deepEqual(await existing(), []);
  });

  it('--create creates them, and says so; a second validate finds nothing missing', async () => {
    const r = await weirOnce(['validate', '--create', '-c', config]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /created the dead-letter topic/);
    assert.match(r.output, /created the ClickHouse table/);
    assert.match(r.output, /created the NATS KV bucket \(batch ledger\)/);
    const all = [dlq, duplicates, table, ...Object.values(buckets)].sort();
    assert.deepEqual(await existing(), all);
    const again = await weirOnce(['validate', '-c', config]);
    assert.equal(again.code, 0, again.output);
    // The OK line, then only the latency the join's window adds (no line about anything missing).
    const lines = again.output.trim().split('\n');
    assert.match(lines[0]!, /: OK \(/, again.output);
    assert.deepEqual(
      lines.slice(1).filter((l) => !/adds up to .* of event time/.test(l)),
      [],
      again.output,
    );
  });
});
