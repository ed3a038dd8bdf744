// CREATE TABLE for sink.clickhouse.create_table: one column per declared field, typed for the
// server at hand (older servers lack Bool, DateTime64 and Map).
import { ConfigError } from '../../core/errors.ts';
import type { FieldInfo, FieldType } from '../../core/fields.ts';
import { typeToString } from '../../core/fields.ts';
import type { ColumnDesc } from './mapping.ts';
import type { ServerInfo } from './server.ts';
import { qualifiedName, quoteIdent } from './sql.ts';

export type DdlFeatures = Pick<
  ServerInfo,
  'supportsBool' | 'supportsDateTime64' | 'supportsMap' | 'version'
>;

export interface CreateTableOptions {
  database: string;
  table: string;
  fields: readonly FieldInfo[];
  /** Passed through as written, e.g. `MergeTree` or `ReplicatedMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}')`. */
  engine: string;
  /** Field names (quoted as identifiers) or expressions (passed through). */
  orderBy: readonly string[];
  partitionBy?: string;
  server: DdlFeatures;
}

function baseType(t: FieldType, field: string, server: DdlFeatures): string {
  switch (t.kind) {
    case 'string':
    case 'json':
      return 'String';
    case 'integer':
      return 'Int64';
    case 'number':
      return 'Float64';
    case 'boolean':
      return server.supportsBool ? 'Bool' : 'UInt8';
    case 'datetime':
      return server.supportsDateTime64 ? 'DateTime64(3)' : 'DateTime';
    case 'date':
      return 'Date';
    case 'uuid':
      return 'UUID';
    case 'array':
      return `Array(${baseType(t.items, field, server)})`;
    case 'map':
      if (!server.supportsMap) {
        throw new ConfigError(
          `field ${JSON.stringify(field)} is a ${typeToString(t)}, but ClickHouse ${server.version} has no Map type`,
          {
            hint: 'create the table yourself (e.g. a String column holding JSON, with a json field) and remove create_table',
          },
        );
      }
      return `Map(String, ${baseType(t.values, field, server)})`;
    case 'any':
      throw new ConfigError(
        `field ${JSON.stringify(field)} has no declared type, so Weir cannot choose its column type`,
        {
          hint: 'give the computed field a `type`, or create the table yourself',
        },
      );
  }
}

/** The ClickHouse column type Weir creates for a field. Arrays and maps cannot be Nullable: null is written empty. */
export function columnTypeFor(field: FieldInfo, server: DdlFeatures): string {
  const t = baseType(field.type, field.name, server);
  const container = field.type.kind === 'array' || field.type.kind === 'map';
  return field.nullable && !container ? `Nullable(${t})` : t;
}

/** The columns {@link createTableSql} makes, as DESCRIBE TABLE would show them. */
export function plannedColumns(fields: readonly FieldInfo[], server: DdlFeatures): ColumnDesc[] {
  return fields.map((f) => ({ name: f.name, type: columnTypeFor(f, server), defaultKind: '' }));
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function createTableSql(opts: CreateTableOptions): string {
  const byName = new Map(opts.fields.map((f) => [f.name, f]));
  const columns = opts.fields.map(
    (f) => `    ${quoteIdent(f.name)} ${columnTypeFor(f, opts.server)}`,
  );
  // A field name is quoted; anything else (toDate(ts), cityHash64(id)) is an expression.
  const key = (e: string): string =>
    byName.has(e) ? quoteIdent(e) : identifier.test(e) ? quoteIdent(e) : e;
  const lines = [
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(opts.database, opts.table)}`,
    '(',
    columns.join(',\n'),
    ')',
    `ENGINE = ${opts.engine}`,
  ];
  if (/MergeTree/.test(opts.engine)) {
    for (const name of opts.orderBy) {
      if (byName.get(name)?.nullable) {
        throw new ConfigError(
          `create_table.order_by names field ${JSON.stringify(name)}, which is nullable; ClickHouse cannot sort by a Nullable column`,
          {
            hint: 'make the field non-nullable (with a default) or remove it from order_by',
          },
        );
      }
    }
    if (opts.partitionBy) lines.push(`PARTITION BY ${key(opts.partitionBy)}`);
    const keys = opts.orderBy.map(key);
    lines.push(
      `ORDER BY ${keys.length === 0 ? 'tuple()' : keys.length === 1 ? keys[0] : `(${keys.join(', ')})`}`,
    );
  }
  return lines.join('\n');
}
