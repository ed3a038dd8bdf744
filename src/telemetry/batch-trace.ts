// One trace per batch: a `batch` span from the first record taken to the offset commit, with
// children `fetch` (one per Kafka fetch taken into the batch, with one `stage <name>` child per
// stage), `insert`, `dead_letter`, `checkpoint` and `commit`. The batch continues the producer's
// trace when its first record carries a trace context in its headers (W3C traceparent, or what
// OTEL_PROPAGATORS says); other records' contexts become span links. No per-record spans: the
// per-record cost is one header lookup, and only while the batch is sampled.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  propagation,
  trace,
  context as otelContext,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import type { SourceRecord, StageSpan } from '../core/record.ts';
import { redact } from '../core/redact.ts';

/** Span attribute names (OpenTelemetry semantic conventions where one fits). */
export const ATTR = {
  pipeline: 'weir.pipeline',
  system: 'messaging.system',
  topic: 'messaging.destination.name',
  partition: 'messaging.destination.partition.id',
  offsetFirst: 'weir.offset.first',
  offsetLast: 'weir.offset.last',
  records: 'weir.records',
  rows: 'weir.rows',
  bytes: 'weir.bytes',
  deadLetters: 'weir.dead_letters',
  dropped: 'weir.dropped',
  token: 'weir.insert.token',
  outcome: 'weir.outcome',
  stage: 'weir.stage',
  received: 'weir.records.received',
  emitted: 'weir.records.emitted',
  dbSystem: 'db.system.name',
  table: 'db.collection.name',
  offset: 'weir.offset.committed',
} as const;

/** Most span links per batch (records beyond the first carrying other trace contexts). */
export const MAX_LINKS = 32;

/** How one stage went over one fetch, collected by runChain for the stage spans. */
export interface StageTiming {
  stage: string;
  /** Epoch milliseconds (fractional). */
  start: number;
  end: number;
  received: number;
  emitted: number;
  dropped: number;
  dead: number;
  /** Steps inside the stage's run (a lookup's rounds), each a child span of the stage's. */
  spans?: readonly StageSpan[];
}

export type BatchOutcome = 'committed' | 'commit_failed' | 'discarded' | 'failed';

type HeaderValue = Buffer | string | undefined;
type Headers = Readonly<Record<string, HeaderValue | HeaderValue[]>>;

const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    if (v === undefined) return undefined;
    if (Array.isArray(v)) return v.map((x) => String(x ?? ''));
    return typeof v === 'string' ? v : v.toString('utf8');
  },
};

/** Milliseconds since the epoch with sub-millisecond precision, for span times. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

export interface BatchTraceScope {
  pipeline: string;
  topic: string;
  partition: number;
  table?: string;
}

/** Opens batch traces for one lane. */
export class BatchTracer {
  constructor(
    private readonly tracer: Tracer,
    private readonly scope: BatchTraceScope,
    private readonly propagator: TextMapPropagator = propagation,
  ) {}

  /** Starts the `batch` span for a batch whose first record is `first`. */
  open(first: SourceRecord, startTime: number = preciseNow()): BatchTrace {
    const parent = this.extract(first) ?? ROOT_CONTEXT;
    const { pipeline, topic, partition } = this.scope;
    const span = this.tracer.startSpan(
      'batch',
      {
        kind: SpanKind.CONSUMER,
        startTime,
        attributes: {
          [ATTR.pipeline]: pipeline,
          [ATTR.system]: 'kafka',
          [ATTR.topic]: topic,
          [ATTR.partition]: String(partition),
          [ATTR.offsetFirst]: first.offset,
        },
      },
      parent,
    );
    return new BatchTrace(this, span, trace.setSpan(parent, span), trace.getSpanContext(parent));
  }

  /** The trace context in a record's headers, if it carries one. */
  extract(record: SourceRecord): Context | undefined {
    const headers = record.headers as Headers;
    if (!this.propagator.fields().some((f) => headers[f] !== undefined)) return undefined;
    const ctx = this.propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    const sc = trace.getSpanContext(ctx);
    return sc && trace.isSpanContextValid(sc) ? ctx : undefined;
  }

