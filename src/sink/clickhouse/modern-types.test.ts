// The encodings of types the 18.16 test server lacks (Bool, Date32, DateTime64, Map, named
// tuples as objects, JSON, IPv4/IPv6, wide integers...), checked against the current ClickHouse
// engine running in-process through chdb. Runs with both date_time_input_format values, since
// servers differ in their default. Skipped where chdb is not installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type * as ChdbApi from 'chdb';
import type { FieldInfo, FieldType } from '../../core/fields.ts';
import { describeTable, serverInfo, type QueryClient } from './describe.ts';
import { makeRowSerializer, planMapping } from './mapping.ts';
import type { ServerInfo } from './server.ts';
import { chTypeToString, findUnsupported, parseChType } from './types.ts';

type ChdbModule = typeof ChdbApi;
const chdb: ChdbModule | undefined = await import('chdb').catch(() => undefined);

type Session = InstanceType<ChdbModule['Session']>;

/** describe.ts's client interface over a chdb session, so the real DESCRIBE output is parsed. */
const asClient = (session: Session): QueryClient =>
  ({
    query: ({ query }: { query: string }) => {
      const text = session.query(query, 'JSONEachRow');
      const rows = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as unknown);
      return Promise.resolve({ json: () => Promise.resolve(rows) });
    },
  }) as unknown as QueryClient;

const f = (name: string, type: FieldType | FieldType['kind'], nullable = false): FieldInfo => ({
  name,
  type: typeof type === 'string' ? ({ kind: type } as FieldType) : type,
  nullable,
});
const ms = (iso: string): number => Date.parse(iso);

const columnsSql = `
  id UInt32, b Bool, b8 UInt8, d32 Date32, d Date, dt DateTime('Asia/Tokyo'),
  dt64 DateTime64(3, 'Asia/Tokyo'), dt64n DateTime64(9), dt64s DateTime64(0),
  m Map(String, UInt32), mu Map(UInt64, String), ntup Tuple(a Int32, b Nullable(String)), tup Tuple(Int32, String),
  j JSON, ip4 IPv4, ip6 IPv6, i128 Int128, u256 UInt256, lcn LowCardinality(Nullable(String)),
  dec Decimal256(20), dec2 Decimal(10, 2), e Enum8('a' = 1, 'b' = 2), u UUID, f32 Float32, fnan Float64,
  fs FixedString(3), u64 UInt64, arr Array(Nullable(Int64))`;

const fields: FieldInfo[] = [
  f('id', 'integer'),
  f('b', 'boolean'),
  f('b8', 'boolean'),
  f('d32', 'date'),
  f('d', 'datetime'),
  f('dt', 'datetime'),
  f('dt64', 'datetime'),
  f('dt64n', 'datetime'),
  f('dt64s', 'datetime'),
  f('m', { kind: 'map', values: { kind: 'integer' } }),
  f('mu', 'any'),
  f('ntup', 'json'),
  f('tup', 'json'),
  f('j', 'json'),
  f('ip4', 'string'),
  f('ip6', 'string'),
  f('i128', 'any'),
  f('u256', 'any'),
  f('lcn', 'string', true),
  f('dec', 'any'),
  f('dec2', 'number'),
  f('e', 'string'),
  f('u', 'uuid'),
  f('f32', 'number'),
  f('fnan', 'number'),
  f('fs', 'string'),
  f('u64', 'integer'),
  f('arr', 'any'),
];

