// The optional side topic for dropped duplicates: the original key, value and headers, plus the
// dead-letter headers (stage `dedup`, reason `duplicate`, the origin of the record it repeats).
// Sent with acks=-1 before the offsets are committed, so a duplicate is never silently lost.
import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';
import type { DeadLetter } from '../core/record.ts';
import { toMessage } from '../deadletter/writer.ts';

export interface DuplicateSink {
  write(duplicates: DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

export class KafkaDuplicateSink implements DuplicateSink {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    readonly topic: string,
    private readonly pipeline: string,
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  async write(duplicates: DeadLetter[]): Promise<void> {
    if (duplicates.length === 0) return;
    this.connected ??= this.producer.connect();
    await this.connected;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      compression: CompressionTypes.None,
      messages: duplicates.map((d) => toMessage(this.pipeline, d)),
    });
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}
