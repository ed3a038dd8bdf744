// Dimension rows from PostgreSQL (node-postgres). A table is read with
//   SELECT <key>, <columns> FROM <table> WHERE <key> = ANY($1::<key type>[])
// and a query is run with the keys as $1 (an array). Columns and their types come from
// information_schema (a table) or from the query's result description (a query). Dates and
// times are read as text (ISO 8601) and 64-bit integers and numerics as text: nothing is lost
// to a JS Date's time zone or a double's precision before the field's converter sees it.
import pg from 'pg';
import { ConfigError, ConnectionError } from '../core/errors.ts';
import { redactUrl, splitCredentials } from '../core/redact.ts';
import { loadTlsFiles } from '../tls/tls.ts';
import { postgresFamily } from './types.ts';
import type { DimRow, DimensionSource, KeyValue, SourceColumn } from './source.ts';

export interface PostgresLookupConfig {
  url: string;
  tls?: { ca_file?: string; cert_file?: string; key_file?: string; reject_unauthorized: boolean };
}

export interface PostgresLookupOptions {
  table?: string;
  query?: string;
  keyColumn: string;
  /** The columns the lookup reads (the key column first). */
  columns: readonly string[];
  timeoutMs: number;
  maxConnections: number;
  /** Where the options are, for messages: e.g. `transforms[2].lookup`. */
  section: string;
}

// OIDs of the types read as text: date, timestamp, timestamptz, int8, numeric.
const AS_TEXT = new Set([1082, 1114, 1184, 20, 1700]);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    AS_TEXT.has(oid) && format !== 'binary'
      ? (v: string) => timestampText(oid, v)
      : (pg.types.getTypeParser(
          oid,
          format ?? 'text',
        ) as unknown)) as typeof pg.types.getTypeParser,
};

/** A PostgreSQL timestamp as ISO 8601: `2024-05-01 10:00:00` -> `2024-05-01T10:00:00Z`. */
function timestampText(oid: number, v: string): string {
  if (oid === 1114) return `${v.replace(' ', 'T')}Z`;
  if (oid === 1184) return v.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');
  return v;
}

/** SQLSTATE codes of credentials refused (28P01 password, 28000 authorization). */
const AUTH_CODES = new Set(['28P01', '28000']);

export const postgresFamilyOf = postgresFamily;

export class PostgresSource implements DimensionSource {
  readonly kind = 'PostgreSQL';
  readonly where: string;
  private readonly pool: pg.Pool;
  private keyType = 'text';
  private closed = false;

  constructor(
    cfg: PostgresLookupConfig,
    private readonly o: PostgresLookupOptions,
  ) {
    this.where = `PostgreSQL ${o.table ? `table ${o.table}` : 'query'} at ${redactUrl(cfg.url)}`;
    const { url, username, password } = splitCredentials(cfg.url);
    const parsed = new URL(url);
    const tls = cfg.tls;
    this.pool = new pg.Pool({
      host: parsed.hostname.replace(/^\[|\]$/g, ''),
      port: parsed.port === '' ? 5432 : Number(parsed.port),
      database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined,
      user: username,
      password,
      ...(tls && {
        ssl: {
          ...loadTlsFiles(tls, `${o.section}.from.postgres.tls`),
          rejectUnauthorized: tls.reject_unauthorized,
        },
      }),
      ...(!tls &&
        parsed.searchParams.get('sslmode') === 'require' && { ssl: { rejectUnauthorized: false } }),
      max: o.maxConnections,
      connectionTimeoutMillis: o.timeoutMs,
      query_timeout: o.timeoutMs,
      statement_timeout: o.timeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: 'weir-lookup',
      types,
    });
    // An idle connection the server drops must not crash the process: the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  async connect(): Promise<SourceColumn[]> {
    try {
      return this.o.table !== undefined
        ? await this.tableColumns(this.o.table)
        : await this.queryColumns();
    } catch (err) {
      throw this.explain(err);
    }
  }

  private async tableColumns(table: string): Promise<SourceColumn[]> {
    const [schema, name] = table.includes('.') ? table.split('.') : [undefined, table];
    const res = await this.pool.query<{ column_name: string; udt_name: string }>(
      `SELECT column_name, udt_name FROM information_schema.columns
        WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2
        ORDER BY ordinal_position`,
      [schema ?? null, name],
    );
    if (res.rows.length === 0)
      throw new ConfigError(
        `${this.where}: the table ${table} does not exist (or this user cannot see it)`,
        {
          hint: `create it, grant SELECT on it, or fix ${this.o.section}.table`,
        },
      );
    const columns = res.rows.map((r) => ({ name: r.column_name, type: r.udt_name }));
    this.keyType = columns.find((c) => c.name === this.o.keyColumn)?.type ?? 'text';
    return columns;
  }

