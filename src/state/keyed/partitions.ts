// Per-partition persistence shared by the stateful stages. A stage keeps one StatePartition
// (extended with its own state) per topic-partition it owns and:
//   - on assignment, rebuilds it: `load` reads its entries, the stage decodes them into memory;
//   - on checkpoint, encodes what changed since the last write and hands it to `append`, which
//     writes every partition's deltas at once and resolves when they are durable;
//   - after a partition has `snapshotEvery` deltas, `append` replaces them by a snapshot of its
//     whole live state (`snapshotOf`), in the background. A snapshot is taken right after the
//     partition's deltas are acknowledged, with no write of them running, so it covers them all.
import type { KeyedStore } from './store.ts';

/** A partition gets a fresh snapshot after this many deltas. */
export const SNAPSHOT_EVERY = 200;

/** One topic-partition's state as the store sees it; stages extend it with what they keep. */
export class StatePartition {
  /** Resolves once the partition's state is rebuilt (rejects if that failed). */
  ready: Promise<void> = Promise.resolve();
  loaded = false;
  /** Set when the partition is revoked: its rebuild is discarded, no snapshot is taken. */
  revoked = false;
  /** Deltas in the store since the last snapshot. */
  deltas = 0;
  snapshotting = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Marks the partition as loading until `rebuild` settles. */
  loading(rebuild: Promise<void>): void {
    this.ready = rebuild.then(() => {
      this.loaded = true;
    });
    // A failed rebuild is reported by whoever awaits `ready`; never unhandled.
    this.ready.catch(() => undefined);
  }
}

export interface KeyedStateOptions<P extends StatePartition> {
  /** Usually wrapped by StateCalls.store (retries, timing). */
  store: KeyedStore;
  /** The partition's whole live state as entries of at most `maxBytes` each. */
  snapshotOf(p: P, maxBytes: number): Uint8Array[];
  /** Default SNAPSHOT_EVERY. */
  snapshotEvery?: number;
  /** A snapshot failed: its deltas stay and it is tried again after the partition's next write. */
  onSnapshotFailed?(p: P, err: unknown): void;
}

export class KeyedState<P extends StatePartition> {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly o: KeyedStateOptions<P>) {}

  /** Largest entry to encode, in bytes. */
  get maxEntryBytes(): number {
    return this.o.store.maxEntryBytes;
  }

  /** The partition's stored entries, or undefined when it was revoked while they were read. */
  async load(p: P): Promise<Uint8Array[] | undefined> {
    const loaded = await this.o.store.load(p.topic, p.partition);
    if (p.revoked) return undefined;
    p.deltas = loaded.deltas;
    return loaded.entries;
  }

  /** Writes each partition's entries as deltas, all at once; then starts the snapshots due. */
  async append(writes: readonly { p: P; entries: Uint8Array[] }[]): Promise<void> {
    const { store } = this.o;
    await Promise.all(writes.map(({ p, entries }) => store.append(p.topic, p.partition, entries)));
    const every = this.o.snapshotEvery ?? SNAPSHOT_EVERY;
    for (const { p, entries } of writes) {
      p.deltas += entries.length;
      if (p.deltas >= every && !p.snapshotting && !p.revoked) this.snapshot(p);
    }
  }

  /** Snapshots still being written (a closing stage may give them time to finish). */
  pending(): Promise<void>[] {
    return [...this.running];
  }

  private snapshot(p: P): void {
    const { store } = this.o;
    const chunks = this.o.snapshotOf(p, store.maxEntryBytes);
    const coverage = store.coverage(p.topic, p.partition);
    const deltas = p.deltas;
    p.snapshotting = true;
    const task = store
      .snapshot(p.topic, p.partition, chunks, coverage)
      .then(() => {
        p.deltas = Math.max(0, p.deltas - deltas);
      })
      .catch((err: unknown) => this.o.onSnapshotFailed?.(p, err))
      .finally(() => {
        p.snapshotting = false;
        this.running.delete(task);
      });
    this.running.add(task);
  }
}
