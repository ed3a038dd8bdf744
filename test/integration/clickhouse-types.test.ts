// The ClickHouse type layer against the real local server (Debian's 18.16, the oldest Weir
// supports): every type the server has goes in through our encoders and comes back equal;
// DESCRIBE + mapping report real mismatches; real server and network errors are classified.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { RecordError } from '../../src/core/errors.ts';
import { registerSecrets } from '../../src/core/redact.ts';
import type { FieldInfo, FieldType } from '../../src/core/fields.ts';
import { createTableSql } from '../../src/sink/clickhouse/ddl.ts';
import { describeTable, serverInfo, tableEngine } from '../../src/sink/clickhouse/describe.ts';
import { classifyClickHouseError, errorHint } from '../../src/sink/clickhouse/errors.ts';
import {
  makeRowSerializer,
  planMapping,
  type ColumnDesc,
} from '../../src/sink/clickhouse/mapping.ts';
import type { ServerInfo } from '../../src/sink/clickhouse/server.ts';
import { endpoints, randomName } from '../helpers/stack.ts';

const quiet = { log: { level: ClickHouseLogLevel.OFF } };
const client = (opts: Parameters<typeof createClient>[0] = {}): ClickHouseClient =>
  createClient({ url: endpoints.clickhouse, request_timeout: 30_000, ...quiet, ...opts });

const f = (name: string, type: FieldType | FieldType['kind'], nullable = false): FieldInfo => ({
  name,
  type: typeof type === 'string' ? ({ kind: type } as FieldType) : type,
  nullable,
});
const arrayOf = (items: FieldType['kind']): FieldType => ({
  kind: 'array',
  items: { kind: items } as FieldType,
});

/** INSERT a JSONEachRow body the way the sink does: exec + drain. */
async function insert(ch: ClickHouseClient, table: string, body: string): Promise<void> {
  const result = await ch.exec({
    query: `INSERT INTO ${table} FORMAT JSONEachRow`,
    values: Readable.from([body]),
  });
  for await (const chunk of result.stream) void chunk;
}

async function select<T>(ch: ClickHouseClient, query: string): Promise<T[]> {
  return (await ch.query({ query, format: 'JSONEachRow' })).json<T>();
}

const ms = (iso: string): number => Date.parse(iso);

