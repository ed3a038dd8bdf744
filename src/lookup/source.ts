// What a lookup reads its dimension rows from: PostgreSQL, ClickHouse or an HTTP service behind one
// interface, so the stage (batching, cache, misses, pausing, the memo) is the same for all three
// and is tested against an in-memory fake.

/** A key as sent to the source: the record's value (a string, or a number of a numeric field). */
export type KeyValue = string | number;

/** A dimension row: column -> value, as the source's client returns it. */
export type DimRow = Record<string, unknown>;

/** A column the rows have, with its type as the source names it (e.g. `int8`, `Nullable(String)`). */
export interface SourceColumn {
  name: string;
  type: string;
}

export interface DimensionSource {
  /** What and where, fit to print (no credentials), e.g. `PostgreSQL table public.ads at postgres://***@host:5432/weir`. */
  readonly where: string;
  /** What the source is called in messages: `PostgreSQL`, `ClickHouse`, `the HTTP service`. */
  readonly kind: string;
  /**
   * Connects and returns the columns the rows have, or undefined when the source cannot tell
   * before answering (HTTP). A problem retrying will not fix (wrong password, no such table)
   * throws a non-retriable error; an unreachable source a retriable one.
   */
  connect(): Promise<SourceColumn[] | undefined>;
  /** The rows whose key column holds one of `keys` (each with the key column). */
  fetch(keys: readonly KeyValue[], signal?: AbortSignal): Promise<DimRow[]>;
  /** Every row (preload). */
  fetchAll(signal?: AbortSignal): Promise<DimRow[]>;
  close(): Promise<void>;
}

/**
 * The key of a value as the cache and the rows are matched by: text, with numbers in their
 * shortest decimal form; a value of another type has no key (undefined). Sources return 64-bit
 * integers as text, so a key 42 and a column value "42" meet.
 */
export function keyOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}
