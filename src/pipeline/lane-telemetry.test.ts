// The lane's telemetry: one trace per batch with its steps, and the end-to-end latency measured
// from the event-time field when the pipeline names one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { FakeClock } from '../core/clock.ts';
import { WeirError } from '../core/errors.ts';
import type { DeadLetter, Row, SourceRecord } from '../core/record.ts';
import type { InsertBatch } from '../sink/clickhouse/sink.ts';
import { createParser } from '../stages/parse.ts';
import { sourceRecord } from '../stages/testkit.ts';
import { BatchTracer } from '../telemetry/batch-trace.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { PartitionLane, type LaneSink } from './lane.ts';

const NOW = 1_714_564_800_000;

const rec = (offset: number, value: unknown, timestamp = 0): SourceRecord =>
  sourceRecord(value, { topic: 't', partition: 0, offset: String(offset), timestamp });

function setup(opts: { eventTimeField?: string; failInsert?: boolean } = {}) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const metrics = createMetrics(new Registry(), { defaults: false });
  const clock = new FakeClock(NOW);
  const sink: LaneSink = {
    serialize: (row: Row) => `${JSON.stringify(row)}\n`,
    insert: (_b: InsertBatch): Promise<DeadLetter[]> =>
      opts.failInsert ? Promise.reject(new WeirError('table is gone')) : Promise.resolve([]),
  };
  const fatal: unknown[] = [];
  const lane = new PartitionLane({
    pipeline: 'p',
    topic: 't',
    partition: 0,
    stages: [createParser({ id: 'string', at: 'datetime' })],
    sink,
    deadLetters: { write: () => Promise.resolve(), close: () => Promise.resolve() },
    commit: () => Promise.resolve(),
    limits: { max_rows: 100, max_bytes: 1_000_000, max_delay_ms: 10_000 },
    metrics,
    logger: createLogger({ level: 'silent' }),
    clock,
    tracer: new BatchTracer(
      provider.getTracer('weir'),
      { pipeline: 'p', topic: 't', partition: 0 },
      new W3CTraceContextPropagator(),
    ),
    eventTimeField: opts.eventTimeField,
    onAccepted: () => undefined,
    onSettled: () => undefined,
    onFatal: (err) => fatal.push(err),
  });
  return { lane, exporter, metrics, fatal };
}

/** Sum of the observed end-to-end latencies, in seconds. */
const latency = async (metrics: ReturnType<typeof createMetrics>) =>
  (await metrics.endToEndLatency.get()).values.find(
    (v) => v.metricName === 'weir_end_to_end_latency_seconds_sum',
  )?.value;

describe('PartitionLane telemetry', () => {
  it('traces a batch: fetch with a span per stage, dead_letter, insert, commit', async () => {
    const t = setup();
    await t.lane.accept([rec(0, { id: 'a', at: 1 }), rec(1, 'nope')]);
    await t.lane.accept([rec(2, { id: 'b', at: 1 })]);
    await t.lane.drain();
    const spans = t.exporter.getFinishedSpans();
    const names = spans.map((s) => s.name).sort();
    assert.deepEqual(names, [
      'batch',
      'commit',
      'dead_letter',
      'fetch',
      'fetch',
      'insert',
      'stage parse',
      'stage parse',
    ]);
    const batch = spans.find((s) => s.name === 'batch')!;
    assert.equal(batch.attributes['weir.outcome'], 'committed');
    assert.equal(batch.attributes['weir.offset.first'], '0');
    assert.equal(batch.attributes['weir.offset.last'], '2');
    assert.equal(batch.attributes['weir.rows'], 2);
    assert.equal(batch.attributes['weir.dead_letters'], 1);
  });

  it('records a failed insert on the insert and batch spans', async () => {
    const t = setup({ failInsert: true });
    await t.lane.accept([rec(0, { id: 'a', at: 1 })]);
    await t.lane.drain();
    assert.equal(t.fatal.length, 1);
    const spans = t.exporter.getFinishedSpans();
    for (const name of ['insert', 'batch']) {
      const s = spans.find((x) => x.name === name)!;
      assert.equal(s.status.code, SpanStatusCode.ERROR, name);
      assert.equal(s.status.message, 'table is gone');
    }
    assert.equal(spans.find((s) => s.name === 'batch')!.attributes['weir.outcome'], 'failed');
  });

  it('measures end-to-end latency from the Kafka timestamp by default', async () => {
    const t = setup();
    await t.lane.accept([rec(0, { id: 'a', at: NOW - 5_000 }, NOW - 10_000)]);
    await t.lane.drain();
    assert.equal(await latency(t.metrics), 10);
  });

  it('measures it from the event-time field when one is named (Kafka time when it is null)', async () => {
    const t = setup({ eventTimeField: 'at' });
    await t.lane.accept([rec(0, { id: 'a', at: NOW - 5_000 }, NOW - 10_000)]);
    await t.lane.drain();
    assert.equal(await latency(t.metrics), 5);
  });
});
