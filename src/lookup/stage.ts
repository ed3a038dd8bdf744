// The lookup transform: enriches each record with fields of a dimension row found by a key.
//
// Per `process` call (one fetched chunk of one partition) the distinct keys are collected; those
// not cached are asked in queries of at most max_keys_per_query keys, at most max_concurrency at a
// time over the whole stage - never one query per record. Results (rows and misses) are cached,
// bounded in entries and bytes. A failing query is retried with the one backoff policy
// (core/retry.ts) for as long as it takes: meanwhile `process` does not return (the partition is
// held, nothing skipped), the pipeline is reported paused (readiness, weir_pipeline_paused
// {reason="lookup"}, one error line) and resumes by itself. What each round used is journaled for
// the memo (memo.ts), so a replay carries the rows of its first attempt.
import type { Clock } from '../core/clock.ts';
import { ConfigError, RecordError, WeirError, describeError } from '../core/errors.ts';
import type { FieldInfo, ScalarType } from '../core/fields.ts';
import { typeToString } from '../core/fields.ts';
import type { Envelope, StageOutput } from '../core/record.ts';
import { retry, type RetryOptions } from '../core/retry.ts';
import type { LookupConfig } from '../config/schema.ts';
import { lookupFieldColumn, lookupFieldType, lookupKey } from '../config/lookup-rules.ts';
import { lookupNullable } from '../config/output-fields.ts';
import { converter, describeValue, type Converter } from '../stages/convert.ts';
import type { Stage, StageMemo, StagePlan } from '../stages/stage.ts';
import { preciseNow } from '../telemetry/batch-trace.ts';
import type { CheckResult } from '../telemetry/health.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { LookupCache, entryBytes, type LookupResult } from './cache.ts';
import { LookupJournal } from './memo.ts';
import {
  keyOf,
  type DimRow,
  type DimensionSource,
  type KeyValue,
  type SourceColumn,
} from './source.ts';
import { fits, fittingTypes, type TypeFamily } from './types.ts';

export interface LookupDeps {
  pipeline: string;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /**
   * Called every second while the lookup waits for its source: the Kafka consumer heartbeats,
   * so a held batch does not cost the group its member.
   */
  keepAlive?: () => void;
  /** Backoff sleep and jitter, injectable for tests (core/retry.ts). */
  sleep?: RetryOptions['sleep'];
  random?: () => number;
}

/** A source's column types as families (PostgreSQL and ClickHouse name them differently). */
export type FamilyOf = (type: string) => TypeFamily;

/** A failure of the source while looking up: always retried, the pipeline paused meanwhile. */
export class LookupFailure extends WeirError {
  override name = 'LookupFailure';
  constructor(
    message: string,
    readonly errorClass: 'connection' | 'auth' | 'duplicate_key' | 'query',
    opts: { cause?: unknown; hint?: string } = {},
  ) {
    super(message, { ...opts, retriable: true });
  }
}

/** The class of a source error for weir_lookup_errors_total. */
export function errorClass(err: unknown): LookupFailure['errorClass'] {
  if (err instanceof LookupFailure) return err.errorClass;
  const e = err as { lookupClass?: LookupFailure['errorClass']; retriable?: boolean };
  if (e?.lookupClass) return e.lookupClass;
  return e?.retriable ? 'connection' : 'query';
}

/** How often the consumer is kept alive while a lookup waits for its source. */
const KEEP_ALIVE_MS = 1000;

/** Pipelines with a lookup paused, by name: weir_pipeline_paused{reason="lookup"} is 1 while any is. */
const pausedLookups = new Map<string, Set<string>>();

interface Plan {
  names: string[];
  columns: string[];
  types: ScalarType[];
  nullable: boolean[];
  convert: Converter[];
  defaults: unknown[] | undefined;
}

/** A key being asked: partitions that need it meanwhile wait for the same answer. */
interface Pending {
  promise: Promise<LookupResult>;
  resolve(result: LookupResult): void;
  reject(err: unknown): void;
}