const rows = [
  {
    id: 1,
    b: true,
    b8: true,
    d32: ms('1900-01-01T00:00:00Z'),
    d: ms('2149-06-06T23:00:00Z'),
    dt: ms('2024-01-02T03:04:05.999Z'),
    dt64: ms('2024-01-02T03:04:05.123Z'),
    dt64n: ms('2024-01-02T03:04:05.123Z') + 0.25, // sub-millisecond part (exact in binary)
    dt64s: ms('2001-09-09T01:46:39Z'),
    m: { a: 1, 'b"q': 4294967295 },
    mu: { '18446744073709551615': 'max', '0': 'zero' },
    ntup: { b: 'bee', a: -5 },
    tup: [7, 'seven'],
    j: { a: { b: 1 }, s: 'x' },
    ip4: '10.1.2.3',
    ip6: '2001:db8::1',
    i128: String(-(2n ** 127n)),
    u256: String(2n ** 256n - 1n),
    lcn: 'low',
    dec: '123456789012345678901234567890.12345678901234567890',
    dec2: 12.345,
    e: 'b',
    u: '01234567-89AB-CDEF-0123-456789ABCDEF',
    f32: 1.5,
    fnan: NaN,
    fs: 'é',
    u64: 9007199254740991,
    arr: [1, null, -3],
  },
  {
    id: 2,
    b: false,
    b8: false,
    d32: ms('2299-12-31T00:00:00Z'),
    d: 0,
    dt: 0,
    dt64: ms('1969-12-31T23:59:58.500Z'), // before 1970: wall clock in the column's zone
    dt64n: ms('1970-01-02T00:00:00Z') + 0.000001,
    dt64s: ms('2290-01-02T03:04:05Z'), // past 2286: more than ten digits of seconds
    m: {},
    mu: {},
    ntup: [3, null],
    tup: [0, ''],
    j: {},
    ip4: '0.0.0.0',
    ip6: '1.2.3.4',
    i128: 0,
    u256: 0,
    lcn: null,
    dec: -0.5,
    dec2: -99999999.99,
    e: 1,
    u: '00000000-0000-0000-0000-000000000000',
    f32: -3.4e38,
    fnan: -Infinity,
    fs: 'abc',
    u64: 0,
    arr: [],
  },
];

const query = `SELECT id, b, b8, toString(d32) AS d32, toString(d) AS d, toUnixTimestamp(dt) AS dt_s, toString(dt) AS dt_text,
  toString(toUnixTimestamp64Milli(dt64)) AS dt64_ms, toString(dt64) AS dt64_text, toString(toUnixTimestamp64Nano(dt64n)) AS dt64n_ns,
  toString(dt64s) AS dt64s_text, toString(m) AS m, toString(mu) AS mu, ntup.a AS ntup_a, ntup.b AS ntup_b,
  tup.1 AS tup1, tup.2 AS tup2, toString(j) AS j, toString(ip4) AS ip4, toString(ip6) AS ip6, toString(i128) AS i128,
  toString(u256) AS u256, lcn, toString(dec) AS dec, toString(dec2) AS dec2, toString(e) AS e, toString(u) AS u,
  toString(f32) AS f32, toString(fnan) AS fnan, fs, toString(u64) AS u64, toString(arr) AS arr
  FROM t ORDER BY id`;

const expected = [
  {
    id: 1,
    b: true,
    b8: 1,
    d32: '1900-01-01',
    d: '2149-06-06',
    dt_s: 1704164645,
    dt_text: '2024-01-02 12:04:05',
    dt64_ms: '1704164645123',
    dt64_text: '2024-01-02 12:04:05.123',
    dt64n_ns: '1704164645123250000',
    dt64s_text: '2001-09-09 01:46:39',
    m: "{'a':1,'b\"q':4294967295}",
    mu: "{0:'zero',18446744073709551615:'max'}", // JS orders index-like keys first
    ntup_a: -5,
    ntup_b: 'bee',
    tup1: 7,
    tup2: 'seven',
    j: '{"a":{"b":1},"s":"x"}',
    ip4: '10.1.2.3',
    ip6: '2001:db8::1',
    i128: String(-(2n ** 127n)),
    u256: String(2n ** 256n - 1n),
    lcn: 'low',
    dec: '123456789012345678901234567890.1234567890123456789',
    dec2: '12.35',
    e: 'b',
    u: '01234567-89ab-cdef-0123-456789abcdef',
    f32: '1.5',
    fnan: 'nan',
    fs: 'é\u0000',
    u64: '9007199254740991',
    arr: '[1,NULL,-3]',
  },
  {
    id: 2,
    b: false,
    b8: 0,
    d32: '2299-12-31',
    d: '1970-01-01',
    dt_s: 0,
    dt_text: '1970-01-01 09:00:00',
    dt64_ms: '-1500',
    dt64_text: '1970-01-01 08:59:58.500',
    dt64n_ns: '86400000000001',
    dt64s_text: '2290-01-02 03:04:05',
    m: '{}',
    mu: '{}',
    ntup_a: 3,
    ntup_b: null,
    tup1: 0,
    tup2: '',
    j: '{}',
    ip4: '0.0.0.0',
    ip6: '::ffff:1.2.3.4',
    i128: '0',
    u256: '0',
    lcn: null,
    dec: '-0.5',
    dec2: '-99999999.99',
    e: 'a',
    u: '00000000-0000-0000-0000-000000000000',
    f32: '-3.4e38',
    fnan: '-inf',
    fs: 'abc',
    u64: '0',
    arr: '[]',
  },
];

