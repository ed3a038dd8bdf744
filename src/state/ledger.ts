// The batch ledger: per topic-partition, the last offset durably inserted (high-water mark) and
// the batch in flight, kept in NATS KV and updated with compare-and-set. It makes replays exact:
// after a crash the pending batch is cut again over the same offset range (so it carries the same
// rows and the same insert token), and anything at or below the high-water mark is skipped.
// Each stored entry also names its writer (host/pid/random), so that the store can tell our own
// write, applied although its answer was lost, from another agent's identical entry.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { WeirError, describeError, isRetriable } from '../core/errors.ts';

/**
 * The narrow key-value contract the ledger needs (NATS KV in production, a map in unit tests).
 * A store that retries a write whose outcome it could not learn (a timeout, a disconnect) must
 * not report its own applied write as a conflict: finding exactly `value` stored, it resolves with
 * that revision. Values are unique per writer, so that never hides another writer's entry.
 */
export interface RevisionedStore {
  get(key: string): Promise<{ value: Uint8Array; revision: number } | null>;
  /** Creates the key; rejects if it exists. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Replaces the value if the key is still at `revision`; rejects otherwise. */
  update(key: string, value: Uint8Array, revision: number): Promise<number>;
  /** Removes a key (best effort: the parts of a big memo once their batch is done). */
  delete?(key: string): Promise<void>;
  /** The largest value the store takes (a NATS bucket's max value size); default 1,000,000. */
  readonly maxValueBytes?: number;
}

/** A compare-and-set refusal (the key moved on, or exists), as NATS KV and MemoryStore say it. */
function isConflict(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; message?: unknown };
  return (
    e?.api_error?.err_code === 10071 ||
    (typeof e?.message === 'string' && /wrong last sequence|exists/i.test(e.message))
  );
}

/** What is stored: the entry and who wrote it (absent in entries of older versions). */
interface StoredEntry extends LedgerEntry {
  writer?: string;
}

export interface PendingBatch {
  /** First and last source offset of the batch (inclusive), decimal strings. */
  from: string;
  to: string;
  token: string;
  /** The batch's dead letters were acknowledged by Kafka: do not send them again on replay. */
  deadLettersWritten: boolean;
  /**
   * What the batch's records used from the outside world (lookup results, ingest times), so a
   * replay carries the same rows: inline, or in `memoParts` keys of the store when it is big.
   */
  memo?: unknown;
  memoParts?: string[];
}

export interface LedgerEntry {
  /** Last offset whose batch is durably in ClickHouse; '-1' when none. */
  hw: string;
  pending: PendingBatch | null;
}

export class LedgerConflictError extends WeirError {
  override name = 'LedgerConflictError';
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A memo bigger than this (in UTF-8 bytes, and than a quarter of the store's value size) goes to
 * keys of its own, in parts of at most MEMO_PART_BYTES (and the value size less 1 KiB): NATS
 * refuses messages over its max_payload, 1 MiB by default.
 */
export const MEMO_INLINE_BYTES = 256 * 1024;
const MEMO_PART_BYTES = 512 * 1024;
const DEFAULT_VALUE_BYTES = 1_000_000;

/** Keys may hold letters, digits and - _ = . / ; anything else in a topic name is hex-escaped. */
export function ledgerKey(
  pipeline: string,
  table: string,
  topic: string,
  partition: number,
): string {
  const safe = (s: string) =>
    s.replace(/[^A-Za-z0-9_-]/g, (c) => `=${c.charCodeAt(0).toString(16)}`);
  return `${safe(pipeline)}.${safe(table)}.${safe(topic)}.${partition}`;
}

/** A deterministic insert token for one batch of one partition into one table. */
export function insertToken(
  pipeline: string,
  table: string,
  topic: string,
  partition: number,
  from: string,
  to: string,
): string {
  return `weir:${pipeline}:${table}:${topic}:${partition}:${from}-${to}`;
}

/** Unique per ledger instance; host and pid say where a conflicting writer runs. */
function newWriterId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
}

export class PartitionLedger {
  private revision: number | undefined;
  private entry: LedgerEntry = { hw: '-1', pending: null };

  constructor(
    private readonly store: RevisionedStore,
    readonly key: string,
    readonly writer: string = newWriterId(),
  ) {}

  get current(): Readonly<LedgerEntry> {
    return this.entry;
  }

  async load(): Promise<LedgerEntry> {
    const got = await this.store.get(this.key);
    if (got) {
      const { hw, pending } = JSON.parse(dec.decode(got.value)) as StoredEntry;
      this.entry = { hw, pending };
      this.revision = got.revision;
    } else {
      this.entry = { hw: '-1', pending: null };
      this.revision = undefined;
    }
    return this.entry;
  }

