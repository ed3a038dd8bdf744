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
}

export const emptyOutput = (): StageOutput => ({ out: [], dropped: [], dead: [] });

/** Stable identity of a source record: topic/partition/offset. */
export const originOf = (r: SourceRecord): string => `${r.topic}/${r.partition}/${r.offset}`;
