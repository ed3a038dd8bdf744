import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import type { SourceRecord } from '../core/record.ts';
import { ATTR, BatchTracer, MAX_LINKS, preciseNow } from './batch-trace.ts';

const PRODUCER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PRODUCER_SPAN = '00f067aa0ba902b7';

const rec = (offset: number, headers: Record<string, string> = {}): SourceRecord => ({
  topic: 't',
  partition: 2,
  offset: String(offset),
  key: null,
  value: Buffer.from('{"id":1}'),
  headers,
  timestamp: 0,
});

const tp = (traceId: string, spanId: string, flags = '01') => ({
  traceparent: `00-${traceId}-${spanId}-${flags}`,
});

describe('batch trace', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = new BatchTracer(
    provider.getTracer('test'),
    { pipeline: 'orders', topic: 't', partition: 2 },
    new W3CTraceContextPropagator(),
  );
  const manager = new AsyncLocalStorageContextManager();
  before(() => context.setGlobalContextManager(manager.enable()));
  after(() => context.disable());
  beforeEach(() => exporter.reset());
  const byName = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
  const one = (name: string): ReadableSpan => {
    const found = byName(name);
    assert.equal(found.length, 1, `one ${name} span`);
    return found[0]!;
  };
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

  it('records the steps a stage reports (a lookup round) as children of its span', () => {
    const t0 = preciseNow();
    const batch = tracer.open(rec(20), t0);
    batch.fetch([rec(20), rec(21)], t0, [
      {
        stage: 'campaigns',
        start: t0,
        end: t0 + 5,
        received: 2,
        emitted: 2,
        dropped: 0,
        dead: 0,
        spans: [
          {
            name: 'lookup campaigns',
            start: t0 + 1,
            end: t0 + 4,
            attributes: { 'weir.lookup.keys': 2, 'weir.lookup.queried': 1 },
          },
        ],
      },
    ]);
    batch.end('committed');
    const round = one('lookup campaigns');
    assert.equal(parentOf(round), one('stage campaigns').spanContext().spanId);
    assert.equal(round.attributes['weir.lookup.keys'], 2);
    assert.equal(round.attributes['weir.lookup.queried'], 1);
  });

  it('builds batch → fetch → stage spans, then insert, dead_letter and commit', async () => {
    const t0 = preciseNow();
    const batch = tracer.open(rec(10), t0);
    batch.fetch([rec(10), rec(11), rec(12)], t0, [
      { stage: 'parse', start: t0, end: t0 + 1, received: 3, emitted: 2, dropped: 0, dead: 1 },
      {
        stage: 'transform[0].filter',
        start: t0 + 1,
        end: t0 + 2,
        received: 2,
        emitted: 1,
        dropped: 1,
        dead: 0,
      },
    ]);
    batch.fetch([rec(13)], t0 + 3, []);
    await batch.phase(
      'insert',
      SpanKind.CLIENT,
      { [ATTR.rows]: 2, [ATTR.token]: 'tok' },
      async () => {
        trace.getActiveSpan()?.addEvent('insert attempt failed');
        return Promise.resolve();
      },
    );
    await batch.phase('dead_letter', SpanKind.PRODUCER, { [ATTR.records]: 1 }, () =>
      Promise.resolve(),
    );
    await batch.phase('commit', SpanKind.CLIENT, { [ATTR.offset]: '14' }, () => Promise.resolve());
    batch.set({ [ATTR.rows]: 2 });
    batch.end('committed');
    batch.end('failed'); // ends once

    const root = one('batch');
    assert.equal(parentOf(root), undefined, 'a root without a producer context');
    assert.equal(root.kind, SpanKind.CONSUMER);
    assert.equal(root.attributes[ATTR.pipeline], 'orders');
    assert.equal(root.attributes[ATTR.topic], 't');
    assert.equal(root.attributes[ATTR.partition], '2');
    assert.equal(root.attributes[ATTR.offsetFirst], '10');
    assert.equal(root.attributes[ATTR.offsetLast], '13');
    assert.equal(root.attributes[ATTR.outcome], 'committed');
    assert.equal(root.attributes[ATTR.rows], 2);
    const fetches = byName('fetch');
    assert.equal(fetches.length, 2);
    assert.ok(fetches.every((f) => parentOf(f) === root.spanContext().spanId));
    assert.equal(fetches[0]!.attributes[ATTR.records], 3);
    const parse = one('stage parse');
    assert.equal(parentOf(parse), fetches[0]!.spanContext().spanId);
    assert.equal(parse.attributes[ATTR.deadLetters], 1);
    assert.equal(one('stage transform[0].filter').attributes[ATTR.dropped], 1);
    for (const name of ['insert', 'dead_letter', 'commit'])
      assert.equal(parentOf(one(name)), root.spanContext().spanId, name);
    assert.equal(one('insert').attributes[ATTR.token], 'tok');
    assert.equal(one('insert').events[0]?.name, 'insert attempt failed');
    assert.ok(
      exporter
        .getFinishedSpans()
        .every((s) => s.spanContext().traceId === root.spanContext().traceId),
    );
  });

  it("continues the first record's producer trace and links the others", () => {
    const first = rec(1, tp(PRODUCER_TRACE, PRODUCER_SPAN));
    const others = Array.from({ length: MAX_LINKS + 10 }, (_, i) =>
      rec(2 + i, tp(`${String(i).padStart(2, '0')}${'a'.repeat(30)}`, 'b'.repeat(16))),
    );
    const batch = tracer.open(first);
    batch.fetch([first, rec(1, tp(PRODUCER_TRACE, PRODUCER_SPAN)), ...others], preciseNow(), []);
    batch.end('committed');
    const root = one('batch');
    assert.equal(root.spanContext().traceId, PRODUCER_TRACE);
    assert.equal(parentOf(root), PRODUCER_SPAN);
    assert.equal(root.links.length, MAX_LINKS, 'links are capped');
    assert.equal(root.links[0]!.context.traceId, `00${'a'.repeat(30)}`);
  });

  it('records errors on the step and on the batch', async () => {
    const batch = tracer.open(rec(1));
    await assert.rejects(
      batch.phase('insert', SpanKind.CLIENT, {}, () => Promise.reject(new Error('table is gone'))),
      /table is gone/,
    );
    batch.end('failed', new Error('table is gone'));
    for (const name of ['insert', 'batch']) {
      const s = one(name);
      assert.equal(s.status.code, SpanStatusCode.ERROR, name);
      assert.equal(s.status.message, 'table is gone');
      assert.equal(s.events[0]?.name, 'exception');
    }
  });

  it('records errors without the credentials a message may quote', () => {
    const batch = tracer.open(rec(1));
    batch.end('failed', new Error('connect to http://weir:pw-in-url@ch:8123 failed'));
    const s = one('batch');
    assert.equal(s.status.message, 'connect to http://***@ch:8123 failed');
    const event = JSON.stringify(s.events);
    assert.match(event, /http:\/\/\*\*\*@ch:8123/);
    assert.doesNotMatch(event, /pw-in-url/);
  });

  it('does no work for unsampled batches', () => {
    const unsampled = rec(1, tp(PRODUCER_TRACE, PRODUCER_SPAN, '00'));
    const p = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    // Parent-based sampling (the default) follows the producer's "not sampled" flag.
    const batch = new BatchTracer(
      p.getTracer('t'),
      { pipeline: 'p', topic: 't', partition: 0 },
      new W3CTraceContextPropagator(),
    ).open(unsampled);
    assert.equal(batch.recording, false);
    batch.fetch([unsampled], preciseNow(), [
      { stage: 'parse', start: 0, end: 1, received: 1, emitted: 1, dropped: 0, dead: 0 },
    ]);
    batch.end('committed');
    assert.equal(exporter.getFinishedSpans().length, 0);
  });
});
