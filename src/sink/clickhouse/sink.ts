// The ClickHouse sink at run time: checks the table once at start, serializes rows to
// JSONEachRow, and inserts batches with retries (retryable errors) and bisection (a batch the
// server rejects because of a bad row: the bad rows go to the dead-letter topic, the rest lands).
// A bad environment is not bad data: when a rejected batch is explained by the table having changed
// (the mapping checked at start no longer holds), or an unclassified server error persists, the
// sink pauses - the insert waits, nothing is bisected or dead-lettered - says why once (log,
// `paused` for readiness, weir_pipeline_paused) and resumes by itself once the cause is gone.
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { trace } from '@opentelemetry/api';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { ConfigError, ConnectionError, RecordError, WeirError } from '../../core/errors.ts';
import type { FieldInfo } from '../../core/fields.ts';
import type { DeadLetter, Row, SourceRecord } from '../../core/record.ts';
import { redactUrl, splitCredentials } from '../../core/redact.ts';
import { retry } from '../../core/retry.ts';
import { LogLimiter } from '../../telemetry/log-limit.ts';
import { logLimited, type Logger } from '../../telemetry/logger.ts';
import type { Metrics } from '../../telemetry/metrics.ts';
import { createTableSql, plannedColumns } from './ddl.ts';
import { describeTable, serverInfo, tableEngine, type ServerInfo } from './describe.ts';
import {
  ClickHouseFailure,
  classifyClickHouseError,
  type ClassifiedError,
  certificateAuthHint,
  clickHouseFailure,
  errorHint,
} from './errors.ts';
import { makeRowSerializer, planMapping } from './mapping.ts';
import { explainTlsFailure, loadTlsFiles, type TlsFileOptions } from '../../tls/tls.ts';

export interface ClickHouseSinkConfig {
  url: string;
  tls?: TlsFileOptions;
  username: string;
  password: string;
  database: string;
  table: string;
  columns?: Record<string, string>;
  create_table?: { engine: string; order_by: string[]; partition_by?: string };
  batch: { max_rows: number; max_bytes: number; max_delay_ms: number };
  async_insert: boolean;
  request_timeout_ms: number;
  retry: { initial_ms: number; max_ms: number };
  settings: Record<string, string | number | boolean>;
}

export interface SinkDeps {
  pipeline: string;
  logger: Logger;
  metrics: Metrics;
}

export interface OpenOptions {
  /**
   * With create_table, create the table when it does not exist (default). When false (a check
   * that changes nothing) a missing table is checked as create_table would make it, and
   * `tableExists` is false.
   */
  create?: boolean;
}

/** A batch of serialized rows with the source record behind each line. */
export interface InsertBatch {
  lines: string[];
  sources: SourceRecord[];
  bytes: number;
}

/**
 * The URL and credentials to connect with. Credentials in the URL (`http://user:pass@host:8123`)
 * take the place of username/password (the config rejects a password in both), and are sent as
 * credentials only: the client is given the URL without them, so nothing it prints carries them.
 */
export function clickHouseCredentials(
  cfg: Pick<ClickHouseSinkConfig, 'url' | 'username' | 'password'>,
): { url: string; username: string; password: string } {
  const fromUrl = splitCredentials(cfg.url);
  return {
    url: fromUrl.url,
    username: fromUrl.username ?? cfg.username,
    password: fromUrl.password ?? cfg.password,
  };
}

export class SinkStoppedError extends WeirError {
  override name = 'SinkStoppedError';
}

/** Why inserts are held back: the table no longer fits the fields, or a server error we cannot name. */
const PAUSE_REASONS = ['table_mapping', 'clickhouse_error'] as const;
export type PauseReason = (typeof PAUSE_REASONS)[number];

export interface SinkPause {
  reason: PauseReason;
  /** One line naming the cause (the column, or the server's message). */
  message: string;
  hint: string;
}

/**
 * Retries of an error code errors.ts does not know before the pipeline is declared paused: with
 * the default backoff (250 ms doubling, capped at 10 s) five retries span about 4-8 s - past a
 * blip such as a restarting replica, well before the stall timeout (60 s). Retrying goes on at the
 * capped delay afterwards; the pause only makes the condition visible.
 */
