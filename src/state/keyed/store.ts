// Where keyed state is made durable, per topic-partition: append-only deltas (what changed since
// the previous write) plus a periodic snapshot that replaces them, so a rebuild reads a bounded
// number of entries. The entries are opaque bytes: each stage has its own encoding.

export interface LoadedPartition {
  /** Encoded entries: the current snapshot's chunks and every delta. */
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
   * moment a snapshot's contents are read from memory, it tells which deltas the snapshot replaces.
   */
  coverage(topic: string, partition: number): number;
  /** Makes `chunks` the partition's snapshot and removes the deltas up to `coverage`. */
  snapshot(topic: string, partition: number, chunks: Uint8Array[], coverage: number): Promise<void>;
}
