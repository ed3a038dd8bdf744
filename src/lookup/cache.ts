// The lookup cache: key -> the row's values (or a miss), bounded in entries and in bytes, least
// recently used first out, each entry valid for a time (ttl for rows, negative_ttl for misses).
import type { Clock } from '../core/clock.ts';

/** A lookup result: the values of the lookup's fields in declaration order, or null for a miss. */
export type LookupResult = readonly unknown[] | null;

/** What holding one entry costs besides its key and values (Map slot, objects, array). */
export const ENTRY_OVERHEAD_BYTES = 100;

/** Bytes an entry counts: UTF-8 bytes of its key and of its values as JSON, plus the overhead. */
export function entryBytes(key: string, result: LookupResult): number {
  return (
    Buffer.byteLength(key) +
    (result === null ? 0 : Buffer.byteLength(JSON.stringify(result))) +
    ENTRY_OVERHEAD_BYTES
  );
}

interface Entry {
  result: LookupResult;
  bytes: number;
  expiresAt: number;
}

export interface CacheLimits {
  maxEntries: number;
  maxBytes: number;
  /** Milliseconds a row is used; 0: rows are not cached. */
  ttlMs: number;
  /** Milliseconds a miss is remembered; 0: misses are not cached. */
  negativeTtlMs: number;
}

export class LookupCache {
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;

  constructor(
    private readonly limits: CacheLimits,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The cached result of a key, undefined when not cached or expired. */
  get(key: string): LookupResult | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.clock.now()) {
      this.remove(key, e);
      return undefined;
    }
    // Most recently used last: the Map keeps insertion order.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.result;
  }

  set(key: string, result: LookupResult): void {
    const ttl = result === null ? this.limits.negativeTtlMs : this.limits.ttlMs;
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    if (ttl <= 0) return;
    const bytes = entryBytes(key, result);
    // An entry larger than the whole cache is not kept (it would evict everything for nothing).
    if (bytes > this.limits.maxBytes) return;
    this.entries.set(key, { result, bytes, expiresAt: this.clock.now() + ttl });
    this.totalBytes += bytes;
    this.evict();
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }

  private evict(): void {
    const { maxEntries, maxBytes } = this.limits;
    for (const [key, e] of this.entries) {
      if (this.entries.size <= maxEntries && this.totalBytes <= maxBytes) return;
      this.remove(key, e);
    }
  }

  private remove(key: string, e: Entry): void {
    this.entries.delete(key);
    this.totalBytes -= e.bytes;
  }
}