export const UNKNOWN_ERROR_RETRIES = 5;

export class ClickHouseSink {
  readonly serialize: (row: Row) => string;
  private stopped = false;
  private readonly abort = new AbortController();
  /** Whether the last insert attempt failed with a retryable error (for readiness). */
  failing = false;
  private readonly logLimiter = new LogLimiter();
  private missing = false;
  private fields: FieldInfo[] = [];
  /** Set while inserts are held back (readiness, metrics); undefined while inserting normally. */
  paused: SinkPause | undefined;

  private constructor(
    private readonly cfg: ClickHouseSinkConfig,
    private readonly client: ClickHouseClient,
    readonly server: ServerInfo,
    serialize: (row: Row) => string,
    private readonly deps: SinkDeps,
  ) {
    this.serialize = serialize;
    // At 0 from the start, so a dashboard or alert sees the series before the first pause.
    for (const reason of PAUSE_REASONS)
      deps.metrics.pipelinePaused.set({ pipeline: deps.pipeline, reason }, 0);
  }

  get table(): string {
    return `${this.cfg.database}.${this.cfg.table}`;
  }

  /** False when opened without creating, and create_table is still to make the table. */
  get tableExists(): boolean {
    return !this.missing;
  }

  /** Connects, checks the server and the table mapping; every problem is reported at once. */
  static async open(
    cfg: ClickHouseSinkConfig,
    fields: FieldInfo[],
    deps: SinkDeps,
    opts: OpenOptions = {},
  ): Promise<ClickHouseSink> {
    const { url, username, password } = clickHouseCredentials(cfg);
    const client = createClient({
      url,
      ...clickHouseTls(cfg),
      username,
      password,
      database: cfg.database,
      request_timeout: cfg.request_timeout_ms,
      compression: { request: false, response: false },
      max_open_connections: 16,
      keep_alive: { enabled: true },
      // Errors are classified and logged once by Weir (without row data or credentials).
      log: { level: ClickHouseLogLevel.OFF },
    });
    const where = `ClickHouse at ${redactUrl(cfg.url)}`;
    let server: ServerInfo;
    try {
      server = await serverInfo(client);
    } catch (err) {
      await client.close();
      const tls = explainTlsFailure(err, {
        peer: 'ClickHouse',
        where: redactUrl(cfg.url),
        section: 'sink.clickhouse.tls',
        tls: cfg.tls,
      });
      if (tls) throw tls;
      const c = classifyClickHouseError(err);
      if (c.kind === 'retryable') throw cannotReach(where, c, err);
      throw new ConnectionError(
        `${where} refused the connection as user '${username}': ${c.message}`,
        {
          cause: err,
          hint:
            certificateAuthHint(c.message) ??
            (c.code !== undefined ? errorHint(c.code) : undefined) ??
            'check sink.clickhouse.username and password',
        },
      );
    }
    try {
      let missing = false;
      if (cfg.create_table) {
        const sql = createTableSql({
          database: cfg.database,
          table: cfg.table,
          fields,
          engine: cfg.create_table.engine,
          orderBy: cfg.create_table.order_by,
          partitionBy: cfg.create_table.partition_by,
          server,
        });
        missing = !(await tableEngine(client, cfg.database, cfg.table));
        if (missing && (opts.create ?? true)) {
          await client.command({ query: sql });
          deps.logger.info({ table: `${cfg.database}.${cfg.table}` }, 'created the table');
          missing = false;
        }
      }
      let columns;
      try {
        columns = missing
          ? plannedColumns(fields, server)
          : await describeTable(client, cfg.database, cfg.table);
      } catch (err) {
        const c = classifyClickHouseError(err);
        if (c.kind === 'retryable') throw cannotReach(where, c, err);
        throw new ConfigError(`table ${cfg.database}.${cfg.table} cannot be used: ${c.message}`, {
          cause: err,
          hint:
            (c.code !== undefined ? errorHint(c.code) : undefined) ??
            'create the table first, or set sink.clickhouse.create_table',
        });
      }
      const { plan, problems } = planMapping(columns, fields, cfg.columns, server);
      if (problems.length > 0)
        throw new ConfigError(
          `the fields do not fit table ${cfg.database}.${cfg.table}:\n  - ${problems.join('\n  - ')}`,
          { hint: 'change the transforms or the table so each field has a compatible column' },
        );
      const sink = new ClickHouseSink(cfg, client, server, makeRowSerializer(plan), deps);
      sink.missing = missing;
      sink.fields = fields;
      return sink;
    } catch (err) {
      await client.close();
      // The server went away between the checks (looking up or creating the table).
      if (err instanceof WeirError) throw err;
      const c = classifyClickHouseError(err);
      throw c.kind === 'retryable' ? cannotReach(where, c, err) : err;
    }
  }