  /**
   * Reads the entry and writes it back as this writer's: a writer that read it before — the agent
   * the partition was taken from, still finishing a batch it had started — can no longer write
   * it (its next write is a conflict), so what this writer read stays true. A write of that
   * writer landing between the read and the claim makes the claim read again.
   */
  async claim(attempts = 20): Promise<LedgerEntry> {
    for (let attempt = 1; ; attempt++) {
      await this.load();
      try {
        await this.write({ ...this.entry });
        return this.entry;
      } catch (err) {
        if (!(err instanceof LedgerConflictError) || attempt >= attempts) throw err;
        await new Promise((r) => setTimeout(r, Math.min(25 * attempt, 250)));
      }
    }
  }

  private async write(next: LedgerEntry): Promise<void> {
    const stored: StoredEntry = { ...next, writer: this.writer };
    const bytes = enc.encode(JSON.stringify(stored));
    try {
      this.revision =
        this.revision === undefined
          ? await this.store.create(this.key, bytes)
          : await this.store.update(this.key, bytes, this.revision);
    } catch (err) {
      if (!isConflict(err))
        throw new WeirError(`cannot write the batch ledger ${this.key}: ${describeError(err)}`, {
          cause: err,
          retriable: isRetriable(err),
          hint: 'check the NATS server of sink.clickhouse.exactly_once.nats (its max_payload must be at least 64 KiB)',
        });
      // Someone else wrote the ledger since we read it: another agent owns this partition now.
      throw new LedgerConflictError(
        `the batch ledger ${this.key} was changed by another writer; this agent no longer owns the partition`,
        { cause: err, retriable: false, hint: 'this resolves itself after the rebalance' },
      );
    }
    this.entry = next;
  }

  /**
   * Records the batch as pending before anything of it is written anywhere, with its memo (what
   * its records used from the outside world). A replay of the pending batch keeps the first memo.
   */
  async begin(from: string, to: string, token: string, memo?: unknown): Promise<void> {
    const p = this.entry.pending;
    if (p && p.from === from && p.to === to) return; // replay of the pending batch
    if (p)
      throw new WeirError(
        `ledger ${this.key}: batch ${from}-${to} does not match the pending ${p.from}-${p.to}`,
      );
    const pending: PendingBatch = { from, to, token, deadLettersWritten: false };
    if (memo !== undefined) {
      const bytes = enc.encode(JSON.stringify(memo));
      const max = this.store.maxValueBytes ?? DEFAULT_VALUE_BYTES;
      if (bytes.length <= Math.min(MEMO_INLINE_BYTES, max / 4)) pending.memo = memo;
      else
        pending.memoParts = await this.writeParts(
          from,
          bytes,
          Math.min(MEMO_PART_BYTES, max - 1024),
        );
    }
    await this.write({ hw: this.entry.hw, pending });
  }

  /** A big memo in parts, under keys unique to this writer and batch, before the entry names them. */
  private async writeParts(from: string, bytes: Uint8Array, partBytes: number): Promise<string[]> {
    const keys: string[] = [];
    const id = this.writer.replace(/[^A-Za-z0-9_-]/g, '_');
    for (let i = 0; i * partBytes < bytes.length; i++) {
      const key = `${this.key}.memo.${id}.${from}.${i}`;
      // Cut in bytes (a character may span two parts): read back, the parts are joined first.
      await this.store.create(key, bytes.subarray(i * partBytes, (i + 1) * partBytes));
      keys.push(key);
    }
    return keys;
  }

  /** The pending batch's memo (read back from its parts when it was big); undefined when none. */
  async pendingMemo(): Promise<unknown> {
    const p = this.entry.pending;
    if (!p) return undefined;
    if (p.memo !== undefined) return p.memo;
    if (!p.memoParts) return undefined;
    const parts: Uint8Array[] = [];
    for (const key of p.memoParts) {
      const part = await this.store.get(key);
      if (!part)
        throw new WeirError(
          `ledger ${this.key}: part ${key} of the pending batch's memo is missing`,
          {
            hint: 'the NATS bucket lost data; the batch cannot be replayed exactly',
          },
        );
      parts.push(part.value);
    }
    return JSON.parse(dec.decode(Buffer.concat(parts))) as unknown;
  }

  async markDeadLettersWritten(): Promise<void> {
    const p = this.entry.pending;
    if (!p || p.deadLettersWritten) return;
    await this.write({ hw: this.entry.hw, pending: { ...p, deadLettersWritten: true } });
  }

  /** Forgets the partition's history (the topic was deleted and created again). */
  async reset(): Promise<void> {
    await this.write({ hw: '-1', pending: null });
  }

  /** The batch is durably inserted: move the high-water mark, clear the pending batch. */
  async complete(to: string): Promise<void> {
    const parts = this.entry.pending?.memoParts;
    await this.write({ hw: to, pending: null });
    if (parts && this.store.delete)
      for (const key of parts) await this.store.delete(key).catch(() => undefined);
  }
}
