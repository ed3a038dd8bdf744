// Lookups against the real services: a dimension table in PostgreSQL (in a schema of its own) and
// in ClickHouse, and an HTTP service in the test; then a real agent enriching generated records
// while PostgreSQL is cut off behind a proxy and comes back.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import pg from 'pg';
import { Registry } from 'prom-client';
import { systemClock } from '../../src/core/clock.ts';
import { ConfigError, ConnectionError, isRetriable } from '../../src/core/errors.ts';
import type { FieldInfo } from '../../src/core/fields.ts';
import type { Envelope } from '../../src/core/record.ts';
import { lookupSchema } from '../../src/config/schema.ts';
import { createLookup } from '../../src/lookup/open.ts';
import type { LookupStage } from '../../src/lookup/stage.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createMetrics, type Metrics } from '../../src/telemetry/metrics.ts';
import { getText, runWeir, waitUntil, weirOnce } from '../helpers/agent.ts';
import {
  generate,
  metricValue,
  metrics,
  pipelineFixture,
  waitForDrain,
} from '../helpers/pipeline.ts';
import { startProxy, type TcpProxy } from '../helpers/proxy.ts';
import { clickhouse, endpoints, randomName } from '../helpers/stack.ts';

const PG_URL = endpoints.postgres;
const pgTarget = (() => {
  const u = new URL(PG_URL);
  return { host: u.hostname, port: Number(u.port || 5432) };
})();
/** The same URL at another host:port (a proxy, a closed port) or with other credentials. */
function pgUrl(o: { port?: number; password?: string } = {}): string {
  const u = new URL(PG_URL);
  if (o.port !== undefined) u.port = String(o.port);
  if (o.password !== undefined) u.password = o.password;
  return u.toString();
}

const input: FieldInfo[] = [
  { name: 'event_id', type: { kind: 'string' }, nullable: false },
  { name: 'k', type: { kind: 'integer' }, nullable: true },
  { name: 'code', type: { kind: 'string' }, nullable: true },
];

interface Opened {
  stage: LookupStage;
  metrics: Metrics;
  logs: string[];
}

function plan(config: Record<string, unknown>): Opened {
  const cfg = lookupSchema.parse({ retry: { initial_ms: 50, max_ms: 200 }, ...config });
  const metrics = createMetrics(new Registry(), { defaults: false });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const { stage } = createLookup(0, cfg, input, {
    pipeline: 'lk',
    metrics,
    logger,
    clock: systemClock,
  });
  return { stage: stage as LookupStage, metrics, logs };
}

async function open(config: Record<string, unknown>): Promise<Opened> {
  const o = plan(config);
  await o.stage.open();
  return o;
}

let offset = 0;
function envelopes(rows: { k?: unknown; code?: unknown }[]): Envelope[] {
  return rows.map((r) => {
    const at = offset++;
    return {
      source: {
        topic: 't',
        partition: 0,
        offset: String(at),
        key: null,
        value: null,
        headers: {},
        timestamp: 0,
      },
      row: { event_id: `e${at}`, k: r.k ?? null, code: r.code ?? null },
    };
  });
}

async function queries(m: Metrics): Promise<number> {
  const text = await m.registry.metrics();
  return metricValue(text, 'weir_lookup_query_duration_seconds_count');
}

