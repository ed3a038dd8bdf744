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
/**
 * Bytes of records per produce request at most. A broker refuses a record batch over its
 * message.max.bytes (1 MiB by default), and a batch of dead letters can be a whole insert batch.
 */
export const MAX_SEND_BYTES = 512 * 1024;

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

type Message = ReturnType<typeof toMessage>;

/** About what a record takes in a record batch: key, value, headers and per-record overhead. */
function sizeOf(m: Message): number {
  let n = 64 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const [k, v] of Object.entries(m.headers)) n += k.length + (v ? v.length : 0) + 8;
  return n;
}

/** Splits messages into sends of at most `maxBytes` (a larger single record goes alone). */
export function chunkBySize(messages: Message[], maxBytes = MAX_SEND_BYTES): Message[][] {
  const chunks: Message[][] = [];
  let chunk: Message[] = [];
  let size = 0;
  for (const m of messages) {
    const n = sizeOf(m);
    if (chunk.length > 0 && size + n > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(m);
    size += n;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
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
    const messages = letters.map((l) => toMessage(this.pipeline, l));
    for (const chunk of chunkBySize(messages))
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        compression: CompressionTypes.None,
        messages: chunk,
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
