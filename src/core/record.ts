// The units that flow through a pipeline.

/** A record as read from Kafka, before any parsing. Never mutated. */
export interface SourceRecord {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset as a decimal string (kafkajs's representation; 64-bit safe). */
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | string | undefined>>;
  /** Kafka record timestamp, milliseconds since the epoch. */
  readonly timestamp: number;
}

/** A row's fields after parsing: plain JSON-like values; date-times are epoch milliseconds. */
export type Row = Record<string, unknown>;

/** A parsed record travelling through the stages, keeping its origin for acks and dead letters. */
export interface Envelope {
  readonly source: SourceRecord;
  row: Row;
  /**
   * When the record was taken into its partition's lane (epoch ms): the ingest time a
   * `processed_at` field gets. With exactly-once it is recorded with the pending batch and the
   * same on replay.
   */
  ingestedAt?: number;
}

/** A record that cannot be delivered; it goes to the dead-letter topic with its original bytes. */
export interface DeadLetter {
  readonly source: SourceRecord;
  /** The stage that rejected it, e.g. `parse`, `map`, `sink`. */
  readonly stage: string;
  /** Bounded machine-readable class used as a metric label, e.g. `invalid_json`. */
  readonly reason: string;
  /** Human-readable explanation naming the field and the problem. */
  readonly detail: string;
}

/** A record dropped on purpose (filtered, duplicate); counts as handled for offset commits. */
export interface Dropped {
  readonly env: Envelope;
  readonly reason: string;
}

/** What a stage returns for one input batch. Every input is accounted for exactly once. */
export interface StageOutput {
  out: Envelope[];
  dropped: Dropped[];
  dead: DeadLetter[];
  /** Steps of the stage worth a span of their own in the batch trace (a lookup's rounds). */
  spans?: StageSpan[];
}

/** A step inside a stage's run, recorded after the fact as a child of the stage's span. */
export interface StageSpan {
  name: string;
  /** Epoch milliseconds (fractional). */
  start: number;
  end: number;
  attributes: Record<string, string | number | boolean>;
}

export const emptyOutput = (): StageOutput => ({ out: [], dropped: [], dead: [] });

/** Stable identity of a source record: topic/partition/offset. */
export const originOf = (r: SourceRecord): string => `${r.topic}/${r.partition}/${r.offset}`;

/**
 * Bytes of a record's key, value and headers (names and values): what `source.max_record_bytes`
 * limits and what a dead letter reports in `weir.source.size`.
 */
export function recordBytes(r: SourceRecord): number {
  let n = (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const [k, v] of Object.entries(r.headers))
    n +=
      Buffer.byteLength(k) +
      (v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  return n;
}
