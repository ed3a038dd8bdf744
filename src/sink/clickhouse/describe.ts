// What the sink asks ClickHouse before it starts: the table's columns, the server's abilities and
// the table's engine. Plain SELECT/DESCRIBE that 18.16 and current servers both answer.
import type { ClickHouseClient } from '@clickhouse/client';
import type { ColumnDesc } from './mapping.ts';
import { probedSettings, probedTypes, serverFeatures, type ServerInfo } from './server.ts';
import { qualifiedName, quoteString } from './sql.ts';

export type { ServerInfo };

export type QueryClient = Pick<ClickHouseClient, 'query'>;

async function rows<T>(client: QueryClient, query: string): Promise<T[]> {
  const result = await client.query({ query, format: 'JSONEachRow' });
  return result.json<T>();
}

interface DescribeRow {
  name: string;
  type: string;
  /** Every version names it default_type; the other columns differ (comment_expression, codec_expression, ttl_expression...). */
  default_type?: string;
  default_kind?: string;
}

/** The table's columns in order. Rejects (with the server's error) if the table does not exist. */
export async function describeTable(
  client: QueryClient,
  database: string,
  table: string,
): Promise<ColumnDesc[]> {
  const described = await rows<DescribeRow>(
    client,
    `DESCRIBE TABLE ${qualifiedName(database, table)}`,
  );
  return described.map((r) => ({
    name: r.name,
    type: r.type,
    defaultKind: (r.default_type ?? r.default_kind ?? '').toUpperCase(),
  }));
}

const inList = (names: readonly string[]): string => names.map(quoteString).join(', ');

/** The server's version, time zone and the features the sink depends on. */
export async function serverInfo(client: QueryClient): Promise<ServerInfo> {
  const [about] = await rows<{ version: string; timezone: string }>(
    client,
    'SELECT version() AS version, timezone() AS timezone',
  );
  const families = await rows<{ name: string }>(
    client,
    `SELECT name FROM system.data_type_families WHERE name IN (${inList(probedTypes)})`,
  );
  const settings = await rows<{ name: string; value: string }>(
    client,
    `SELECT name, value FROM system.settings WHERE name IN (${inList(probedSettings)})`,
  );
  return serverFeatures({
    version: about?.version ?? '',
    timezone: about?.timezone ?? 'UTC',
    typeFamilies: families.map((f) => f.name),
    settings: Object.fromEntries(settings.map((s) => [s.name, s.value])),
  });
}

export interface TableEngine {
  /** e.g. ReplicatedMergeTree */
  engine: string;
  /** The engine with its arguments and clauses, e.g. "ReplicatedMergeTree('/path', '{replica}') ORDER BY id ..." */
  engineFull: string;
}

/** The table's engine from system.tables, or undefined when there is no such table. */
export async function tableEngine(
  client: QueryClient,
  database: string,
  table: string,
): Promise<TableEngine | undefined> {
  const [row] = await rows<{ engine: string; engine_full: string }>(
    client,
    `SELECT engine, engine_full FROM system.tables WHERE database = ${quoteString(database)} AND name = ${quoteString(table)}`,
  );
  return row ? { engine: row.engine, engineFull: row.engine_full } : undefined;
}