describe('ClickHouse types against the real server', () => {
  const ch = client();
  const tables: string[] = [];
  let server: ServerInfo;
  const newTable = (): string => {
    const t = randomName('weir_types');
    tables.push(t);
    return t;
  };

  before(async () => {
    server = await serverInfo(ch);
  });
  after(async () => {
    for (const t of tables) await ch.command({ query: `DROP TABLE IF EXISTS ${t}` });
    await ch.close();
  });

  it('detects the server features', async () => {
    assert.match(server.version, /^\d+\.\d+/);
    if (server.major === 18) {
      assert.equal(server.supportsBool, false);
      assert.equal(server.supportsDateTime64, false);
      assert.equal(server.supportsMap, false);
      assert.equal(server.supportsInsertDeduplicationToken, false);
      assert.equal(server.supportsAsyncInsert, false);
      assert.equal(server.namedTuplesAsObjects, false);
      assert.equal(server.legacyDateRange, true);
      assert.equal(server.supportsLowCardinality, true);
    }
    const [tz] = await select<{ tz: string }>(ch, 'SELECT timezone() AS tz');
    assert.equal(server.timezone, tz?.tz);
  });

  it('round-trips every type the server has through the encoders', async () => {
    const table = newTable();
    const lcSettings = server.major < 19 ? { allow_experimental_low_cardinality_type: 1 } : {};
    await ch.command({
      query: `CREATE TABLE ${table} (
        id UInt32, s String, fs FixedString(4),
        u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64, i8 Int8, i16 Int16, i32 Int32, i64 Int64,
        f32 Float32, f64 Float64, d Decimal(18, 4), d32 Decimal32(2), d128 Decimal128(10),
        uuid UUID, date Date, dt DateTime, dtz DateTime('Asia/Tokyo'),
        e8 Enum8('a' = 1, 'b c' = 2, 'q\\'z' = -3), e16 Enum16('x' = -300, 'y' = 1000),
        ns Nullable(String), ni Nullable(Int32), dtn Nullable(DateTime),
        lc LowCardinality(String), lcn LowCardinality(Nullable(String)),
        arr Array(Int32), arrn Array(Nullable(String)), arr2 Array(Array(UInt8)), arrd Array(Date),
        tup Tuple(Int32, String), ntup Tuple(a Int32, b String),
        flag UInt8, js String, n Nested(k String, v UInt32)
      ) ENGINE = MergeTree ORDER BY id`,
      clickhouse_settings: lcSettings,
    });
    const fields: FieldInfo[] = [
      f('id', 'integer'),
      f('s', 'string'),
      f('fs', 'string'),
      f('u8', 'integer'),
      f('u16', 'integer'),
      f('u32', 'integer'),
      f('u64', 'any'),
      f('i8', 'integer'),
      f('i16', 'integer'),
      f('i32', 'number'),
      f('i64', 'any'),
      f('f32', 'number'),
      f('f64', 'number'),
      f('d', 'any'),
      f('d32', 'number'),
      f('d128', 'number'),
      f('uuid', 'uuid'),
      f('date', 'date'),
      f('dt', 'datetime'),
      f('dtz', 'datetime'),
      f('e8', 'string'),
      f('e16', 'any'),
      f('ns', 'string', true),
      f('ni', 'integer', true),
      f('dtn', 'datetime', true),
      f('lc', 'string'),
      f('lcn', 'string', true),
      f('arr', arrayOf('integer')),
      f('arrn', 'any'),
      f('arr2', 'any'),
      f('arrd', arrayOf('date'), true),
      f('tup', 'json'),
      f('ntup', 'json'),
      f('flag', 'boolean'),
      f('js', 'json'),
      f('n.k', arrayOf('string')),
      f('n.v', arrayOf('integer')),
    ];
    const columns = await describeTable(ch, 'default', table);
    const { plan, problems } = planMapping(columns, fields, undefined, server);
    assert.deepEqual(problems, []);
    assert.equal(plan.length, columns.length);

    const tricky = 'tab\t "q" \\ \u0000 é 😀 \u2028 end';
    const rows = [
      {
        id: 1,
        s: 'hello',
        fs: 'ab',
        u8: 1,
        u16: 2,
        u32: 3,
        u64: 4,
        i8: -1,
        i16: -2,
        i32: -3,
        i64: -4,
        f32: 1.5,
        f64: 0.1,
        d: 12.3456,
        d32: 1.005,
        d128: 0.1,
        uuid: '01234567-89AB-cdef-0123-456789abcdef',
        date: ms('2024-01-02T00:00:00Z'),
        dt: ms('2024-01-02T03:04:05.678Z'),
        dtz: ms('2024-01-02T03:04:05Z'),
        e8: "q'z",
        e16: 1000,
        ns: 'x',
        ni: 5,
        dtn: ms('2000-01-01T00:00:00Z'),
        lc: 'low',
        lcn: 'card',
        arr: [1, -2, 3],
        arrn: ['a', null],
        arr2: [[1], [], [2, 3]],
        arrd: [ms('2020-02-29T12:00:00Z')],
        tup: [7, 'seven'],
        ntup: { b: 'bee', a: 8 },
        flag: true,
        js: { nested: { a: [1, 'two', null] }, t: true },
        'n.k': ['k1', 'k2'],
        'n.v': [1, 2],
      },
      {
        id: 2,
        s: tricky,
        fs: 'éé',
        u8: 255,
        u16: 65535,
        u32: 4294967295,
        u64: '18446744073709551615',
        i8: -128,
        i16: -32768,
        i32: -2147483648,
        i64: '-9223372036854775808',
        f32: 3.4e38,
        f64: -1.7976931348623157e308,
        d: '99999999999999.9999',
        d32: -9999999.99,
        d128: -1234567890123.5,
        uuid: '0123456789abcdef0123456789abcdef',
        date: ms('2105-12-31T00:00:00Z'),
        dt: 4294967295000,
        dtz: 0,
        e8: 'b c',
        e16: 'x',
        ns: '',
        ni: -2147483648,
        dtn: null,
        lc: '',
        lcn: null,
        arr: [],
        arrn: [null],
        arr2: [],
        arrd: null,
        tup: [0, ''],
        ntup: [-1, ''],
        flag: false,
        js: 'just a string',
        'n.k': [],
        'n.v': [],
      },
    ];
    const serialize = makeRowSerializer(plan);
    await insert(ch, table, rows.map(serialize).join(''));

    const got = await select<Record<string, unknown>>(
      ch,
      `SELECT id, s, fs, u8, u16, u32, toString(u64) AS u64, i8, i16, i32, toString(i64) AS i64,
        f32, f64, toString(d) AS d, toString(d32) AS d32, toString(d128) AS d128,
        toString(uuid) AS uuid, toString(date) AS date, toUnixTimestamp(dt) AS dt,
        toUnixTimestamp(dtz) AS dtz_s, toString(dtz) AS dtz_text, e8, e16, ns, ni, toUnixTimestamp(dtn) AS dtn,
        toString(lc) AS lc, lcn, arr, arrn, arr2, arrayMap(x -> toString(x), arrd) AS arrd,
        tup.1 AS tup1, tup.2 AS tup2, ntup.1 AS ntup_a, ntup.2 AS ntup_b, flag, js, n.k, n.v
      FROM ${table} ORDER BY id`,
    );
    const n = (x: unknown): number => Number(x); // 18.16 quotes 64-bit integers in JSON output
    assert.equal(got.length, 2);
    const [r1, r2] = got as [Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual(
      {
        ...r1,
        u32: n(r1.u32),
        dt: n(r1.dt),
        dtz_s: n(r1.dtz_s),
        dtn: n(r1.dtn),
        f32: Math.fround(n(r1.f32)),
      },
      {
        id: 1,
        s: 'hello',
        fs: 'ab\u0000\u0000',
        u8: 1,
        u16: 2,
        u32: 3,
        u64: '4',
        i8: -1,
        i16: -2,
        i32: -3,
        i64: '-4',
        f32: 1.5,
        f64: 0.1,
        d: '12.3456',
        d32: '1.00', // 1.005 is 1.00499999... as a double
        d128: '0.1000000000',
        uuid: '01234567-89ab-cdef-0123-456789abcdef',
        date: '2024-01-02',
        dt: 1704164645,
        dtz_s: 1704164645,
        dtz_text: '2024-01-02 12:04:05',
        e8: "q'z",
        e16: 'y',
        ns: 'x',
        ni: 5,
        dtn: 946684800,
        lc: 'low',
        lcn: 'card',
        arr: [1, -2, 3],
        arrn: ['a', null],
        arr2: [[1], [], [2, 3]],
        arrd: ['2020-02-29'],
        tup1: 7,
        tup2: 'seven',
        ntup_a: 8,
        ntup_b: 'bee',
        flag: 1,
        js: '{"nested":{"a":[1,"two",null]},"t":true}',
        'n.k': ['k1', 'k2'],
        'n.v': [1, 2],
      },
    );
    assert.deepEqual(
      // 18.16 parses "3.4e+38" into a Float32 one ulp above the nearest one: compare loosely.
      {
        ...r2,
        u32: n(r2.u32),
        dt: n(r2.dt),
        dtz_s: n(r2.dtz_s),
        f32: Math.abs(n(r2.f32) / 3.4e38 - 1) < 1e-6,
        f64: n(r2.f64),
      },
      {
        id: 2,
        s: tricky,
        fs: 'éé',
        u8: 255,
        u16: 65535,
        u32: 4294967295,
        u64: '18446744073709551615',
        i8: -128,
        i16: -32768,
        i32: -2147483648,
        i64: '-9223372036854775808',
        f32: true,
        f64: -1.7976931348623157e308,
        d: '99999999999999.9999',
        d32: '-9999999.99',
        d128: '-1234567890123.5000000000',
        uuid: '01234567-89ab-cdef-0123-456789abcdef',
        date: '2105-12-31',
        dt: 4294967295,
        dtz_s: 0,
        dtz_text: server.major === 18 ? '0000-00-00 00:00:00' : '1970-01-01 09:00:00',
        e8: 'b c',
        e16: 'x',
        ns: '',
        ni: -2147483648,
        dtn: null,
        lc: '',
        lcn: null,
        arr: [],
        arrn: [null],
        arr2: [],
        arrd: [],
        tup1: 0,
        tup2: '',
        ntup_a: -1,
        ntup_b: '',
        flag: 0,
        js: '"just a string"',
        'n.k': [],
        'n.v': [],
      },
    );
  });

  it('catches what the server would store wrongly without a word', async () => {
    // Why the encoders check ranges: 18.16 wraps integers and zeroes late dates silently.
    const table = newTable();
    await ch.command({
      query: `CREATE TABLE ${table} (u8 UInt8, d Date, dt DateTime) ENGINE = Memory`,
    });
    await insert(ch, table, '{"u8":256,"d":"2149-06-06","dt":4294967296}\n');
    const [raw] = await select<{ u8: number; d: string; dt: number }>(
      ch,
      `SELECT u8, toString(d) AS d, toUnixTimestamp(dt) AS dt FROM ${table}`,
    );
    if (server.major === 18) assert.deepEqual(raw, { u8: 0, d: '0000-00-00', dt: 0 });
    else assert.notEqual(raw?.u8, 256);

    const { plan } = planMapping(
      await describeTable(ch, 'default', table),
      [f('u8', 'integer'), f('d', 'date'), f('dt', 'datetime')],
      undefined,
      server,
    );
    const serialize = makeRowSerializer(plan);
    const reason = (row: Record<string, unknown>): string => {
      try {
        serialize(row);
        return 'ok';
      } catch (err) {
        return err instanceof RecordError ? err.reason : String(err);
      }
    };
    const good = { u8: 1, d: 0, dt: 0 };
    assert.equal(reason(good), 'ok');
    assert.equal(reason({ ...good, u8: 256 }), 'out_of_range');
    assert.equal(
      reason({ ...good, d: ms('2149-06-06T00:00:00Z') }),
      server.legacyDateRange ? 'out_of_range' : 'ok',
    );
    assert.equal(reason({ ...good, dt: 4294967296000 }), 'out_of_range');
    assert.equal(reason({ ...good, u8: null }), 'null_in_non_nullable');
  });

  it('describes real tables and reports every mapping problem', async () => {
    const table = newTable();
    await ch.command({
      query: `CREATE TABLE ${table} (
        id UInt64, name String, age UInt32, total Float64 MATERIALIZED age * 2, label String ALIAS name,
        note String, required Int64, created DateTime DEFAULT now(), maybe Nullable(String)
      ) ENGINE = MergeTree ORDER BY id`,
    });
    const columns = await describeTable(ch, 'default', table);
    // 18.16 lists MATERIALIZED and ALIAS columns after the ordinary ones; newer servers keep the
    // declared order.
    const byName = (a: ColumnDesc, b: ColumnDesc): number => a.name.localeCompare(b.name);
    assert.deepEqual([...columns].sort(byName), [
      { name: 'age', type: 'UInt32', defaultKind: '' },
      { name: 'created', type: 'DateTime', defaultKind: 'DEFAULT' },
      { name: 'id', type: 'UInt64', defaultKind: '' },
      { name: 'label', type: 'String', defaultKind: 'ALIAS' },
      { name: 'maybe', type: 'Nullable(String)', defaultKind: '' },
      { name: 'name', type: 'String', defaultKind: '' },
      { name: 'note', type: 'String', defaultKind: '' },
      { name: 'required', type: 'Int64', defaultKind: '' },
      { name: 'total', type: 'Float64', defaultKind: 'MATERIALIZED' },
    ] satisfies ColumnDesc[]);
    const { problems } = planMapping(
      columns,
      [
        f('id', 'integer'),
        f('name', 'string', true),
        f('age', 'string'),
        f('total', 'number'),
        f('note', 'string'),
        f('extra', 'boolean'),
      ],
      undefined,
      server,
    );
    assert.deepEqual([...problems].sort(), [
      'column "required" Int64 has no default and no field goes into it: add a field "required", map one to it with sink.clickhouse.columns, or give the column a DEFAULT',
      'field "age" (string) cannot go into column "age" UInt32: add a `convert` transform to integer',
      'field "extra" (boolean) has no column in the table: add a column "extra", map it with sink.clickhouse.columns, or remove it with a `drop` transform',
      'field "name" (string) is nullable but column "name" String is not: change the column to Nullable(String), or make the field non-nullable with a default',
      'field "total" (number) targets column "total" Float64, which is MATERIALIZED (computed by ClickHouse) and cannot be inserted: rename the field or remove it with a `drop` transform',
    ]);
    const engine = await tableEngine(ch, 'default', table);
    assert.equal(engine?.engine, 'MergeTree');
    assert.match(engine?.engineFull ?? '', /^MergeTree ORDER BY id/);
    assert.equal(await tableEngine(ch, 'default', randomName('missing')), undefined);
  });

  it('creates tables for declared fields, including ReplicatedMergeTree with explicit arguments', async () => {
    const fields = [
      f('id', 'integer'),
      f('ts', 'datetime'),
      f('name', 'string', true),
      f('ok', 'boolean'),
      f('tags', arrayOf('string'), true),
      f('day', 'date'),
      f('u', 'uuid'),
      f('payload', 'json'),
      f('score', 'number', true),
    ];
    for (const engine of ['MergeTree', 'replicated']) {
      const table = newTable();
      const sql = createTableSql({
        database: 'default',
        table,
        fields,
        engine:
          engine === 'MergeTree'
            ? 'MergeTree'
            : `ReplicatedMergeTree('/clickhouse/tables/{shard}/default/${table}', '{replica}')`,
        orderBy: ['id', 'ts'],
        partitionBy: 'toYYYYMM(ts)',
        server,
      });
      await ch.command({ query: sql });
      await ch.command({ query: sql }); // IF NOT EXISTS
      assert.equal(
        (await tableEngine(ch, 'default', table))?.engine,
        engine === 'MergeTree' ? 'MergeTree' : 'ReplicatedMergeTree',
      );
      const { plan, problems } = planMapping(
        await describeTable(ch, 'default', table),
        fields,
        undefined,
        server,
      );
      assert.deepEqual(problems, []);
      const row = {
        id: 1,
        ts: ms('2024-05-06T07:08:09.123Z'),
        name: null,
        ok: true,
        tags: null,
        day: ms('2024-05-06T00:00:00Z'),
        u: '01234567-89ab-cdef-0123-456789abcdef',
        payload: { a: 1 },
        score: 0.5,
      };
      await insert(ch, table, makeRowSerializer(plan)(row));
      const [back] = await select<Record<string, unknown>>(
        ch,
        `SELECT toString(id) AS id, toUnixTimestamp(ts) AS ts, name, ok, tags, toString(day) AS day, toString(u) AS u, payload, score FROM ${table}`,
      );
      assert.deepEqual(
        { ...back, ts: Number(back?.ts), ok: Number(back?.ok) },
        {
          id: '1',
          ts: 1714979289,
          name: null,
          ok: 1,
          tags: [],
          day: '2024-05-06',
          u: '01234567-89ab-cdef-0123-456789abcdef',
          payload: '{"a":1}',
          score: 0.5,
        },
      );
    }
  });
});

describe('ClickHouse errors from the real server', () => {
  const ch = client();
  after(() => ch.close());

  const failure = async (p: Promise<unknown>): Promise<unknown> => {
    try {
      await p;
    } catch (err) {
      return err;
    }
    throw new Error('expected the call to fail');
  };

  it('a wrong password is fatal, hints at the credentials and never shows the password', async () => {
    const password = 'not-the-weir-secret';
    const bad = client({ username: 'weir', password });
    try {
      const err = await failure(bad.query({ query: 'SELECT 1' }));
      registerSecrets([password]);
      const c = classifyClickHouseError(err);
      assert.equal(c.kind, 'fatal');
      assert.ok(c.code === 193 || c.code === 516, `code ${c.code}`);
      assert.match(c.message, /password|Authentication failed/i);
      assert.ok(!c.message.includes(password));
      assert.match(
        errorHint(c.code) ?? '',
        /sink\.clickhouse\.username and sink\.clickhouse\.password/,
      );
    } finally {
      await bad.close();
    }
  });

  it('the right password works for the weir user', async () => {
    const good = client({ username: 'weir', password: 'weir-secret' });
    try {
      assert.deepEqual(await select(good, 'SELECT 1 AS one'), [{ one: 1 }]);
    } finally {
      await good.close();
    }
  });

  it('an unknown table or database is fatal with a hint', async () => {
    const table = randomName('missing');
    const c = classifyClickHouseError(await failure(describeTable(ch, 'default', table)));
    assert.deepEqual([c.kind, c.code], ['fatal', 60]);
    assert.match(c.message, new RegExp(table));
    assert.match(errorHint(c.code) ?? '', /create_table/);
    const db = classifyClickHouseError(await failure(describeTable(ch, randomName('nodb'), 't')));
    assert.deepEqual([db.kind, db.code], ['fatal', 81]);
    const syntax = classifyClickHouseError(await failure(ch.query({ query: 'SELEC 1' })));
    assert.deepEqual([syntax.kind, syntax.code], ['fatal', 62]);
  });

  it('a malformed row is a record error', async () => {
    const table = randomName('weir_types');
    await ch.command({
      query: `CREATE TABLE ${table} (u8 UInt8, e Enum8('a' = 1), fs FixedString(2), u UUID) ENGINE = Memory`,
    });
    try {
      for (const body of [
        '{"u8":"x"}\n',
        '{"u8":1.5}\n',
        '{"e":"zz"}\n',
        '{"fs":"abc"}\n',
        '{"u":"nope"}\n',
        '{"u8":1',
      ]) {
        const c = classifyClickHouseError(await failure(insert(ch, table, body)));
        assert.equal(c.kind, 'record', `${body.trim()}: ${c.code} ${c.message}`);
        assert.ok(c.code !== undefined);
      }
    } finally {
      await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
    }
  });

  it('a refused connection and a request timeout are retryable', async () => {
    const refused = client({ url: 'http://127.0.0.1:1' });
    try {
      const c = classifyClickHouseError(await failure(refused.query({ query: 'SELECT 1' })));
      assert.equal(c.kind, 'retryable');
      assert.equal(c.code, undefined);
      assert.match(c.message, /ECONNREFUSED/);
    } finally {
      await refused.close();
    }
    const slow = client({ request_timeout: 300 });
    try {
      const c = classifyClickHouseError(await failure(slow.query({ query: 'SELECT sleep(2)' })));
      assert.equal(c.kind, 'retryable');
    } finally {
      await slow.close();
    }
  });
});