describe(
  'modern ClickHouse types through chdb',
  { skip: chdb ? false : 'chdb is not installed' },
  () => {
    let session: Session;
    let server: ServerInfo;

    before(async () => {
      session = new (chdb as ChdbModule).Session();
      // The test's data must not depend on the zone of the machine running it.
      session.query("SET session_timezone = 'UTC'");
      server = await serverInfo(asClient(session));
    });
    after(() => session.close());

    it('detects a current server', () => {
      assert.ok(server.major >= 24, server.version);
      assert.equal(server.supportsBool, true);
      assert.equal(server.supportsDate32, true);
      assert.equal(server.supportsDateTime64, true);
      assert.equal(server.supportsMap, true);
      assert.equal(server.supportsInsertDeduplicationToken, true);
      assert.equal(server.supportsAsyncInsert, true);
      assert.equal(server.namedTuplesAsObjects, true);
      assert.equal(server.legacyDateRange, false);
    });

    it('follows the server when it reads named tuples from arrays', async () => {
      session.query('SET input_format_json_named_tuples_as_objects = 0');
      try {
        const arrays = await serverInfo(asClient(session));
        assert.equal(arrays.namedTuplesAsObjects, false);
        session.query('DROP TABLE IF EXISTS nt');
        session.query('CREATE TABLE nt (t Tuple(a Int32, b String)) ENGINE = Memory');
        const { plan } = planMapping(
          await describeTable(asClient(session), 'default', 'nt'),
          [f('t', 'json')],
          undefined,
          arrays,
        );
        const body = makeRowSerializer(plan)({ t: { b: 'x', a: 1 } });
        assert.equal(body, '{"t":[1,"x"]}\n');
        await session.insert({ table: 'nt', values: body, format: 'JSONEachRow' });
        assert.equal(session.query('SELECT t.a, t.b FROM nt', 'TSV'), '1\tx\n');
      } finally {
        session.query('SET input_format_json_named_tuples_as_objects = 1');
      }
    });

    for (const format of ['basic', 'best_effort']) {
      it(`round-trips every modern type (date_time_input_format=${format})`, async () => {
        session.query(`SET date_time_input_format = '${format}'`);
        session.query('DROP TABLE IF EXISTS t');
        session.query(`CREATE TABLE t (${columnsSql}) ENGINE = MergeTree ORDER BY id`);
        const client = asClient(session);
        const columns = await describeTable(client, 'default', 't');
        // DESCRIBE's spellings parse (current servers print named tuples over several lines) and
        // print back to the same type.
        for (const c of columns) {
          const t = parseChType(c.type);
          assert.equal(findUnsupported(t), undefined, c.type);
          assert.deepEqual(parseChType(chTypeToString(t)), t);
        }
        const { plan, problems } = planMapping(columns, fields, undefined, server);
        assert.deepEqual(problems, []);
        const body = rows.map(makeRowSerializer(plan)).join('');
        await session.insert({ table: 't', values: body, format: 'JSONEachRow' });
        const got = session
          .query(query, 'JSONEachRow')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as unknown);
        assert.deepEqual(got, expected);
      });
    }
  },
);
