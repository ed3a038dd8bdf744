// Where dedup state is made durable. Two contracts, one per mode:
// - keyed: per partition, append-only deltas of accepted keys plus a periodic snapshot that
//   replaces them (so a rebuild reads a bounded number of entries);
// - global: one compare-and-set claim per key, shared by every agent.

export interface LoadedPartition {
  /** Encoded key lists (see entries.ts): the current snapshot's chunks and every delta. */
  entries: Uint8Array[];
  /** How many of the entries are deltas (a snapshot is due when there are many). */
  deltas: number;
}

export interface KeyedStore {
  /** Largest entry the store accepts, in bytes. */
  readonly maxEntryBytes: number;
  /** Reads the partition's state. */
  load(topic: string, partition: number): Promise<LoadedPartition>;
  /** Appends entries to the partition's deltas; resolves once they are durable. */
  append(topic: string, partition: number, entries: Uint8Array[]): Promise<void>;
  /**
   * A mark covering every delta of the partition loaded or acknowledged so far. Taken at the
   * moment a snapshot's keys are read from the index, it tells which deltas the snapshot replaces.
   */
  coverage(topic: string, partition: number): number;
  /** Makes `chunks` the partition's snapshot and removes the deltas up to `coverage`. */
  snapshot(topic: string, partition: number, chunks: Uint8Array[], coverage: number): Promise<void>;
}

/** The record a key was first accepted from, and its time in seconds. */
export interface Claim {
  topic: string;
  partition: number;
  offset: number;
  sec: number;
}

export interface GlobalStore {
  /**
   * Claims `key` for `mine` unless a claim exists that `holds` (is a live one); returns the
   * claim in force afterwards. Atomic across agents (compare-and-set).
   */
  claim(key: string, mine: Claim, holds: (existing: Claim) => boolean): Promise<Claim>;
}
