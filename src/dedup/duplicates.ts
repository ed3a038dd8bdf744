// The optional side topic for dropped duplicates: the original key, value and headers, plus the
// dead-letter headers (stage `dedup`, reason `duplicate`, the origin of the record it repeats).
// Sent with acks=-1 before the offsets are committed, so a duplicate is never silently lost.
// It is the dead-letter writer pointed at another topic, without the dead-letter metric.
import type { Kafka } from 'kafkajs';
import type { KafkaCompression } from '../config/schema.ts';
import { KafkaDeadLetterSink, type DeadLetterSink } from '../deadletter/writer.ts';

export type DuplicateSink = DeadLetterSink;

export class KafkaDuplicateSink extends KafkaDeadLetterSink {
  constructor(
    kafka: Kafka,
    topic: string,
    pipeline: string,
    opts: { compression: KafkaCompression },
  ) {
    super(kafka, topic, pipeline, opts);
  }
}
