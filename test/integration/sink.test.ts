// The ClickHouse sink against the real server: bisection of rejected rows, fatal errors, stop.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { FieldInfo } from '../../src/core/fields.ts';
import type { SourceRecord } from '../../src/core/record.ts';
import { ClickHouseSink, type ClickHouseSinkConfig } from '../../src/sink/clickhouse/sink.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { clickhouse, endpoints, randomName } from '../helpers/stack.ts';

const fields: FieldInfo[] = [
  { name: 'id', type: { kind: 'integer' }, nullable: false },
  { name: 'name', type: { kind: 'string' }, nullable: false },
];

const cfg = (table: string, over: Partial<ClickHouseSinkConfig> = {}): ClickHouseSinkConfig => ({
  url: endpoints.clickhouse,
  username: 'default',
  password: '',
  database: 'default',
  table,
  batch: { max_rows: 1000, max_bytes: 1_000_000, max_delay_ms: 100 },
  async_insert: false,
  request_timeout_ms: 10_000,
  retry: { initial_ms: 50, max_ms: 200 },
  settings: {},
  ...over,
});

const src = (offset: number): SourceRecord => ({
  topic: 't',
  partition: 0,
  offset: String(offset),
  key: null,
  value: null,
  headers: {},
  timestamp: 0,
});

describe('ClickHouse sink', () => {
  const ch = clickhouse();
  const table = randomName('sink');
  const deps = () => ({
    pipeline: 'p',
    logger: createLogger({ level: 'silent' }),
    metrics: createMetrics(new Registry(), { defaults: false }),
  });

  before(async () => {
    await ch.command({
      query: `CREATE TABLE ${table} (id UInt64, name String) ENGINE = MergeTree ORDER BY id`,
    });
  });
  after(async () => {
    await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await ch.close();
  });

  it('bisects a batch the server rejects: bad rows come back as dead letters, the rest lands', async () => {
    const sink = await ClickHouseSink.open(cfg(table), fields, deps());
    try {
      const lines: string[] = [];
      for (let i = 0; i < 40; i++) lines.push(sink.serialize({ id: i, name: `n${i}` }));
      // Rows the server itself cannot parse (a stand-in for anything only ClickHouse rejects).
      lines[7] = '{"id": "seven", "name": "x"}\n';
      lines[31] = '{"id": 31, "name": }\n';
      const dead = await sink.insert({ lines, sources: lines.map((_, i) => src(i)), bytes: 0 });
      assert.deepEqual(
        dead.map((d) => [d.source.offset, d.stage, d.reason]),
        [
          ['7', 'sink', 'rejected_by_clickhouse'],
          ['31', 'sink', 'rejected_by_clickhouse'],
        ],
      );
      const rs = await ch.query({
        query: `SELECT count() AS n, sum(id) AS s FROM ${table}`,
        format: 'JSONEachRow',
      });
      const [r] = await rs.json<{ n: string; s: string }>();
      assert.equal(Number(r?.n), 38);
      assert.equal(Number(r?.s), (39 * 40) / 2 - 7 - 31);
    } finally {
      await sink.close();
    }
  });

  it('refuses to open on a table whose columns do not fit, naming every problem', async () => {
    await assert.rejects(
      ClickHouseSink.open(
        cfg(table),
        [...fields, { name: 'extra', type: { kind: 'string' }, nullable: false }],
        deps(),
      ),
      /extra/,
    );
  });

  it('says clearly when ClickHouse cannot be reached', async () => {
    await assert.rejects(
      ClickHouseSink.open(cfg(table, { url: 'http://127.0.0.1:1' }), fields, deps()),
      /cannot reach ClickHouse at http:\/\/127\.0\.0\.1:1/,
    );
  });

  it('reports wrong credentials without the password', async () => {
    const err = await ClickHouseSink.open(
      cfg(table, { username: 'weir', password: 'bad-password-123' }),
      fields,
      deps(),
    ).then(
      () => undefined,
      (e: unknown) => e as Error & { describe(): string },
    );
    assert.ok(err, 'open should fail');
    assert.match(err.describe(), /weir/);
    assert.doesNotMatch(err.describe(), /bad-password-123/);
  });
});