function pending(): Pending {
  let resolve!: (r: LookupResult) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<LookupResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A key nobody else waits for must not become an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

interface Segment {
  first: bigint;
  last: bigint;
  results: Map<string, LookupResult>;
}

export class LookupStage implements Stage {
  readonly kind = 'lookup';
  readonly memo: StageMemo;
  private readonly plan: Plan;
  private readonly keyField: string;
  private readonly keyColumn: string;
  private readonly cache: LookupCache;
  private readonly journal = new LookupJournal();
  private readonly inflight = new Map<string, Pending>();
  private snapshot: Map<string, LookupResult> | undefined;
  private snapshotBytes = 0;
  private refreshTimer: NodeJS.Timeout | undefined;
  private opened = false;
  private readonly closed = new AbortController();
  private readonly labels: { pipeline: string; lookup: string };
  /** Queries running (max_concurrency bounds them) and waiting for a slot. */
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Chunks whose query is failing right now; paused while any is. */
  private failing = 0;
  private pausedSince: number | undefined;
  private lastError: string | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    private readonly cfg: LookupConfig,
    input: readonly FieldInfo[],
    private readonly source: DimensionSource,
    private readonly familyOf: FamilyOf | undefined,
    private readonly deps: LookupDeps,
  ) {
    const key = lookupKey(cfg.key);
    this.keyField = key.field;
    this.keyColumn = key.column;
    if (!input.some((f) => f.name === key.field))
      throw new ConfigError(`${name}: unknown key field "${key.field}"`, {
        hint: `use one of the fields: ${input.map((f) => f.name).join(', ')}`,
      });
    this.plan = planFields(name, cfg);
    this.cache = new LookupCache(
      {
        maxEntries: cfg.cache.max_entries,
        maxBytes: cfg.cache.max_bytes,
        ttlMs: cfg.cache.ttl,
        negativeTtlMs: cfg.cache.negative_ttl,
      },
      deps.clock,
    );
    this.labels = { pipeline: deps.pipeline, lookup: name };
    deps.metrics.pipelinePaused.set({ pipeline: deps.pipeline, reason: 'lookup' }, 0);
    this.updateGauges();
    const journal = this.journal;
    this.memo = {
      capture: (topic, partition, from, to) => journal.capture(topic, partition, from, to),
      restore: (topic, partition, data) => journal.restore(topic, partition, data),
    };
  }

  /** The fields rows carry after this stage: the input's, then the lookup's. */
  static fields(cfg: LookupConfig, input: readonly FieldInfo[]): FieldInfo[] {
    const added = Object.entries(cfg.fields).map(([name, spec]) => ({
      name,
      type: { kind: lookupFieldType(spec) },
      nullable: lookupNullable(cfg, name),
    }));
    return [...input, ...added];
  }

  static plan(
    name: string,
    cfg: LookupConfig,
    input: readonly FieldInfo[],
    source: DimensionSource,
    familyOf: FamilyOf | undefined,
    deps: LookupDeps,
  ): StagePlan {
    const fields = LookupStage.fields(cfg, input);
    const seen = new Set<string>();
    for (const f of fields) {
      if (seen.has(f.name))
        throw new ConfigError(`${name}: field "${f.name}" would exist twice`, {
          hint: 'give the lookup field another name, or drop the existing field first',
        });
      seen.add(f.name);
    }
    return { stage: new LookupStage(name, cfg, input, source, familyOf, deps), fields };
  }

  /** Where the rows come from, fit to print. */
  get where(): string {
    return this.source.where;
  }

  /**
   * Connects, checks that the columns exist and convert to the declared types, and loads the
   * table with preload. Unreachable: a retriable error (the start waits); anything else is a
   * config error naming the field, the column, both types and the fix.
   */
  async open(): Promise<void> {
    const columns = await this.source.connect();
    if (columns) this.checkColumns(columns);
    else
      this.deps.logger.info(
        { lookup: this.name, source: this.where },
        'lookup from an HTTP service: its columns are checked per record (a value that does not convert dead-letters the record)',
      );
    if (this.cfg.preload) {
      await this.load();
      const every = this.cfg.preload.refresh;
      if (every > 0) {
        this.refreshTimer = setInterval(() => void this.refresh(), every);
        this.refreshTimer.unref();
      }
    }
    this.opened = true;
  }

  /** Checks the columns without loading anything (`weir validate`): connect, then compare. */
  async inspect(): Promise<void> {
    try {
      const columns = await this.source.connect();
      if (columns) this.checkColumns(columns);
    } finally {
      await this.source.close();
    }
  }

  checkColumns(columns: readonly SourceColumn[]): void {
    const byName = new Map(columns.map((c) => [c.name, c]));
    const list = columns.map((c) => c.name).join(', ') || 'none';
    const problems: string[] = [];
    if (!byName.has(this.keyColumn))
      problems.push(
        `the key column "${this.keyColumn}" does not exist (fix: name a column of ${list} in key.column)`,
      );
    const { names, columns: cols, types } = this.plan;
    names.forEach((field, i) => {
      const column = cols[i]!;
      const found = byName.get(column);
      if (!found) {
        problems.push(
          `field "${field}": column "${column}" does not exist (fix: set fields.${field}.column to one of ${list})`,
        );
        return;
      }
      const family = this.familyOf?.(found.type);
      if (family === undefined || fits(family, types[i]!)) return;
      problems.push(
        `field "${field}" is declared ${types[i]}, but column "${column}" is ${found.type}, which does not convert to ${types[i]} (fix: declare the field as ${fittingTypes(family).join(', ')}, or cast the column in a query)`,
      );
    });
    if (problems.length > 0)
      throw new ConfigError(
        `${this.name}: the columns of ${this.where} do not fit the lookup: ${problems.join('; ')}`,
      );
  }

  /** Readiness: not ready while a query fails (the pipeline waits for the source). */
  check(): CheckResult {
    if (this.pausedSince === undefined) return { ok: true };
    return {
      ok: false,
      reason: `paused: lookup ${this.name} cannot read ${this.where}: ${this.lastError ?? 'unknown error'}; retrying, records wait unacknowledged`,
    };
  }

  get paused(): boolean {
    return this.pausedSince !== undefined;
  }

  async process(batch: Envelope[]): Promise<StageOutput> {
    const output: StageOutput = { out: [], dropped: [], dead: [] };
    if (batch.length === 0) return output;
    if (!this.opened) throw new Error(`lookup ${this.name} is used before it was opened`);
    const start = preciseNow();
    const { topic, partition } = batch[0]!.source;
    const restored = this.journal.hasRestored(topic, partition);
    const n = batch.length;
    // Per record: its key (null: a null key, undefined: invalid), and a restored result.
    const keys = new Array<string | null | undefined>(n);
    const memoResults = new Array<LookupResult | undefined>(n);
    const needed = new Map<string, KeyValue>();
    let replayed = 0;
    for (let i = 0; i < n; i++) {
      const env = batch[i]!;
      const value = env.row[this.keyField];
      if (value === null || value === undefined) {
        keys[i] = null;
        continue;
      }
      const key = keyOf(value);
      keys[i] = key;
      if (key === undefined) continue;
      if (restored) {
        const r = this.journal.restoredResult(topic, partition, BigInt(env.source.offset), key);
        if (r !== undefined) {
          memoResults[i] = r;
          replayed++;
          continue;
        }
      }
      if (!needed.has(key)) needed.set(key, typeof value === 'bigint' ? key : (value as KeyValue));
    }
    const stats = { cached: 0, shared: 0, queried: 0, queries: 0 };
    const results = await this.resolve(needed, stats);

    const segments: Segment[] = [];
    let segment: Segment | undefined;
    const counts = { hit: 0, miss: 0, invalid_key: 0, replay: replayed };
    for (let i = 0; i < n; i++) {
      const env = batch[i]!;
      const offset = BigInt(env.source.offset);
      const key = keys[i];
      if (key === undefined) {
        counts.invalid_key++;
        output.dead.push({
          source: env.source,
          stage: this.name,
          reason: 'lookup_key',
          detail: `lookup ${this.name}: key field "${this.keyField}" holds ${describeKind(env.row[this.keyField])}, not a string or a number`,
        });
        continue;
      }
      let result: LookupResult = null;
      if (key !== null) {
        const memo = memoResults[i];
        result = memo !== undefined ? memo : (results.get(key) ?? null);
        // One result per key and segment; a replay cut across rounds that saw different rows
        // starts a new segment there, so the journal keeps both.
        if (!segment || conflicts(segment.results, key, result)) {
          if (segment) segment.last = offset - 1n;
          segment = {
            first: segment ? offset : BigInt(batch[0]!.source.offset),
            last: 0n,
            results: new Map(),
          };
          segments.push(segment);
        }
        segment.results.set(key, result);
      }
      if (result === null) {
        counts.miss++;
        this.onMiss(env, key, output);
      } else {
        counts.hit++;
        this.apply(env, key!, result, output);
      }
    }
    if (segment) segment.last = BigInt(batch[n - 1]!.source.offset);
    for (const s of segments) this.journal.record(topic, partition, s.first, s.last, s.results);

    const { metrics } = this.deps;
    for (const [reason, count] of Object.entries(counts))
      if (count > 0) metrics.lookupRecords.inc({ ...this.labels, reason }, count);
    if (stats.cached > 0) metrics.lookupKeys.inc({ ...this.labels, reason: 'cache' }, stats.cached);
    if (stats.queried > 0)
      metrics.lookupKeys.inc({ ...this.labels, reason: 'query' }, stats.queried);
    if (stats.shared > 0)
      metrics.lookupKeys.inc({ ...this.labels, reason: 'shared' }, stats.shared);
    this.updateGauges();
    output.spans = [
      {
        name: `lookup ${this.name}`,
        start,
        end: preciseNow(),
        attributes: {
          'weir.lookup.name': this.name,
          'weir.lookup.keys': needed.size,
          'weir.lookup.cached': stats.cached,
          'weir.lookup.queried': stats.queried,
          'weir.lookup.shared': stats.shared,
          'weir.lookup.queries': stats.queries,
          'weir.lookup.hits': counts.hit,
          'weir.lookup.misses': counts.miss,
          'weir.lookup.replayed': replayed,
        },
      },
    ];
    return output;
  }

  private apply(env: Envelope, key: string, result: readonly unknown[], output: StageOutput): void {
    const { names, columns, nullable, convert } = this.plan;
    const row = env.row;
    const values = new Array<unknown>(names.length);
    for (let j = 0; j < names.length; j++) {
      const raw = result[j];
      if (raw === null || raw === undefined) {
        if (nullable[j]) {
          values[j] = null;
          continue;
        }
        output.dead.push({
          source: env.source,
          stage: this.name,
          reason: 'lookup_value',
          detail: `lookup ${this.name}: column "${columns[j]}" of the row for key "${key}" is null, but field "${names[j]}" is not nullable (set on_miss: null to allow nulls)`,
        });
        return;
      }
      try {
        values[j] = convert[j]!(raw);
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        output.dead.push({
          source: env.source,
          stage: this.name,
          reason: 'lookup_value',
          detail: `lookup ${this.name}: column "${columns[j]}" of the row for key "${key}" does not convert: ${err.message}`,
        });
        return;
      }
    }
    for (let j = 0; j < names.length; j++) row[names[j]!] = values[j];
    output.out.push(env);
  }

  private onMiss(env: Envelope, key: string | null, output: StageOutput): void {
    const { names, defaults } = this.plan;
    switch (this.cfg.on_miss) {
      case 'drop':
        output.dropped.push({ env, reason: 'lookup_miss' });
        return;
      case 'dead_letter':
        output.dead.push({
          source: env.source,
          stage: this.name,
          reason: 'lookup_miss',
          detail:
            key === null
              ? `lookup ${this.name}: key field "${this.keyField}" is null`
              : `lookup ${this.name}: no row for key "${key}" in ${this.where}`,
        });
        return;
      default: {
        const row = env.row;
        for (let j = 0; j < names.length; j++) row[names[j]!] = defaults ? defaults[j] : null;
        output.out.push(env);
      }
    }
  }

  // ---------------------------------------------------------------- resolving keys

  private async resolve(
    needed: Map<string, KeyValue>,
    stats: { cached: number; shared: number; queried: number; queries: number },
  ): Promise<Map<string, LookupResult>> {
    const results = new Map<string, LookupResult>();
    const ask: [string, KeyValue][] = [];
    const shared: Promise<void>[] = [];
    for (const [key, value] of needed) {
      if (this.snapshot) {
        results.set(key, this.snapshot.get(key) ?? null);
        stats.cached++;
        continue;
      }
      const cached = this.cache.get(key);
      if (cached !== undefined) {
        results.set(key, cached);
        stats.cached++;
        continue;
      }
      // Another partition's fetch is asking for this key right now: wait for its answer.
      const pending = this.inflight.get(key);
      if (pending) {
        stats.shared++;
        shared.push(pending.promise.then((r) => void results.set(key, r)));
      } else ask.push([key, value]);
    }
    if (ask.length > 0) {
      const mine = new Map<string, Pending>();
      for (const [key] of ask) {
        const p = pending();
        mine.set(key, p);
        this.inflight.set(key, p);
      }
      stats.queried += ask.length;
      const size = this.cfg.max_keys_per_query;
      const chunks: [string, KeyValue][][] = [];
      for (let i = 0; i < ask.length; i += size) chunks.push(ask.slice(i, i + size));
      stats.queries += chunks.length;
      try {
        await Promise.all(
          chunks.map(async (chunk) => {
            const answer = await this.limited(() => this.query(chunk));
            for (const [key, result] of answer) {
              results.set(key, result);
              this.cache.set(key, result);
              this.inflight.delete(key);
              mine.get(key)!.resolve(result);
            }
          }),
        );
      } catch (err) {
        for (const [key, p] of mine)
          if (this.inflight.get(key) === p) {
            this.inflight.delete(key);
            p.reject(err);
          }
        throw err;
      }
    }
    await Promise.all(shared);
    return results;
  }

  /** One chunk of keys, retried until the source answers; the pipeline is paused meanwhile. */
  private async query(chunk: [string, KeyValue][]): Promise<Map<string, LookupResult>> {
    let failed = false;
    try {
      return await retry(
        async () => {
          const started = performance.now();
          let answer: Map<string, LookupResult>;
          try {
            const rows = await this.source.fetch(
              chunk.map(([, v]) => v),
              this.closed.signal,
            );
            answer = this.toResults(rows, (key) => `key "${key}"`);
          } catch (err) {
            throw this.failure(err);
          }
          this.deps.metrics.lookupQueryDuration.observe(
            this.labels,
            (performance.now() - started) / 1000,
          );
          const out = new Map<string, LookupResult>();
          for (const [key] of chunk) out.set(key, answer.get(key) ?? null);
          return out;
        },
        {
          initialMs: this.cfg.retry.initial_ms,
          maxMs: this.cfg.retry.max_ms,
          signal: this.closed.signal,
          ...(this.deps.sleep && { sleep: this.deps.sleep }),
          ...(this.deps.random && { random: this.deps.random }),
          onRetry: (err, attempt, delayMs) => {
            if (!failed) {
              failed = true;
              this.failing++;
            }
            this.onFailure(err, attempt, delayMs);
          },
        },
      );
    } catch (err) {
      if (this.closed.signal.aborted)
        throw new Error(
          `lookup ${this.name} was closed while waiting for ${this.where}; its records are read again on restart`,
          { cause: err },
        );
      throw err;
    } finally {
      if (failed && --this.failing === 0) this.resume();
    }
  }

  /** The rows by key; two rows for one key are an error (never one picked silently). */
  private toResults(
    rows: readonly DimRow[],
    what: (key: string) => string,
  ): Map<string, LookupResult> {
    const out = new Map<string, LookupResult>();
    const cols = this.plan.columns;
    for (const row of rows) {
      const key = keyOf(row[this.keyColumn]);
      if (key === undefined) continue;
      if (out.has(key))
        throw new LookupFailure(
          `${this.where} has more than one row for ${what(key)} (key column "${this.keyColumn}")`,
          'duplicate_key',
          {
            hint: `make "${this.keyColumn}" unique in the table, or use a query that returns one row per key; the pipeline waits until it does`,
          },
        );
      const values = new Array<unknown>(cols.length);
      for (let j = 0; j < cols.length; j++) values[j] = row[cols[j]!] ?? null;
      out.set(key, values);
    }
    return out;
  }

  private failure(err: unknown): LookupFailure {
    const cls = errorClass(err);
    this.deps.metrics.lookupErrors.inc({ ...this.labels, class: cls });
    if (err instanceof LookupFailure) return err;
    const hint = err instanceof WeirError ? err.hint : undefined;
    return new LookupFailure(describeError(err instanceof WeirError ? err.message : err), cls, {
      cause: err,
      ...(hint !== undefined && { hint }),
    });
  }

  private onFailure(err: unknown, attempt: number, delayMs: number): void {
    this.lastError = describeError(err);
    const { logger, metrics, pipeline } = this.deps;
    if (this.pausedSince !== undefined) {
      logger.debug(
        { lookup: this.name, retry: attempt, retry_in_ms: delayMs, err: this.lastError },
        'lookup still failing',
      );
      return;
    }
    this.pausedSince = this.deps.clock.now();
    let paused = pausedLookups.get(pipeline);
    if (!paused) pausedLookups.set(pipeline, (paused = new Set()));
    paused.add(this.name);
    metrics.pipelinePaused.set({ pipeline, reason: 'lookup' }, 1);
    const keepAlive = this.deps.keepAlive;
    if (keepAlive) {
      this.keepAliveTimer = setInterval(keepAlive, KEEP_ALIVE_MS);
      this.keepAliveTimer.unref();
    }
    logger.error(
      { lookup: this.name, source: this.where, err: this.lastError, retry_in_ms: delayMs },
      `pipeline paused: lookup ${this.name} cannot read ${this.where}; its records wait unacknowledged and the lookup is retried until it answers`,
    );
  }

  private resume(): void {
    if (this.pausedSince === undefined) return;
    const { logger, metrics, pipeline, clock } = this.deps;
    const pausedMs = clock.now() - this.pausedSince;
    this.pausedSince = undefined;
    clearInterval(this.keepAliveTimer);
    this.lastError = undefined;
    const paused = pausedLookups.get(pipeline);
    paused?.delete(this.name);
    if (!paused || paused.size === 0) {
      pausedLookups.delete(pipeline);
      metrics.pipelinePaused.set({ pipeline, reason: 'lookup' }, 0);
    }
    logger.info(
      { lookup: this.name, source: this.where, paused_ms: pausedMs },
      `pipeline resumes: lookup ${this.name} reads ${this.where} again`,
    );
  }

  /** Runs `fn` once fewer than max_concurrency queries of this stage are running. */
  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running >= this.cfg.max_concurrency)
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  // ---------------------------------------------------------------- preload

  /** Reads the whole table into the snapshot; throws when it fails or does not fit the cache. */
  private async load(): Promise<void> {
    const started = performance.now();
    let rows: DimRow[];
    try {
      rows = await this.source.fetchAll(this.closed.signal);
    } catch (err) {
      this.deps.metrics.lookupErrors.inc({ ...this.labels, class: errorClass(err) });
      throw err;
    }
    let results: Map<string, LookupResult>;
    try {
      results = this.toResults(rows, (key) => `key "${key}"`);
    } catch (err) {
      this.deps.metrics.lookupErrors.inc({ ...this.labels, class: errorClass(err) });
      throw new ConfigError((err as LookupFailure).message, { hint: (err as LookupFailure).hint });
    }
    let bytes = 0;
    for (const [key, result] of results) bytes += entryBytes(key, result);
    const { max_entries, max_bytes } = this.cfg.cache;
    if (results.size > max_entries || bytes > max_bytes)
      throw new ConfigError(
        `${this.name}: the preloaded table has ${results.size} rows taking ${bytes} bytes, more than cache.max_entries (${max_entries}) or cache.max_bytes (${max_bytes})`,
        {
          hint: 'raise cache.max_entries and cache.max_bytes, or remove preload to look keys up as needed',
        },
      );
    this.deps.metrics.lookupQueryDuration.observe(
      this.labels,
      (performance.now() - started) / 1000,
    );
    this.snapshot = results;
    this.snapshotBytes = bytes;
    this.updateGauges();
  }

  /** A periodic reload; on failure the rows loaded before stay in use. */
  async refresh(): Promise<void> {
    try {
      await this.load();
      this.deps.logger.debug(
        { lookup: this.name, rows: this.snapshot?.size },
        'lookup table reloaded',
      );
    } catch (err) {
      if (this.closed.signal.aborted) return;
      this.deps.logger.warn(
        { lookup: this.name, source: this.where, err: describeError(err) },
        `lookup ${this.name}: reloading the table failed; the rows loaded before stay in use until the next refresh`,
      );
    }
  }

  private updateGauges(): void {
    const { metrics } = this.deps;
    metrics.lookupCacheEntries.set(
      this.labels,
      this.snapshot ? this.snapshot.size : this.cache.size,
    );
    metrics.lookupCacheBytes.set(
      this.labels,
      this.snapshot ? this.snapshotBytes : this.cache.bytes,
    );
  }

  /** Cache size (tests). */
  get cached(): { entries: number; bytes: number } {
    return { entries: this.cache.size, bytes: this.cache.bytes };
  }

  // ---------------------------------------------------------------- lane hooks

  onCommit(topic: string, partition: number, next: string): void {
    this.journal.onCommit(topic, partition, next);
  }

  onRevoke(topic: string, partition: number): void {
    this.journal.onRevoke(topic, partition);
  }

  async close(): Promise<void> {
    if (this.closed.signal.aborted) return;
    this.closed.abort();
    clearInterval(this.refreshTimer);
    clearInterval(this.keepAliveTimer);
    if (this.pausedSince !== undefined) {
      const paused = pausedLookups.get(this.deps.pipeline);
      paused?.delete(this.name);
      if (!paused || paused.size === 0) {
        pausedLookups.delete(this.deps.pipeline);
        this.deps.metrics.pipelinePaused.set({ pipeline: this.deps.pipeline, reason: 'lookup' }, 0);
      }
    }
    await this.source.close();
  }
}