  private async queryColumns(): Promise<SourceColumn[]> {
    const query = this.o.query!;
    const usesKeys = query.includes('$1');
    const res = await this.pool.query(
      `SELECT * FROM (${query}) AS weir_lookup LIMIT 0`,
      usesKeys ? [[]] : [],
    );
    const oids = [...new Set(res.fields.map((f) => f.dataTypeID))];
    const names = await this.pool.query<{ oid: number; typname: string }>(
      'SELECT oid::int AS oid, typname FROM pg_type WHERE oid = ANY($1::oid[])',
      [oids],
    );
    const byOid = new Map(names.rows.map((r) => [r.oid, r.typname]));
    const columns = res.fields.map((f) => ({
      name: f.name,
      type: byOid.get(f.dataTypeID) ?? `oid ${f.dataTypeID}`,
    }));
    this.keyType = columns.find((c) => c.name === this.o.keyColumn)?.type ?? 'text';
    return columns;
  }

  async fetch(keys: readonly KeyValue[]): Promise<DimRow[]> {
    const usable = keys.filter((k) => fitsKeyType(this.keyType, k));
    if (usable.length === 0) return [];
    try {
      if (this.o.query !== undefined)
        return (await this.pool.query<DimRow>(this.o.query, [usable])).rows;
      const { table, keyColumn, columns } = this.o;
      const cols = [...new Set([keyColumn, ...columns])]
        .map((c) => pg.escapeIdentifier(c))
        .join(', ');
      const sql = `SELECT ${cols} FROM ${quoteTable(table!)} WHERE ${pg.escapeIdentifier(keyColumn)} = ANY($1::${pg.escapeIdentifier(this.keyType)}[])`;
      return (await this.pool.query<DimRow>(sql, [usable])).rows;
    } catch (err) {
      throw this.explain(err);
    }
  }

  async fetchAll(): Promise<DimRow[]> {
    try {
      if (this.o.query !== undefined) return (await this.pool.query<DimRow>(this.o.query)).rows;
      const { table, keyColumn, columns } = this.o;
      const cols = [...new Set([keyColumn, ...columns])]
        .map((c) => pg.escapeIdentifier(c))
        .join(', ');
      return (await this.pool.query<DimRow>(`SELECT ${cols} FROM ${quoteTable(table!)}`)).rows;
    } catch (err) {
      throw this.explain(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end().catch(() => undefined);
  }

  /** An error as Weir reports it: unreachable is retriable, refused credentials are not. */
  private explain(err: unknown): Error {
    if (err instanceof ConfigError || err instanceof ConnectionError) return err;
    const e = err as { code?: string; message?: string };
    const message = e.message ?? String(err);
    if (e.code !== undefined && AUTH_CODES.has(e.code))
      return Object.assign(
        new ConnectionError(`${this.where} refused the credentials: ${message}`, {
          cause: err,
          peer: 'PostgreSQL',
          hint: `check the user and password in ${this.o.section}.from.postgres.url`,
        }),
        { lookupClass: 'auth' as const },
      );
    if (e.code === '3D000')
      return new ConnectionError(`${this.where}: ${message}`, {
        cause: err,
        peer: 'PostgreSQL',
        hint: `fix the database name in ${this.o.section}.from.postgres.url`,
      });
    if (e.code !== undefined && /^(42|22)/.test(e.code))
      return new ConfigError(`${this.where}: ${message}`, {
        cause: err,
        hint: `fix ${this.o.section}.${this.o.query !== undefined ? 'query' : 'table'}`,
      });
    // No SQLSTATE, or a connection / shutdown class (08, 57, 53): the server is away or overloaded.
    return new ConnectionError(`cannot reach ${this.where}: ${message || 'connection failed'}`, {
      cause: err,
      peer: 'PostgreSQL',
      retriable: true,
      hint: 'check that PostgreSQL runs and the host and port in the URL are right; Weir retries',
    });
  }
}

function quoteTable(table: string): string {
  return table
    .split('.')
    .map((p) => pg.escapeIdentifier(p))
    .join('.');
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Whether a key can be cast to the key column's type: one that cannot has no row (a miss),
 * rather than failing the whole query (and pausing the pipeline) over one record.
 */
export function fitsKeyType(keyType: string, key: KeyValue): boolean {
  const text = String(key);
  switch (postgresFamily(keyType)) {
    case 'integer':
      return INTEGER.test(text) && Math.abs(Number(text)) < 2 ** 63;
    case 'float':
    case 'decimal':
      return NUMBER.test(text);
    case 'uuid':
      return UUID.test(text);
    case 'boolean':
      return text === 'true' || text === 'false';
    case 'date':
    case 'datetime':
      return !Number.isNaN(Date.parse(text));
    default:
      return true;
  }
}
