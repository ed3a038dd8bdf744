// Writes undeliverable records to the dead-letter topic: the original key, value and headers,
// plus headers saying where the record came from, which stage rejected it and why.
import type { Kafka, Producer, IHeaders } from 'kafkajs';
import { CompressionTypes } from 'kafkajs';
import type { DeadLetter } from '../core/record.ts';
import type { Metrics } from '../telemetry/metrics.ts';

export const DLQ_HEADERS = {
  pipeline: 'weir.pipeline',
  stage: 'weir.stage',
  reason: 'weir.reason',
  detail: 'weir.detail',
  topic: 'weir.source.topic',
  partition: 'weir.source.partition',
  offset: 'weir.source.offset',
  timestamp: 'weir.source.timestamp',
} as const;

const MAX_DETAIL = 1000;

export interface DeadLetterSink {
  write(letters: DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

export function toMessage(pipeline: string, l: DeadLetter) {
  const headers: IHeaders = {};
  for (const [k, v] of Object.entries(l.source.headers)) if (v !== undefined) headers[k] = v;
  headers[DLQ_HEADERS.pipeline] = pipeline;
  headers[DLQ_HEADERS.stage] = l.stage;
  headers[DLQ_HEADERS.reason] = l.reason;
  headers[DLQ_HEADERS.detail] = l.detail.slice(0, MAX_DETAIL);
  headers[DLQ_HEADERS.topic] = l.source.topic;
  headers[DLQ_HEADERS.partition] = String(l.source.partition);
  headers[DLQ_HEADERS.offset] = l.source.offset;
  headers[DLQ_HEADERS.timestamp] = String(l.source.timestamp);
  return { key: l.source.key, value: l.source.value, headers };
}

export class KafkaDeadLetterSink implements DeadLetterSink {
  private producer: Producer;
  private connected: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly pipeline: string,
    /** Counts what was written; the dedup side topic shares this writer without counting. */
    private readonly metrics?: Metrics,
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  async write(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    this.connected ??= this.producer.connect();
    await this.connected;
    // acks=-1: the dead letter must be durable before the source offset may be committed.
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      compression: CompressionTypes.None,
      messages: letters.map((l) => toMessage(this.pipeline, l)),
    });
    if (this.metrics)
      for (const l of letters)
        this.metrics.deadLettered.inc({
          pipeline: this.pipeline,
          stage: l.stage,
          reason: l.reason,
        });
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}
