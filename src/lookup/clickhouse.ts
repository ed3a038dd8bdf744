// Dimension rows from ClickHouse (HTTP client). 18.16 has no query parameters, so keys are sent
// as escaped literals: a table is read with
//   SELECT <key>, <columns> FROM <db>.<table> WHERE <key> IN (<keys>)
// and a query has its {keys} replaced by the parenthesized list. Columns come from system.columns
// (a table) or from the result's metadata of the query run with LIMIT 0 (a query).
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { rootCertificates } from 'node:tls';
import { ConfigError, ConnectionError } from '../core/errors.ts';
import { redactUrl, splitCredentials } from '../core/redact.ts';
import { classifyClickHouseError } from '../sink/clickhouse/errors.ts';
import { quoteIdent, quoteString } from '../sink/clickhouse/sql.ts';
import { loadTlsFiles } from '../tls/tls.ts';
import type { DimRow, DimensionSource, KeyValue, SourceColumn } from './source.ts';
import { clickHouseFamily } from './types.ts';

export interface ClickHouseLookupConfig {
  url: string;
  username: string;
  password: string;
  database: string;
  tls?: { ca_file?: string; cert_file?: string; key_file?: string };
}

export interface ClickHouseLookupOptions {
  table?: string;
  query?: string;
  keyColumn: string;
  columns: readonly string[];
  timeoutMs: number;
  maxConnections: number;
  section: string;
}

const AUTH_CODES = new Set([192, 193, 194, 516]);

export class ClickHouseSource implements DimensionSource {
  readonly kind = 'ClickHouse';
  readonly where: string;
  private readonly client: ClickHouseClient;
  private keyType = 'String';

  constructor(
    private readonly cfg: ClickHouseLookupConfig,
    private readonly o: ClickHouseLookupOptions,
  ) {
    this.where = `ClickHouse ${o.table ? `table ${this.tableName}` : 'query'} at ${redactUrl(cfg.url)}`;
    const fromUrl = splitCredentials(cfg.url);
    let tls = {};
    if (cfg.tls) {
      const m = loadTlsFiles(cfg.tls, `${o.section}.from.clickhouse.tls`);
      const ca_cert = m.ca ?? Buffer.from(rootCertificates.join('\n'));
      tls = { tls: m.cert && m.key ? { ca_cert, cert: m.cert, key: m.key } : { ca_cert } };
    }
    this.client = createClient({
      url: fromUrl.url,
      ...tls,
      username: fromUrl.username ?? cfg.username,
      password: fromUrl.password ?? cfg.password,
      database: cfg.database,
      request_timeout: o.timeoutMs,
      max_open_connections: o.maxConnections,
      compression: { request: false, response: false },
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  private get tableName(): string {
    const t = this.o.table!;
    return t.includes('.') ? t : `${this.cfg.database}.${t}`;
  }

  async connect(): Promise<SourceColumn[]> {
    try {
      if (this.o.table !== undefined) {
        const [db, table] = this.tableName.split('.') as [string, string];
        const rows = await this.rows<{ name: string; type: string }>(
          `SELECT name, type FROM system.columns WHERE database = ${quoteString(db)} AND table = ${quoteString(table)}`,
        );
        if (rows.length === 0)
          throw new ConfigError(`${this.where}: the table ${this.tableName} does not exist`, {
            hint: `create it, or fix ${this.o.section}.table`,
          });
        this.keyType = rows.find((r) => r.name === this.o.keyColumn)?.type ?? 'String';
        return rows;
      }
      // Typed by a probe of the key column's kind: an empty list is not valid SQL in 18.16.
      const probe = this.o.query!.replaceAll('{keys}', '(NULL)');
      const rs = await this.client.query({
        query: `SELECT * FROM (${probe}) LIMIT 0`,
        format: 'JSON',
      });
      const body = await rs.json<Record<string, unknown>>();
      const meta = (body as unknown as { meta?: { name: string; type: string }[] }).meta ?? [];
      this.keyType = meta.find((r) => r.name === this.o.keyColumn)?.type ?? 'String';
      return meta;
    } catch (err) {
      throw this.explain(err);
    }
  }

  async fetch(keys: readonly KeyValue[]): Promise<DimRow[]> {
    const list = this.literals(keys);
    if (list === undefined) return [];
    try {
      if (this.o.query !== undefined)
        return await this.rows(this.o.query.replaceAll('{keys}', list));
      return await this.rows(`${this.select()} WHERE ${quoteIdent(this.o.keyColumn)} IN ${list}`);
    } catch (err) {
      throw this.explain(err);
    }
  }

  async fetchAll(): Promise<DimRow[]> {
    try {
      return await this.rows(this.o.query ?? this.select());
    } catch (err) {
      throw this.explain(err);
    }
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }

  private select(): string {
    const [db, table] = this.tableName.split('.') as [string, string];
    const cols = [...new Set([this.o.keyColumn, ...this.o.columns])].map(quoteIdent).join(', ');
    return `SELECT ${cols} FROM ${quoteIdent(db)}.${quoteIdent(table)}`;
  }

  /** The keys as a parenthesized list of literals of the key column's kind; undefined if none fits. */
  private literals(keys: readonly KeyValue[]): string | undefined {
    const family = clickHouseFamily(this.keyType);
    const numeric = family === 'integer' || family === 'float' || family === 'decimal';
    const out: string[] = [];
    for (const k of keys) {
      const text = String(k);
      if (numeric) {
        if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) out.push(text);
      } else out.push(quoteString(text));
    }
    return out.length === 0 ? undefined : `(${out.join(', ')})`;
  }

  private async rows<T = DimRow>(query: string): Promise<T[]> {
    const rs = await this.client.query({ query, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  private explain(err: unknown): Error {
    if (err instanceof ConfigError || err instanceof ConnectionError) return err;
    const c = classifyClickHouseError(err);
    if (c.code !== undefined && AUTH_CODES.has(c.code))
      return Object.assign(
        new ConnectionError(`${this.where} refused the credentials: ${c.message}`, {
          cause: err,
          peer: 'ClickHouse',
          hint: `check ${this.o.section}.from.clickhouse.username and password`,
        }),
        { lookupClass: 'auth' as const },
      );
    if (c.kind === 'retryable' && !c.unknown)
      return new ConnectionError(`cannot reach ${this.where}: ${c.message}`, {
        cause: err,
        peer: 'ClickHouse',
        retriable: true,
        hint: 'check that ClickHouse runs and the URL is right; Weir retries',
      });
    return new ConfigError(`${this.where}: ${c.message}`, {
      cause: err,
      hint: `fix ${this.o.section}.${this.o.query !== undefined ? 'query' : 'table'}`,
    });
  }
}
