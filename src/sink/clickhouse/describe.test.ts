import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTable, serverInfo, tableEngine, type QueryClient } from './describe.ts';

/** A client answering each query with canned rows, recording the SQL. */
function fakeClient(answer: (sql: string) => unknown[]): {
  client: QueryClient;
  queries: string[];
} {
  const queries: string[] = [];
  const client = {
    query: ({ query }: { query: string }) => {
      queries.push(query);
      return Promise.resolve({ json: () => Promise.resolve(answer(query)) });
    },
  } as unknown as QueryClient;
  return { client, queries };
}

test('describeTable reads the 18.16 column layout', async () => {
  const { client, queries } = fakeClient(() => [
    { name: 'a', type: 'UInt8', default_type: '', default_expression: '', comment_expression: '' },
    {
      name: 'c',
      type: 'String',
      default_type: 'MATERIALIZED',
      default_expression: 'upper(b)',
      comment_expression: '',
    },
  ]);
  assert.deepEqual(await describeTable(client, 'db', 'we`ird'), [
    { name: 'a', type: 'UInt8', defaultKind: '' },
    { name: 'c', type: 'String', defaultKind: 'MATERIALIZED' },
  ]);
  assert.deepEqual(queries, ['DESCRIBE TABLE `db`.`we\\`ird`']);
});

test('describeTable reads the current column layout', async () => {
  const { client } = fakeClient(() => [
    {
      name: 'e',
      type: 'String',
      default_type: 'EPHEMERAL',
      default_expression: '',
      comment: '',
      codec_expression: '',
      ttl_expression: '',
    },
    {
      name: 'n',
      type: 'Nullable(Int64)',
      default_type: '',
      default_expression: '',
      comment: 'x',
      codec_expression: 'ZSTD(1)',
      ttl_expression: '',
    },
  ]);
  assert.deepEqual(await describeTable(client, 'db', 't'), [
    { name: 'e', type: 'String', defaultKind: 'EPHEMERAL' },
    { name: 'n', type: 'Nullable(Int64)', defaultKind: '' },
  ]);
});

test('serverInfo combines version, types and settings', async () => {
  const { client, queries } = fakeClient((sql) => {
    if (sql.includes('version()')) return [{ version: '18.16.1', timezone: 'Etc/UTC' }];
    if (sql.includes('data_type_families')) return [{ name: 'LowCardinality' }];
    return [];
  });
  const info = await serverInfo(client);
  assert.equal(info.version, '18.16.1');
  assert.equal(info.supportsBool, false);
  assert.equal(info.supportsLowCardinality, true);
  assert.equal(info.namedTuplesAsObjects, false);
  assert.equal(queries.length, 3);
  assert.match(queries[2] ?? '', /system\.settings WHERE name IN \('insert_deduplication_token', /);
});

test('tableEngine escapes names and returns undefined for a missing table', async () => {
  const { client, queries } = fakeClient((sql) =>
    sql.includes("'t'") ? [{ engine: 'MergeTree', engine_full: 'MergeTree ORDER BY a' }] : [],
  );
  assert.deepEqual(await tableEngine(client, 'db', 't'), {
    engine: 'MergeTree',
    engineFull: 'MergeTree ORDER BY a',
  });
  assert.equal(await tableEngine(client, "o'brien", 'x'), undefined);
  assert.equal(
    queries[1],
    "SELECT engine, engine_full FROM system.tables WHERE database = 'o\\'brien' AND name = 'x'",
  );
});