function planFields(name: string, cfg: LookupConfig): Plan {
  const entries = Object.entries(cfg.fields);
  const names = entries.map(([n]) => n);
  const types = entries.map(([, spec]) => lookupFieldType(spec));
  const columns = entries.map(([n, spec]) => lookupFieldColumn(n, spec));
  const convert = names.map((n, j) => converter({ kind: types[j]! }, n));
  const nullable = names.map((n) => lookupNullable(cfg, n));
  let defaults: unknown[] | undefined;
  if (cfg.on_miss === 'default') {
    defaults = names.map((n, j) => {
      const v = cfg.defaults?.[n];
      if (v === null || v === undefined) return null;
      try {
        return convert[j]!(v);
      } catch (err) {
        throw new ConfigError(
          `${name}: the default of field "${n}" is not a valid ${typeToString({ kind: types[j]! })}: ${describeError(err)}`,
        );
      }
    });
  }
  return { names, columns, types, nullable, convert, defaults };
}

function conflicts(results: Map<string, LookupResult>, key: string, result: LookupResult): boolean {
  if (!results.has(key)) return false;
  const had = results.get(key)!;
  if (had === result) return false;
  return JSON.stringify(had) !== JSON.stringify(result);
}

function describeKind(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value} (${describeValue(value)})`;
}
