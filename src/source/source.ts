// The source contract: what a pipeline needs from whatever it consumes (Kafka today). Records come
// per partition, in offset order, to one handler; the pipeline pauses and resumes partitions and
// commits offsets through the source, and is told when partitions come and go. Nothing beyond
// this interface reaches lanes or stages, so another source (NATS, another Kafka client) can be
// added without touching them.
import type { SourceRecord } from '../core/record.ts';

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** The key of a partition in maps and logs: `topic/partition`. */
export const partitionKey = (topic: string, partition: number): string => `${topic}/${partition}`;

/** Fetched records of one partition, in offset order (at least one). */
export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: SourceRecord[];
  /** The partition's log end when fetched: the offset the next record written gets. */
  readonly logEnd: string;
  /**
   * The last offset the fetch covered, at or after the last record's: transaction markers and
   * aborted records after it were passed over and need no processing.
   */
  readonly lastOffset: string;
}

/** A change of the partitions this member reads (a rebalance). */
export interface Assignment {
  /** Every partition owned now, by {@link partitionKey}. */
  readonly owned: ReadonlySet<string>;
  /** Owned now and not before. */
  readonly added: readonly TopicPartition[];
  /** Owned before and not now. */
  readonly revoked: readonly TopicPartition[];
}

export interface SourceHandler {
  /**
   * Records of one partition. No more of that partition come until the promise settles; a
   * rejection is a failure of the consumer (nothing after it is committed).
   */
  onRecords(batch: PartitionBatch): Promise<void>;
  onAssignment(change: Assignment): void;
  /**
   * A fetch held only offsets that carry no records for this reader (transaction markers,
   * aborted transactions under read_committed): they may be committed past once what comes
   * before them is done.
   */
  onPassedOver(topic: string, partition: number, first: string, last: string): void;
  /** The source failed and will not recover by itself. */
  onFatal(err: unknown): void;
}

export interface SourceStatus {
  readonly connected: boolean;
  /** Has joined its group (partitions were assigned at least once). */
  readonly joined: boolean;
  readonly assignedPartitions: number;
  /** Position reads (lag) that failed in a row, with the last error: the brokers did not answer. */
  readonly brokerFailures: { inARow: number; lastError: string | undefined };
  /** Latest lag per partition ({@link partitionKey}). */
  readonly lag: ReadonlyMap<string, number>;
}

export interface Source {
  /** Checks that what is to be read exists and fits, without consuming. */
  check(): Promise<void>;
  /** Starts consuming into `handler`; resolves once the first assignment is under way. */
  start(handler: SourceHandler): Promise<void>;
  /** Stops fetching one partition until {@link resume} (no-op when not consuming). */
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
  /**
   * Tells the group this member is alive while a batch is held on purpose (dedup at its key cap):
   * otherwise only finished batches do, and the member would be dropped after its session timeout.
   */
  keepAlive(): void;
  /** Marks everything below `nextOffset` of the partition as done. */
  commit(topic: string, partition: number, nextOffset: string): Promise<void>;
  /**
   * A graceful stop begins: nothing more is fetched, but the partitions stay owned so what was
   * fetched can still be committed. A crash of the consumer from now on is expected.
   */
  stopFetching(): void;
  /** Leaves, disconnects and releases everything. Safe to call twice, and before start. */
  close(): Promise<void>;
  readonly status: SourceStatus;
}