  private settings(): Record<string, string | number | boolean> {
    const s: Record<string, string | number | boolean> = {};
    // Never fire and forget: async inserts, where the server has them, always wait for the flush.
    if (this.server.supportsAsyncInsert) {
      s.async_insert = this.cfg.async_insert ? 1 : 0;
      s.wait_for_async_insert = 1;
    }
    return { ...s, ...this.cfg.settings };
  }

  private async insertOnce(body: Buffer, token: string | undefined): Promise<void> {
    const settings = this.settings();
    // Where the server has it, the token makes a replayed batch a no-op; older Replicated tables
    // drop a repeated block by its content hash, which a deterministic replay reproduces.
    if (token !== undefined && this.server.supportsInsertDeduplicationToken)
      settings.insert_deduplication_token = token;
    const result = await this.client.exec({
      query: `INSERT INTO ${quoteId(this.cfg.database)}.${quoteId(this.cfg.table)} FORMAT JSONEachRow`,
      values: Readable.from([body]),
      clickhouse_settings: settings,
      abort_signal: this.abort.signal,
    });
    // Drain the (empty) response so the socket returns to the pool.
    for await (const _ of result.stream) void _;
  }

  /**
   * Inserts a batch, retrying retryable errors with backoff until they pass (or the sink stops).
   * Rows the server rejects are bisected out and returned as dead letters; the rest is inserted.
   * Fatal errors (auth, missing table) are thrown.
   */
  async insert(batch: InsertBatch, token?: string): Promise<DeadLetter[]> {
    if (batch.lines.length === 0) return [];
    return this.insertRange(batch, 0, batch.lines.length, token);
  }

  private async insertRange(
    batch: InsertBatch,
    from: number,
    to: number,
    token: string | undefined,
  ): Promise<DeadLetter[]> {
    const whole = from === 0 && to === batch.lines.length;
    // A bisected part gets its own token, the same on every replay (the bisection is too).
    const partToken = token === undefined || whole ? token : `${token}#${from}-${to}`;
    const lines = whole ? batch.lines : batch.lines.slice(from, to);
    // Encoded once: retries resend the same bytes, and the metrics read its length.
    const body = Buffer.from(lines.join(''));
    try {
      await retry((attempt) => this.attemptInsert(body, lines.length, partToken, attempt), {
        initialMs: this.cfg.retry.initial_ms,
        maxMs: this.cfg.retry.max_ms,
        signal: this.abort.signal,
        onRetry: (err, attempt, delayMs) => this.onRetry(err, attempt, delayMs),
      });
      return [];
    } catch (err) {
      if (!(err instanceof ClickHouseFailure)) throw err;
      // Retries of a retryable failure end only when the sink stops.
      if (err.retriable)
        throw new SinkStoppedError('the sink was stopped before the batch was inserted', {
          cause: err,
        });
      // Checked once per batch, before bisecting: a changed table rejects every part alike.
      if (whole && err.tableMayHaveChanged && (await this.holdWhileTableDrifted()))
        return this.insertRange(batch, from, to, token);
      if (err.kind !== 'record') throw err;
      if (to - from === 1) {
        const source = batch.sources[from]!;
        return [
          {
            source,
            stage: 'sink',
            reason: 'rejected_by_clickhouse',
            detail: `ClickHouse rejected the row${err.code !== undefined ? ` (code ${err.code})` : ''}: ${err.detail}`,
          },
        ];
      }
      const mid = from + Math.floor((to - from) / 2);
      const left = await this.insertRange(batch, from, mid, token);
      const right = await this.insertRange(batch, mid, to, token);
      return [...left, ...right];
    }
  }

