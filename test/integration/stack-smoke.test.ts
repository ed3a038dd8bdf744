// Smoke tests proving each service of the local stack really works for Weir's purposes.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  clickhouse,
  createTopic,
  endpoints,
  kafka,
  natsConnect,
  postgres,
  randomName,
} from '../helpers/stack.ts';

describe('kafka', () => {
  it('produces and consumes a record on a fresh topic', async () => {
    const { topic, cleanup } = await createTopic('weir-smoke', 2);
    const producer = kafka().producer();
    const consumer = kafka().consumer({ groupId: randomName('weir-smoke-group') });
    try {
      await producer.connect();
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: 'k1', value: JSON.stringify({ hello: 'kafka' }), headers: { h: 'v' } }],
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const got = await new Promise<{ key: string; value: string; header: string }>(
        (resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no record within 30s')), 30_000);
          void consumer.run({
            eachMessage: ({ message }) => {
              clearTimeout(timer);
              resolve({
                key: message.key?.toString() ?? '',
                value: message.value?.toString() ?? '',
                header: message.headers?.h?.toString() ?? '',
              });
              return Promise.resolve();
            },
          });
        },
      );
      assert.deepEqual(got, { key: 'k1', value: '{"hello":"kafka"}', header: 'v' });
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await cleanup();
    }
  });
});

describe('clickhouse', () => {
  const ch = clickhouse();
  after(() => ch.close());

  it('creates a MergeTree table, inserts and selects', async () => {
    const table = randomName('smoke');
    await ch.command({
      query: `CREATE TABLE ${table} (id UInt64, name String) ENGINE = MergeTree ORDER BY id`,
    });
    try {
      await ch.insert({
        table,
        values: [
          { id: 1, name: 'a' },
          { id: 2, name: 'b' },
        ],
        format: 'JSONEachRow',
      });
      const rows = await (
        await ch.query({
          query: `SELECT id, name FROM ${table} ORDER BY id`,
          format: 'JSONEachRow',
        })
      ).json<{ id: string | number; name: string }>();
      assert.deepEqual(
        rows.map((r) => [Number(r.id), r.name]),
        [
          [1, 'a'],
          [2, 'b'],
        ],
      );
    } finally {
      await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
    }
  });

  it('creates a ReplicatedMergeTree table (ZooKeeper) that deduplicates a repeated block', async () => {
    const table = randomName('smoke_rep');
    await ch.command({
      query: `CREATE TABLE ${table} (id UInt64, name String)
              ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${table}', '{replica}')
              ORDER BY id`,
    });
    try {
      const block = [
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
      ];
      await ch.insert({ table, values: block, format: 'JSONEachRow' });
      await ch.insert({ table, values: block, format: 'JSONEachRow' });
      const rows = await (
        await ch.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })
      ).json<{ n: string | number }>();
      assert.equal(Number(rows[0]?.n), 2);
    } finally {
      await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
    }
  });
});

describe('nats jetstream', () => {
  it('puts and gets a value in a KV bucket', async () => {
    const nc = await natsConnect();
    const bucketName = randomName('smoke');
    try {
      const kv = await nc.jetstream().views.kv(bucketName, { history: 1 });
      const rev = await kv.put('greeting', new TextEncoder().encode('hello'));
      assert.ok(rev > 0);
      const entry = await kv.get('greeting');
      assert.equal(entry?.string(), 'hello');
      // Compare-and-set: an update with a stale revision must be rejected.
      await kv.update('greeting', new TextEncoder().encode('v2'), rev);
      await assert.rejects(kv.update('greeting', new TextEncoder().encode('v3'), rev));
      await kv.destroy();
    } finally {
      await nc.close();
    }
  });
});

describe('postgres', () => {
  it('creates a table, inserts and selects as role weir in database weir', async () => {
    const db = await postgres();
    const table = randomName('smoke');
    try {
      const who = await db.query<{ u: string; d: string }>(
        'SELECT current_user AS u, current_database() AS d',
      );
      assert.deepEqual(who.rows, [{ u: 'weir', d: 'weir' }]);
      await db.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, name text NOT NULL)`);
      await db.query(`INSERT INTO ${table} (id, name) VALUES ($1, $2), ($3, $4)`, [1, 'a', 2, 'b']);
      // A primary key holds: the lookup transform relies on one row per key.
      await assert.rejects(db.query(`INSERT INTO ${table} VALUES (1, 'again')`), {
        code: '23505',
      });
      const rows = await db.query<{ id: string; name: string }>(
        `SELECT id, name FROM ${table} WHERE id = ANY($1) ORDER BY id`,
        [[1, 2, 3]],
      );
      assert.deepEqual(
        rows.rows.map((r) => [Number(r.id), r.name]),
        [
          [1, 'a'],
          [2, 'b'],
        ],
      );
    } finally {
      await db.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await db.end();
    }
  });

  it('rejects a wrong password (scram-sha-256 over TCP), without echoing it', async () => {
    const url = new URL(endpoints.postgres);
    const wrong = 'not-the-password-7f3a';
    url.password = wrong;
    const err = await postgres(url.toString()).then(
      async (c) => {
        await c.end();
        return undefined;
      },
      (e: unknown) => e as Error & { code?: string },
    );
    assert.ok(err, 'a login with a wrong password succeeded: password authentication is off');
    // 28P01 invalid_password: the server checked a password, not e.g. refused the connection.
    assert.equal(err.code, '28P01', `expected invalid_password, got ${err.code}: ${err.message}`);
    assert.doesNotMatch(err.message, new RegExp(wrong));
    // The superuser has no password: it cannot log in over TCP at all.
    url.username = 'postgres';
    url.pathname = '/postgres';
    await assert.rejects(postgres(url.toString()), { code: '28P01' });
  });
});