  startChild(
    name: string,
    parent: Context,
    kind: SpanKind,
    attributes: Attributes,
    startTime?: number,
  ): Span {
    return this.tracer.startSpan(name, { kind, attributes, startTime }, parent);
  }

  get table(): string | undefined {
    return this.scope.table;
  }
}

export class BatchTrace {
  private links = 0;
  private ended = false;

  constructor(
    private readonly tracer: BatchTracer,
    readonly span: Span,
    /** The context with the batch span active: run the batch's work (and logs) inside it. */
    readonly context: Context,
    /** The producer's span the batch continues, if any. */
    private readonly producer: SpanContext | undefined,
  ) {}

  get recording(): boolean {
    return this.span.isRecording();
  }

  /**
   * Records one fetch taken into the batch, after the fact: the `fetch` span and a child per
   * stage, from the timings runChain collected.
   */
  fetch(records: readonly SourceRecord[], start: number, stages: readonly StageTiming[]): void {
    if (!this.recording || records.length === 0) return;
    let bytes = 0;
    for (const r of records) bytes += r.value?.length ?? 0;
    const fetch = this.tracer.startChild(
      'fetch',
      this.context,
      SpanKind.INTERNAL,
      {
        [ATTR.offsetFirst]: records[0]!.offset,
        [ATTR.offsetLast]: records[records.length - 1]!.offset,
        [ATTR.records]: records.length,
        [ATTR.bytes]: bytes,
      },
      start,
    );
    const fetchCtx = trace.setSpan(this.context, fetch);
    for (const t of stages) {
      const s = this.tracer.startChild(
        `stage ${t.stage}`,
        fetchCtx,
        SpanKind.INTERNAL,
        {
          [ATTR.stage]: t.stage,
          [ATTR.received]: t.received,
          [ATTR.emitted]: t.emitted,
          [ATTR.dropped]: t.dropped,
          [ATTR.deadLetters]: t.dead,
        },
        t.start,
      );
      const stageCtx = trace.setSpan(fetchCtx, s);
      for (const step of t.spans ?? []) {
        const child = this.tracer.startChild(
          step.name,
          stageCtx,
          SpanKind.INTERNAL,
          step.attributes,
          step.start,
        );
        child.end(step.end);
      }
      s.end(t.end);
    }
    fetch.end(stages.at(-1)?.end ?? preciseNow());
    this.span.setAttribute(ATTR.offsetLast, records[records.length - 1]!.offset);
    this.addLinks(records);
  }

  private addLinks(records: readonly SourceRecord[]): void {
    if (this.links >= MAX_LINKS) return;
    const links: Link[] = [];
    for (const r of records) {
      const ctx = this.tracer.extract(r);
      if (!ctx) continue;
      const sc = trace.getSpanContext(ctx)!;
      // The first record's context is the parent already; more records of that producer span
      // add nothing.
      if (sc.spanId === this.producer?.spanId) continue;
      links.push({ context: sc });
      if (this.links + links.length >= MAX_LINKS) break;
    }
    if (links.length === 0) return;
    this.links += links.length;
    this.span.addLinks(links);
  }

  /**
   * Runs one step of the flush (`insert`, `dead_letter`, `checkpoint`, `commit`) in a child span
   * that is active while it runs; an error is recorded on the span and rethrown.
   */
  async phase<T>(
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    fn: (span: Span) => Promise<T>,
  ): Promise<T> {
    const span = this.tracer.startChild(name, this.context, kind, attributes);
    try {
      return await otelContext.with(trace.setSpan(this.context, span), () => fn(span));
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  set(attributes: Attributes): void {
    if (this.recording) this.span.setAttributes(attributes);
  }

  /** Ends the batch span once; a failure is recorded on it. */
  end(outcome: BatchOutcome, err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.span.setAttribute(ATTR.outcome, outcome);
    if (err !== undefined) recordError(this.span, err);
    this.span.end();
  }
}

export function recordError(span: Span, err: unknown): void {
  const message = recordException(span, err);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * Adds the `exception` event, its message and stack redacted (core/redact.ts): a library's message
 * may quote a URL with its credentials. Returns the redacted message.
 */
export function recordException(span: Span, err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const message = redact(e.message);
  span.recordException({
    name: e.name,
    message,
    ...(e.stack !== undefined && { stack: redact(e.stack) }),
  });
  return message;
}