  /** What keeps the table from fitting the fields now (empty when the mapping still holds). */
  private async mappingProblems(): Promise<string[]> {
    const columns = await describeTable(this.client, this.cfg.database, this.cfg.table);
    return planMapping(columns, this.fields, this.cfg.columns, this.server).problems;
  }

  /**
   * After a rejected batch: re-reads the table and, when it no longer fits, pauses until it does
   * again (re-checked with the retry policy). False when the mapping holds - the rows are bad.
   */
  private async holdWhileTableDrifted(): Promise<boolean> {
    let problems: string[];
    try {
      problems = await this.mappingProblems();
    } catch {
      // The table cannot be read (gone, unreachable): not a drift we can name; handled as before.
      return false;
    }
    if (problems.length === 0) return false;
    this.pause({
      reason: 'table_mapping',
      message: `table ${this.table} changed and no longer fits the fields: ${problems.join('; ')}`,
      hint: 'alter the table back (or change the transforms to match); Weir re-checks the table and resumes by itself',
    });
    try {
      await retry(
        async () => {
          const now = await this.mappingProblems().catch((err: unknown) => [String(err)]);
          if (now.length > 0)
            throw new WeirError(`table ${this.table} still does not fit: ${now.join('; ')}`, {
              retriable: true,
            });
        },
        {
          initialMs: this.cfg.retry.initial_ms,
          maxMs: this.cfg.retry.max_ms,
          signal: this.abort.signal,
        },
      );
    } catch (err) {
      throw new SinkStoppedError('the sink was stopped while paused for a table change', {
        cause: err,
      });
    }
    this.resume();
    return true;
  }

  private pause(p: SinkPause): void {
    if (this.paused?.reason === p.reason) return;
    const { pipeline, metrics, logger } = this.deps;
    if (this.paused) metrics.pipelinePaused.set({ pipeline, reason: this.paused.reason }, 0);
    this.paused = p;
    metrics.pipelinePaused.set({ pipeline, reason: p.reason }, 1);
    logger.error(
      { table: this.table, reason: p.reason, hint: p.hint },
      `pipeline paused: ${p.message}`,
    );
  }

  private resume(): void {
    if (!this.paused) return;
    const { pipeline, metrics, logger } = this.deps;
    metrics.pipelinePaused.set({ pipeline, reason: this.paused.reason }, 0);
    logger.info({ table: this.table, reason: this.paused.reason }, 'pipeline resumes');
    this.paused = undefined;
  }

  /** One insert attempt with its metrics; a failure is thrown classified (ClickHouseFailure). */
  private async attemptInsert(
    body: Buffer,
    rows: number,
    token: string | undefined,
    attempt: number,
  ): Promise<void> {
    if (this.stopped)
      throw new SinkStoppedError('the sink was stopped before the batch was inserted');
    const { pipeline, metrics, logger } = this.deps;
    const labels = { pipeline, table: this.table };
    const t0 = performance.now();
    try {
      await this.insertOnce(body, token);
    } catch (err) {
      if (this.stopped)
        throw new SinkStoppedError('the sink was stopped during an insert', { cause: err });
      const failure = clickHouseFailure(
        `ClickHouse insert into ${this.table} failed`,
        err,
        'check the sink configuration',
      );
      metrics.insertErrors.inc({ ...labels, class: failure.kind });
      // Rows ClickHouse rejects are counted per record by the lane; these are batch failures.
      if (failure.kind !== 'record')
        metrics.stageErrors.inc({ pipeline, stage: 'sink', class: failure.kind });
      trace.getActiveSpan()?.addEvent('insert attempt failed', {
        'weir.attempt': attempt + 1,
        'weir.error.class': failure.kind,
        'exception.message': failure.detail,
      });
      throw failure;
    }
    const seconds = (performance.now() - t0) / 1000;
    metrics.insertDuration.observe(labels, seconds);
    metrics.batchesInserted.inc(labels);
    metrics.rowsInserted.inc(labels, rows);
    metrics.batchRows.observe(labels, rows);
    metrics.batchBytes.observe(labels, body.length);
    metrics.lastInsert.set(labels, Date.now() / 1000);
    if (this.failing) logger.info({ table: this.table }, 'ClickHouse inserts succeed again');
    this.failing = false;
    if (this.paused?.reason === 'clickhouse_error') this.resume();
  }

