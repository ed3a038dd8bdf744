// Record builders shared by the stage tests and the benchmark.
import type { Envelope, Row, SourceRecord } from '../core/record.ts';

export function sourceRecord(value: unknown, over: Partial<SourceRecord> = {}): SourceRecord {
  const bytes =
    value === null || Buffer.isBuffer(value)
      ? value
      : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  return {
    topic: 'events',
    partition: 3,
    offset: '42',
    key: null,
    value: bytes,
    headers: {},
    timestamp: 1714564800000,
    ...over,
  };
}

export function envelope(row: Row, source: SourceRecord = sourceRecord({})): Envelope {
  return { source, row };
}
