// Writes undeliverable records to the dead-letter topic: the original key, value and headers,
// plus headers saying where the record came from, which stage rejected it and why.
import type { CompressionTypes, Kafka, Producer, IHeaders } from 'kafkajs';
import type { KafkaCompression } from '../config/schema.ts';
import type { DeadLetter } from '../core/record.ts';
import { recordBytes } from '../core/record.ts';
import { redact } from '../core/redact.ts';
import { compressionType } from '../source/codecs/index.ts';
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
  /** Bytes of the original record's key, value and headers. */
  size: 'weir.source.size',
  /** Present when the value was cut to fit the topic: the original value's bytes. */
  truncated: 'weir.truncated',
  /** Present when the key was cut as well: the original key's bytes. */
  truncatedKey: 'weir.truncated.key',
} as const;

const MAX_DETAIL = 1000;
/**
 * Bytes of records per produce request at most. A broker refuses a record batch over its
 * message.max.bytes (1 MiB by default), and a batch of dead letters can be a whole insert batch.
 * Counted before compression: a compressed batch is no larger than that, give or take a few bytes
 * of codec framing, so the limit holds for every codec.
 */
export const MAX_SEND_BYTES = 512 * 1024;

/**
 * The largest dead letter written whole (key, value, headers, as `sizeOf` counts them); a larger
 * one keeps its headers and loses the end of its value (then of its key). A broker refuses a
 * record batch over the topic's max.message.bytes, 1 MiB (1048588) by default, and a refused
 * dead letter would stop the partition for good; 64 KiB below that leaves room for the record
 * batch framing and for codecs that grow incompressible bytes.
 */
export const MAX_DEAD_LETTER_BYTES = 1024 * 1024 - 64 * 1024;

export interface DeadLetterSink {
  write(letters: DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

export function toMessage(pipeline: string, l: DeadLetter, maxBytes = MAX_DEAD_LETTER_BYTES) {
  const headers: IHeaders = {};
  for (const [k, v] of Object.entries(l.source.headers)) if (v !== undefined) headers[k] = v;
  headers[DLQ_HEADERS.pipeline] = pipeline;
  headers[DLQ_HEADERS.stage] = l.stage;
  headers[DLQ_HEADERS.reason] = l.reason;
  // The detail is an error's text, which may quote a URL with its credentials.
  headers[DLQ_HEADERS.detail] = redact(l.detail).slice(0, MAX_DETAIL);
  headers[DLQ_HEADERS.topic] = l.source.topic;
  headers[DLQ_HEADERS.partition] = String(l.source.partition);
  headers[DLQ_HEADERS.offset] = l.source.offset;
  headers[DLQ_HEADERS.timestamp] = String(l.source.timestamp);
  headers[DLQ_HEADERS.size] = String(recordBytes(l.source));
  return truncated({ key: l.source.key, value: l.source.value, headers }, maxBytes);
}

interface Message {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** The message cut to `maxBytes`: the value's end first, then the key's, each marked. */
function truncated(m: Message, maxBytes: number): Message {
  if (sizeOf(m) <= maxBytes) return m;
  const headers: IHeaders = { ...m.headers, [DLQ_HEADERS.truncated]: String(m.value?.length ?? 0) };
  const withoutValue = sizeOf({ key: m.key, value: null, headers });
  if (withoutValue <= maxBytes)
    return { key: m.key, value: cut(m.value, maxBytes - withoutValue), headers };
  headers[DLQ_HEADERS.truncatedKey] = String(m.key?.length ?? 0);
  const bare = sizeOf({ key: null, value: null, headers });
  return { key: cut(m.key, maxBytes - bare), value: cut(m.value, 0), headers };
}

const cut = (b: Buffer | null, bytes: number): Buffer | null =>
  b === null ? null : b.subarray(0, Math.max(0, bytes));

/** About what a record takes in a record batch: key, value, headers and per-record overhead. */
function sizeOf(m: Message): number {
  let n = 64 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const [k, v] of Object.entries(m.headers))
    n += k.length + (typeof v === 'string' || Buffer.isBuffer(v) ? v.length : 0) + 8;
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

  private readonly metrics: Metrics | undefined;
  private readonly compression: CompressionTypes;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly pipeline: string,
    opts: {
      /** dead_letter.compression */
      compression: KafkaCompression;
      /** Counts what was written; the dedup side topic shares this writer without counting. */
      metrics?: Metrics;
    },
  ) {
    this.metrics = opts.metrics;
    this.compression = compressionType(opts.compression);
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
        compression: this.compression,
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
