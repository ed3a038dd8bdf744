// An in-memory KeyedStore with the NATS store's semantics (deltas, snapshots, coverage), for unit
// tests: it counts appends, can fail on demand and can hold a load back.
import type { KeyedStore, LoadedPartition } from './store.ts';

interface Stored {
  seq: number;
  kind: 'd' | 's';
  snapshot?: string;
  value: Uint8Array;
}

export class MemoryKeyedStore implements KeyedStore {
  readonly maxEntryBytes: number;
  private seq = 0;
  private readonly entries = new Map<string, Stored[]>();
  private readonly current = new Map<string, string>();
  private readonly covered = new Map<string, number>();
  /** Calls to append, for asserting that writes are batched. */
  appends = 0;
  /** Set to make the next calls fail with this error. */
  failWith: Error | undefined;
  /** Per "topic/partition": a promise that load() waits for before answering (a slow rebuild). */
  readonly loadGate = new Map<string, Promise<void>>();

  constructor(maxEntryBytes = 1_000_000) {
    this.maxEntryBytes = maxEntryBytes;
  }

  private list(topic: string, partition: number): Stored[] {
    const k = `${topic}/${partition}`;
    let l = this.entries.get(k);
    if (!l) this.entries.set(k, (l = []));
    return l;
  }

  /** Entries held for the partition, by kind. */
  stored(topic: string, partition: number): { deltas: number; chunks: number } {
    const l = this.list(topic, partition);
    return {
      deltas: l.filter((e) => e.kind === 'd').length,
      chunks: l.filter((e) => e.kind === 's').length,
    };
  }

  async load(topic: string, partition: number): Promise<LoadedPartition> {
    await this.loadGate.get(`${topic}/${partition}`);
    if (this.failWith) throw this.failWith;
    const snap = this.current.get(`${topic}/${partition}`);
    const l = this.list(topic, partition);
    const entries = l
      .filter((e) => e.kind === 'd' || snap === undefined || e.snapshot === snap)
      .map((e) => e.value);
    const deltas = l.filter((e) => e.kind === 'd');
    const k = `${topic}/${partition}`;
    this.covered.set(k, Math.max(this.covered.get(k) ?? 0, ...deltas.map((e) => e.seq)));
    return { entries, deltas: deltas.length };
  }

  /** Like a NATS bucket whose max value size is maxEntryBytes: a larger entry is refused. */
  private tooLarge(entries: readonly Uint8Array[]): Error | undefined {
    const big = entries.find((e) => e.byteLength > this.maxEntryBytes);
    return big && new Error(`entry of ${big.byteLength} bytes exceeds ${this.maxEntryBytes}`);
  }

  append(topic: string, partition: number, entries: Uint8Array[]): Promise<void> {
    if (this.failWith) return Promise.reject(this.failWith);
    const tooLarge = this.tooLarge(entries);
    if (tooLarge) return Promise.reject(tooLarge);
    this.appends++;
    const l = this.list(topic, partition);
    const k = `${topic}/${partition}`;
    for (const value of entries) {
      const seq = ++this.seq;
      l.push({ seq, kind: 'd', value: value.slice() });
      this.covered.set(k, seq);
    }
    return Promise.resolve();
  }

  coverage(topic: string, partition: number): number {
    return this.covered.get(`${topic}/${partition}`) ?? 0;
  }

  snapshot(
    topic: string,
    partition: number,
    chunks: Uint8Array[],
    coverage: number,
  ): Promise<void> {
    const tooLarge = this.tooLarge(chunks);
    if (tooLarge) return Promise.reject(tooLarge);
    const id = `snap${++this.seq}`;
    const l = this.list(topic, partition);
    for (const value of chunks) l.push({ seq: ++this.seq, kind: 's', snapshot: id, value });
    this.current.set(`${topic}/${partition}`, id);
    const kept = l.filter((e) => (e.kind === 's' ? e.snapshot === id : e.seq > coverage));
    l.splice(0, l.length, ...kept);
    return Promise.resolve();
  }
}