  /** Counts and logs a retry, and marks the sink failing (for readiness). */
  private onRetry(err: unknown, attempt: number, delayMs: number): void {
    const { pipeline, metrics, logger } = this.deps;
    // attemptInsert throws nothing else that is retriable.
    const failure = err as ClickHouseFailure;
    metrics.insertRetries.inc({ pipeline, table: this.table, class: failure.kind });
    // The first failure is a state change and always logged; repeats are rate-limited.
    if (!this.failing) this.logLimiter.reset('retry');
    logLimited(
      logger,
      this.logLimiter,
      'warn',
      'retry',
      {
        table: this.table,
        attempt,
        retry_in_ms: delayMs,
        code: failure.code,
        err: failure.detail,
      },
      'ClickHouse insert failed; retrying',
    );
    this.failing = true;
    if (failure.unknown && attempt >= UNKNOWN_ERROR_RETRIES)
      this.pause({
        reason: 'clickhouse_error',
        message: `ClickHouse keeps failing inserts into ${this.table} with an error Weir does not classify (code ${failure.code ?? '?'}): ${failure.detail}`,
        hint: 'check the server log for this code; Weir keeps retrying and resumes by itself once inserts pass',
      });
  }

  /** Stops retry loops; in-progress inserts are aborted. Safe to call twice. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    await this.client.close();
  }

  /** One round trip to the server (for readiness); throws why it failed. */
  async probe(signal: AbortSignal): Promise<void> {
    const r = await this.client.ping({ select: false, abort_signal: signal });
    if (!r.success) throw r.error;
  }

  /** The table's engine (create_table's while it is still to be made), for the exactly-once assessment. */
  tableEngine(): Promise<{ engine: string; engineFull: string } | undefined> {
    const planned = this.missing ? this.cfg.create_table?.engine : undefined;
    if (planned !== undefined)
      return Promise.resolve({ engine: planned.replace(/\(.*$/s, '').trim(), engineFull: planned });
    return tableEngine(this.client, this.cfg.database, this.cfg.table);
  }

  async ping(): Promise<boolean> {
    try {
      const r = await this.client.ping();
      return r.success;
    } catch {
      return false;
    }
  }
}

/**
 * The client's TLS options for sink.clickhouse.tls: the CA to trust (the client wants one: without
 * ca_file, the CAs Node trusts by default) and the client certificate. An https url without a tls
 * section uses Node's defaults.
 */
export function clickHouseTls(cfg: Pick<ClickHouseSinkConfig, 'tls'>) {
  if (!cfg.tls) return {};
  const m = loadTlsFiles(cfg.tls, 'sink.clickhouse.tls');
  const ca_cert = m.ca ?? Buffer.from(rootCertificates.join('\n'));
  return { tls: m.cert && m.key ? { ca_cert, cert: m.cert, key: m.key } : { ca_cert } };
}

/**
 * The server cannot be reached or cannot answer now (network, timeout, overload): an outage, not a
 * config problem, so retriable - a run waits for the server (pipeline/startup.ts), a validate
 * reports it.
 */
function cannotReach(where: string, c: ClassifiedError, err: unknown): ConnectionError {
  return new ConnectionError(`cannot reach ${where}: ${c.message}`, {
    cause: err,
    retriable: true,
    peer: 'ClickHouse',
    hint: 'check sink.clickhouse.url and that the server is running',
  });
}

export function quoteId(name: string): string {
  return `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
}

export { RecordError };