describe('lookup from PostgreSQL', () => {
  const schema = randomName('weir_lk');
  const admin = new pg.Client({ connectionString: PG_URL });
  const table = `${schema}.dims`;

  before(async () => {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${table} (
      id bigint, code text, name text, budget numeric, starts timestamptz, day date,
      active boolean, uid uuid, meta jsonb)`);
    await admin.query(`INSERT INTO ${table} VALUES
      (1, 'a', 'Alpha', 10.5, '2024-05-01 10:00:00+02', '2024-05-01', true,
       '6f1c1a5e-1f7b-4b61-9f0b-0d5b8a3c2d11', '{"tier": 1}'),
      (2, 'b', 'Beta', 20, '2024-06-01 00:00:00+00', '2024-06-01', false,
       '7a2d2b6f-2a8c-4c72-8a1c-1e6c9b4d3e22', '{"tier": 2}'),
      (9007199254740993, 'big', 'Big', 1, NULL, NULL, NULL, NULL, NULL)`);
  });
  after(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
    await admin.end();
  });

  it('enriches with every column type converted, one query per fetch', async () => {
    const { stage, metrics } = await open({
      from: { postgres: { url: PG_URL } },
      table,
      key: { field: 'k', column: 'id' },
      fields: {
        name: 'string',
        budget: 'number',
        starts: 'datetime',
        day: 'date',
        active: 'boolean',
        uid: 'uuid',
        meta: 'json',
      },
    });
    try {
      const res = await stage.process(
        envelopes([{ k: 1 }, { k: 2 }, { k: 1 }, { k: 3 }, {}, { k: 2 }]),
      );
      assert.equal(await queries(metrics), 1, 'one query for the distinct keys 1, 2, 3');
      const rows = res.out.map((e) => e.row);
      assert.deepEqual(rows[0], {
        event_id: rows[0]!.event_id,
        k: 1,
        code: null,
        name: 'Alpha',
        budget: 10.5,
        starts: Date.parse('2024-05-01T08:00:00Z'),
        day: Date.parse('2024-05-01T00:00:00Z'),
        active: true,
        uid: '6f1c1a5e-1f7b-4b61-9f0b-0d5b8a3c2d11',
        meta: { tier: 1 },
      });
      assert.equal(rows[1]!.name, 'Beta');
      assert.equal(rows[1]!.active, false);
      assert.equal(rows[3]!.name, null, 'key 3 has no row');
      assert.equal(rows[4]!.name, null, 'a null key is a miss');
      // The cache answers the next fetch.
      await stage.process(envelopes([{ k: 1 }, { k: 2 }, { k: 3 }]));
      assert.equal(await queries(metrics), 1);
    } finally {
      await stage.close();
    }
  });

  it('reads through a query with the keys as $1, and preloads a table', async () => {
    const q = await open({
      from: { postgres: { url: PG_URL } },
      query: `SELECT code, upper(name) AS shout FROM ${table} WHERE code = ANY($1)`,
      key: 'code',
      fields: { shout: 'string' },
    });
    const p = await open({
      from: { postgres: { url: PG_URL } },
      table,
      key: 'code',
      fields: { name: 'string' },
      preload: { refresh: '1h' },
    });
    try {
      const res = await q.stage.process(envelopes([{ code: 'a' }, { code: 'zz' }, { code: 'b' }]));
      assert.deepEqual(
        res.out.map((e) => e.row.shout),
        ['ALPHA', null, 'BETA'],
      );
      assert.equal(await queries(q.metrics), 1);
      const before = await queries(p.metrics);
      const pre = await p.stage.process(envelopes([{ code: 'b' }, { code: 'zz' }]));
      assert.deepEqual(
        pre.out.map((e) => e.row.name),
        ['Beta', null],
      );
      assert.equal(await queries(p.metrics), before, 'a preloaded table is not queried per fetch');
    } finally {
      await q.stage.close();
      await p.stage.close();
    }
  });

  it('dead-letters a value that does not convert, naming field and column', async () => {
    const { stage } = await open({
      from: { postgres: { url: PG_URL } },
      table,
      key: { field: 'k', column: 'id' },
      fields: { code_number: { type: 'integer', column: 'code' } },
    });
    try {
      const res = await stage.process(envelopes([{ k: 1 }]));
      assert.equal(res.dead.length, 1);
      assert.equal(res.dead[0]!.reason, 'lookup_value');
      assert.match(res.dead[0]!.detail, /column "code" of the row for key "1" does not convert/);
      assert.match(res.dead[0]!.detail, /field "code_number": expected integer, got string "a"/);
    } finally {
      await stage.close();
    }
  });

  it('refuses at start a column whose type does not fit, and a missing table', async () => {
    await assert.rejects(
      open({
        from: { postgres: { url: PG_URL } },
        table,
        key: { field: 'k', column: 'id' },
        fields: { meta: 'string', nope: 'string' },
      }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(
          err.message,
          /field "meta" is declared string, but column "meta" is jsonb, which does not convert to string \(fix: declare the field as json/,
        );
        assert.match(err.message, /field "nope": column "nope" does not exist/);
        return true;
      },
    );
    await assert.rejects(
      open({
        from: { postgres: { url: PG_URL } },
        table: `${schema}.missing`,
        key: 'code',
        fields: { name: 'string' },
      }),
      /the table .*missing does not exist/,
    );
  });

  it('a wrong password fails the start clearly, without printing it; a closed port is retriable', async () => {
    const password = 'not-the-password-42';
    const err = await open({
      from: { postgres: { url: pgUrl({ password }) } },
      table,
      key: 'code',
      fields: { name: 'string' },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConnectionError, String(err));
    assert.equal(isRetriable(err), false);
    assert.match(err.describe(), /refused the credentials/);
    assert.match(
      err.describe(),
      /check the user and password in transforms\[0\]\.lookup\.from\.postgres\.url/,
    );
    assert.ok(!err.describe().includes(password), err.describe());

    const closed = await open({
      from: { postgres: { url: pgUrl({ port: 1 }) } },
      table,
      key: 'code',
      fields: { name: 'string' },
      timeout_ms: 2000,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(closed instanceof ConnectionError, String(closed));
    assert.equal(isRetriable(closed), true);
    assert.equal(closed.peer, 'PostgreSQL');
  });

  it('two rows for one key pause the lookup, naming the key and the table, until fixed', async () => {
    await admin.query(`INSERT INTO ${table} (id, code, name) VALUES (2, 'b2', 'Beta again')`);
    const { stage, metrics, logs } = await open({
      from: { postgres: { url: PG_URL } },
      table,
      key: { field: 'k', column: 'id' },
      fields: { name: 'string' },
    });
    try {
      const pending = stage.process(envelopes([{ k: 2 }]));
      await waitUntil('the lookup to pause', () => !stage.check().ok, 5000, 20);
      const check = stage.check();
      assert.match(check.reason!, /more than one row for key "2" \(key column "id"\)/);
      assert.match(check.reason!, new RegExp(`PostgreSQL table ${table}`));
      assert.match(
        check.reason!,
        /make "id" unique in the table, or use a query that returns one row per key/,
      );
      assert.equal(
        metricValue(await metrics.registry.metrics(), 'weir_pipeline_paused', { reason: 'lookup' }),
        1,
      );
      await admin.query(`DELETE FROM ${table} WHERE code = 'b2'`);
      const res = await pending;
      assert.equal(res.out[0]!.row.name, 'Beta');
      assert.ok(stage.check().ok);
      assert.equal(logs.filter((l) => l.includes('"level":"error"')).length, 1);
    } finally {
      await stage.close();
    }
  });

  it('PostgreSQL cut off: the fetch waits, paused, and completes once it is back', async () => {
    const proxy = await startProxy(pgTarget);
    const { stage, metrics } = await open({
      from: { postgres: { url: pgUrl({ port: proxy.port }) } },
      table,
      key: { field: 'k', column: 'id' },
      fields: { name: 'string' },
      timeout_ms: 1000,
    });
    try {
      proxy.block('refuse');
      let done = false;
      const pending = stage.process(envelopes([{ k: 1 }, { k: 2 }])).finally(() => (done = true));
      await waitUntil('the lookup to pause', () => !stage.check().ok, 10_000, 50);
      assert.match(stage.check().reason!, /lookup lookup\[0\] cannot read PostgreSQL table/);
      assert.ok(!stage.check().reason!.includes(':weir@'), 'no credentials in readiness');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(done, false, 'the records wait');
      proxy.unblock();
      const res = await pending;
      assert.deepEqual(
        res.out.map((e) => e.row.name),
        ['Alpha', 'Beta'],
      );
      assert.ok(stage.check().ok);
      const text = await metrics.registry.metrics();
      assert.ok(metricValue(text, 'weir_lookup_errors_total', { class: 'connection' }) >= 1);
      assert.equal(metricValue(text, 'weir_pipeline_paused', { reason: 'lookup' }), 0);
    } finally {
      proxy.unblock();
      await stage.close();
      await proxy.close();
    }
  });
});

describe('lookup from ClickHouse', () => {
  const ch = clickhouse();
  const table = randomName('lk_dims');

  before(async () => {
    await ch.command({
      query: `CREATE TABLE ${table} (id UInt64, code String, name String, rate Float64, at DateTime)
        ENGINE = MergeTree ORDER BY id`,
    });
    await ch.command({
      query: `INSERT INTO ${table} VALUES (1, 'a', 'Alpha', 1.5, '2024-05-01 10:00:00'), (2, 'b', 'Beta', 2.5, '2024-06-01 00:00:00')`,
    });
  });
  after(async () => {
    await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
    await ch.close();
  });

  it('enriches from a table (numeric key) and from a query ({keys})', async () => {
    const t = await open({
      from: { clickhouse: { url: endpoints.clickhouse } },
      table,
      key: { field: 'k', column: 'id' },
      fields: { name: 'string', rate: 'number', at: 'datetime' },
    });
    const q = await open({
      from: { clickhouse: { url: endpoints.clickhouse } },
      query: `SELECT code, concat(name, '!') AS loud FROM ${table} WHERE code IN {keys}`,
      key: 'code',
      fields: { loud: 'string' },
    });
    try {
      const res = await t.stage.process(envelopes([{ k: 2 }, { k: 7 }, { k: 1 }, { k: 2 }]));
      assert.deepEqual(
        res.out.map((e) => [e.row.name, e.row.rate]),
        [
          ['Beta', 2.5],
          [null, null],
          ['Alpha', 1.5],
          ['Beta', 2.5],
        ],
      );
      assert.equal(typeof res.out[0]!.row.at, 'number');
      assert.equal(await queries(t.metrics), 1);
      const r2 = await q.stage.process(envelopes([{ code: 'a' }, { code: "it's" }]));
      assert.deepEqual(
        r2.out.map((e) => e.row.loud),
        ['Alpha!', null],
      );
    } finally {
      await t.stage.close();
      await q.stage.close();
    }
  });

  it('refuses at start a column that does not fit, naming both types', async () => {
    await assert.rejects(
      open({
        from: { clickhouse: { url: endpoints.clickhouse } },
        table,
        key: { field: 'k', column: 'id' },
        fields: { rate: 'boolean' },
      }),
      /field "rate" is declared boolean, but column "rate" is Float64, which does not convert to boolean \(fix: declare the field as number, string, json/,
    );
    await assert.rejects(
      open({
        from: { clickhouse: { url: endpoints.clickhouse, password: 'wrong-password-77' } },
        table,
        key: { field: 'k', column: 'id' },
        fields: { name: 'string' },
      }),
      (err: unknown) => {
        assert.ok(err instanceof ConnectionError, String(err));
        assert.ok(!(err as Error).message.includes('wrong-password-77'));
        assert.equal(isRetriable(err), false);
        return true;
      },
    );
  });
});

describe('lookup from an HTTP service', () => {
  let server: Server;
  let url = '';
  let failNext = 0;
  const bodies: unknown[] = [];
  const rows: Record<string, unknown> = {
    a: { name: 'Alpha', n: 1 },
    b: { name: 'Beta', n: '2' },
  };

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const basic = `Basic ${Buffer.from('reader:p4ss-word').toString('base64')}`;
        if (![basic, 'Bearer t0ken-for-test'].includes(req.headers.authorization ?? '')) {
          res.writeHead(401).end();
          return;
        }
        const parsed = JSON.parse(body) as { keys?: string[]; all?: boolean };
        bodies.push(parsed);
        if (failNext > 0) {
          failNext--;
          res.writeHead(503).end('busy');
          return;
        }
        const keys = parsed.all ? Object.keys(rows) : (parsed.keys ?? []);
        const answer = Object.fromEntries(keys.map((k) => [k, rows[String(k)] ?? null]));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dims`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const config = () => ({
    from: { http: { url, headers: { Authorization: 'Bearer t0ken-for-test' } } },
    key: 'code',
    fields: { name: 'string', n: 'integer' },
  });

  it('posts the distinct keys once per fetch; a 503 pauses and is retried', async () => {
    const { stage } = await open(config());
    try {
      bodies.length = 0;
      const res = await stage.process(
        envelopes([{ code: 'a' }, { code: 'b' }, { code: 'a' }, { code: 'x' }]),
      );
      assert.deepEqual(bodies, [{ keys: ['a', 'b', 'x'] }]);
      assert.deepEqual(
        res.out.map((e) => [e.row.name, e.row.n]),
        [
          ['Alpha', 1],
          ['Beta', 2],
          ['Alpha', 1],
          [null, null],
        ],
      );
      failNext = 2;
      rows.c = { name: 'Gamma', n: 3 };
      const again = await stage.process(envelopes([{ code: 'c' }]));
      assert.equal(again.out[0]!.row.name, 'Gamma');
      assert.equal(failNext, 0);
      assert.ok(stage.check().ok);
    } finally {
      await stage.close();
    }
  });

  it('sends user:password in the URL as Basic auth, and never prints it', async () => {
    const { stage, logs } = await open({
      ...config(),
      from: { http: { url: url.replace('http://', 'http://reader:p4ss-word@') } },
    });
    try {
      const res = await stage.process(envelopes([{ code: 'a' }]));
      assert.equal(res.out[0]!.row.name, 'Alpha');
      assert.match(stage.where, /http:\/\/\*\*\*@127\.0\.0\.1/);
      assert.ok(!logs.join('').includes('p4ss-word'));
    } finally {
      await stage.close();
    }
  });

  it('refuses at start a wrong token, and a service that does not answer', async () => {
    await assert.rejects(
      open({
        ...config(),
        from: { http: { url, headers: { Authorization: 'Bearer nope-nope' } } },
      }),
      (err: unknown) => {
        assert.ok(err instanceof ConnectionError);
        assert.match(err.describe(), /refused the request: HTTP 401/);
        assert.equal(isRetriable(err), false);
        return true;
      },
    );
    await assert.rejects(
      open({ ...config(), from: { http: { url: 'http://127.0.0.1:1/x' } } }),
      (err: unknown) => isRetriable(err) && /cannot reach the HTTP service/.test(String(err)),
    );
  });
});

describe('lookup in a running agent', () => {
  let proxy: TcpProxy;
  const admin = new pg.Client({ connectionString: PG_URL });
  const table = `public.${randomName('weir_currencies')}`;

  before(async () => {
    await admin.connect();
    await admin.query(`CREATE TABLE ${table} (code text PRIMARY KEY, label text, usd numeric)`);
    await admin.query(
      `INSERT INTO ${table} VALUES ('EUR', 'Euro', 1.08), ('USD', 'US dollar', 1), ('GBP', 'Pound', 1.27), ('JPY', 'Yen', 0.0064)`,
    );
    proxy = await startProxy(pgTarget);
  });
  after(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await admin.end();
    await proxy.close();
  });

  it('enriches every row; PostgreSQL cut off pauses the pipeline (readiness, metric) and it resumes', async () => {
    const f = await pipelineFixture({
      partitions: 2,
      maxDelayMs: 300,
      stallTimeoutMs: 60_000,
      extraTransforms: [
        {
          lookup: {
            name: 'currencies',
            from: { postgres: { url: pgUrl({ port: proxy.port }) } },
            table,
            key: { field: 'currency', column: 'code' },
            fields: {
              currency_label: { type: 'string', column: 'label' },
              usd_rate: { type: 'number', column: 'usd' },
            },
            on_miss: 'default',
            defaults: { currency_label: '(unknown)', usd_rate: 0 },
            cache: { ttl: '1s', negative_ttl: '1s' },
            timeout_ms: 1000,
            retry: { initial_ms: 100, max_ms: 500 },
          },
        },
      ],
    });
    await f.ch.command({
      query: `ALTER TABLE ${f.table} ADD COLUMN currency_label String, ADD COLUMN usd_rate Float64`,
    });
    // Started while PostgreSQL cannot be reached: the agent waits, saying for what.
    proxy.block('refuse');
    const agent = runWeir(['run', '-c', f.configPath]);
    try {
      await waitUntil(
        '/readyz to say the start waits for PostgreSQL',
        async () =>
          (await getText(`http://127.0.0.1:${f.port}/readyz`)).body.includes(
            'waiting for PostgreSQL',
          ),
        30_000,
      );
      proxy.unblock();
      const first = await generate(f, { count: 2_000, seed: 21 });
      await waitForDrain(f, 120_000);
      proxy.block('refuse');
      // The cache expires within a second; the next records need PostgreSQL.
      await new Promise((r) => setTimeout(r, 1500));
      const producing = generate(f, { count: 2_000, seed: 22 });
      await waitUntil(
        '/readyz to name the lookup',
        async () => {
          const r = await getText(`http://127.0.0.1:${f.port}/readyz`);
          return r.status === 503 && r.body.includes('lookup:currencies');
        },
        30_000,
      );
      const readyz = await getText(`http://127.0.0.1:${f.port}/readyz`);
      assert.match(readyz.body, /lookup currencies cannot read PostgreSQL table/);
      assert.ok(!readyz.body.includes('weir:weir@'), 'no password in readiness');
      assert.equal(metricValue(await metrics(f), 'weir_pipeline_paused', { reason: 'lookup' }), 1);
      // Held longer than the consumer session (10 s): the consumer keeps its partitions.
      await new Promise((r) => setTimeout(r, 12_000));
      proxy.unblock();
      const second = await producing;
      await waitForDrain(f, 120_000);
      const rs = await f.ch.query({
        query: `SELECT currency, currency_label, usd_rate, count() AS n, uniqExact(event_id) AS u FROM ${f.table} GROUP BY currency, currency_label, usd_rate ORDER BY currency`,
        format: 'JSONEachRow',
      });
      const groups = await rs.json<{
        currency: string;
        currency_label: string;
        usd_rate: number;
        n: string;
        u: string;
      }>();
      const expected: Record<string, [string, number]> = {
        EUR: ['Euro', 1.08],
        USD: ['US dollar', 1],
        GBP: ['Pound', 1.27],
        JPY: ['Yen', 0.0064],
        CHF: ['(unknown)', 0],
      };
      let total = 0;
      for (const g of groups) {
        assert.deepEqual([g.currency_label, Number(g.usd_rate)], expected[g.currency], g.currency);
        assert.equal(g.n, g.u, 'no duplicates');
        total += Number(g.n);
      }
      assert.equal(total, first.counts.unique + second.counts.unique);
      assert.equal(metricValue(await metrics(f), 'weir_pipeline_paused', { reason: 'lookup' }), 0);
      assert.match(agent.output(), /pipeline paused: lookup currencies cannot read PostgreSQL/);
      assert.match(agent.output(), /pipeline resumes: lookup currencies reads PostgreSQL/);
      assert.equal(
        agent
          .output()
          .split('\n')
          .filter((l) => l.includes('"level":"error"') && l.includes('currencies')).length,
        1,
        'one error line for the outage',
      );
      assert.ok(!agent.output().includes('weir:weir@'), 'no password in the logs');
      assert.equal(
        agent
          .output()
          .split('\n')
          .filter((l) => l.includes('partitions assigned')).length,
        1,
        'no rebalance while the lookup waited',
      );
    } finally {
      proxy.unblock();
      await agent.stop();
      await f.cleanup();
    }
  });
});

describe('weir validate and run with a lookup', () => {
  const admin = new pg.Client({ connectionString: PG_URL });
  const table = `public.${randomName('weir_validate_dims')}`;

  before(async () => {
    await admin.connect();
    await admin.query(`CREATE TABLE ${table} (code text PRIMARY KEY, label text, meta jsonb)`);
  });
  after(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await admin.end();
  });

  const lookupWith = (over: Record<string, unknown>) => ({
    lookup: {
      name: 'currencies',
      from: { postgres: { url: PG_URL } },
      table,
      key: { field: 'currency', column: 'code' },
      fields: { currency_label: { type: 'string', column: 'label' } },
      on_miss: 'default',
      defaults: { currency_label: '' },
      ...over,
    },
  });

  it('validate checks the columns and the credentials; run refuses wrong credentials at once', async () => {
    const good = await pipelineFixture({ partitions: 1, extraTransforms: [lookupWith({})] });
    const badType = await pipelineFixture({
      partitions: 1,
      extraTransforms: [
        lookupWith({ fields: { currency_label: { type: 'string', column: 'meta' } } }),
      ],
    });
    const password = 'wrong-pg-password-99';
    const badPassword = await pipelineFixture({
      partitions: 1,
      extraTransforms: [lookupWith({ from: { postgres: { url: pgUrl({ password }) } } })],
    });
    try {
      await good.ch.command({
        query: `ALTER TABLE ${good.table} ADD COLUMN currency_label String`,
      });
      const ok = await weirOnce(['validate', '-c', good.configPath]);
      assert.equal(ok.code, 0, ok.output);

      const type = await weirOnce(['validate', '-c', badType.configPath]);
      assert.notEqual(type.code, 0);
      assert.match(
        type.output,
        /field "currency_label" is declared string, but column "meta" is jsonb, which does not convert to string/,
      );

      const pw = await weirOnce(['validate', '-c', badPassword.configPath]);
      assert.notEqual(pw.code, 0);
      assert.match(pw.output, /refused the credentials/);
      assert.match(
        pw.output,
        /check the user and password in transforms\[0\]\.lookup\.from\.postgres\.url/,
      );
      assert.ok(!pw.output.includes(password), pw.output);

      // `weir run` refuses to start the same way, at once (no waiting: retrying cannot fix it).
      const run = await weirOnce(['run', '-c', badPassword.configPath], { timeoutMs: 60_000 });
      assert.notEqual(run.code, 0);
      assert.match(run.output, /refused the credentials/);
      assert.ok(!run.output.includes(password), run.output);
    } finally {
      await good.cleanup();
      await badType.cleanup();
      await badPassword.cleanup();
    }
  });
});
