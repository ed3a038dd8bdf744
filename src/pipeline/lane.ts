// One lane per assigned topic-partition. Records pass through the stages in offset order and are
// cut into batches over contiguous offset ranges. Batches are flushed one at a time, in order:
// dead letters first, then the insert, then the offset commit — so an offset is committed only
// when every record at or below it is in ClickHouse, in the dead-letter topic, or dropped.
import { SpanKind, context } from '@opentelemetry/api';
import type { DeadLetter, Envelope, Row, SourceRecord, StageOutput } from '../core/record.ts';
import type { Clock } from '../core/clock.ts';
import type { DeadLetterSink } from '../deadletter/writer.ts';
import type { InsertBatch } from '../sink/clickhouse/sink.ts';
import type { Stage } from '../stages/stage.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import {
  ATTR,
  BatchTracer,
  preciseNow,
  type BatchTrace,
  type StageTiming,
} from '../telemetry/batch-trace.ts';
import { weirTracer } from '../telemetry/tracing.ts';
import { RecordError, describeError } from '../core/errors.ts';
import { LedgerConflictError, type PartitionLedger } from '../state/ledger.ts';
import { countReasons, runChain } from './stages.ts';

export interface BatchLimits {
  max_rows: number;
  max_bytes: number;
  max_delay_ms: number;
}

/** What a lane needs from the sink (the ClickHouse sink; a fake in unit tests). */
export interface LaneSink {
  serialize(row: Row): string;
  /** Inserts, retrying as needed; returns the rows the server rejected as dead letters. */
  insert(batch: InsertBatch, token?: string): Promise<DeadLetter[]>;
}

export interface LaneDeps {
  pipeline: string;
  topic: string;
  partition: number;
  stages: readonly Stage[];
  sink: LaneSink;
  deadLetters: DeadLetterSink;
  commit: (topic: string, partition: number, nextOffset: string) => Promise<void>;
  limits: BatchLimits;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /**
   * The partition's batch ledger (loaded), when exactly-once is on: batches are recorded as
   * pending before anything is written, replays re-cut the pending range exactly, and records at
   * or below the high-water mark are skipped.
   */
  ledger?: PartitionLedger;
  /** The insert deduplication token of a batch (with the ledger). */
  tokenFor?: (from: string, to: string) => string;
  /** Opens this lane's batch traces (batch → fetch → stages, insert, commit); default: the global tracer. */
  tracer?: BatchTracer;
  /** Output field with the event time for the end-to-end latency; default: the Kafka timestamp. */
  eventTimeField?: string;
  /** Called when records enter the lane, with their size as read (key and value bytes). */
  onAccepted: (records: number, bytes: number) => void;
  /** Called whenever records leave the lane (acknowledged or discarded), with their size. */
  onSettled: (records: number, bytes: number) => void;
  /** A batch could not be delivered for a reason retrying will not fix. */
  onFatal: (err: unknown) => void;
  /**
   * Another agent wrote this partition's batch ledger: the partition went to it in a rebalance
   * this agent has not been told of yet. Default: {@link onFatal}.
   */
  onLost?: (err: LedgerConflictError) => void;
  /**
   * The memo of the pending batch from before a restart (see LaneMemo): handed to the stages
   * before its range is replayed, so the replay carries the rows of the first attempt.
   */
  replayMemo?: unknown;
  /** Stop and restart fetching this partition (the source's); default: nothing to stop. */
  pauseFetch?: () => void;
  resumeFetch?: () => void;
}

interface Batch {
  lines: string[];
  sources: SourceRecord[];
  dead: DeadLetter[];
  bytes: number;
  records: number;
  firstOffset: string;
  lastOffset: string;
  openedAt: number;
  /** Per line: the record's event time (epoch ms) for the end-to-end latency. */
  times: number[];
  trace?: BatchTrace;
  /**
   * With a stage that holds records: per line, its record's offset (lines of held records arrive
   * later, and are put back in offset order when the batch is sealed), and the fetched chunks, the
   * only places a batch can be split.
   */
  lineOffsets: number[];
  chunks: { first: string; last: string; records: number }[];
}

/** Ingest times of fetched chunks: records in `first`…`last` were taken in at `at`. */
interface IngestSpan {
  first: string;
  last: string;
  at: number;
}

/**
 * What a batch's records used from the outside world, stored with the pending batch (exactly-once
 * only): per stage with a memo, what it captured; the chunks' ingest times when a stage reads them.
 */
export interface LaneMemo {
  stages?: Record<string, unknown>;
  ingest?: IngestSpan[];
}

const newBatch = (now: number): Batch => ({
  lines: [],
  sources: [],
  dead: [],
  bytes: 0,
  records: 0,
  firstOffset: '',
  lastOffset: '',
  openedAt: now,
  times: [],
  lineOffsets: [],
  chunks: [],
});

export class PartitionLane {
  private open: Batch | undefined;
  private readonly sealed: Batch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private discarded = false;
  /** Highest offset taken into the lane; redelivered records at or below it are skipped. */
  private lastAccepted: bigint = -1n;
  /** The offset after records kafkajs passed over without handing them in (see passOver). */
  private passedTo: bigint = -1n;
  committed: string | undefined;
  inFlight = 0;
  /** Key and value bytes of the records in flight (what backpressure in bytes counts). */
  private inFlightBytes = 0;
  /**
   * Per take, in offset order: its last offset and its records' bytes. Batches are flushed in
   * offset order and end at a take's end, so a flushed batch releases the takes up to its end.
   */
  private readonly takes: { last: bigint; bytes: number }[] = [];
  private paused = false;

  /** The last offset of a pending batch from before a restart, still to be re-cut exactly. */
  private replayTo: bigint | undefined;
  /** Ingest times of the chunks taken since the last flushed batch (when a stage reads them). */
  private readonly ingest: IngestSpan[] = [];
  /** Ingest times of the pending batch's records, from its memo, for its replay. */
  private replayIngest: IngestSpan[] = [];
  /** With exactly-once, whether the memo records ingest times / stages' captures. */
  private readonly memoIngest: boolean;
  private readonly memoStages: Stage[];

  private readonly tracer: BatchTracer;
  /** The stage that holds records back (the join), if any. */
  private readonly holder: Stage | undefined;
  /** The end of a replayed batch: the next cut must be exactly here. */
  private cutAt: bigint | undefined;
  /** A seal was asked for while held records kept the batch open (all: of everything). */
  private sealWanted: 'all' | 'some' | undefined;

  constructor(private readonly d: LaneDeps) {
    this.holder = d.stages.find((s) => s.heldFrom !== undefined);
    this.holder?.setRelease?.(d.topic, d.partition, (out) => this.release(out));
    this.tracer =
      d.tracer ??
      new BatchTracer(weirTracer(), {
        pipeline: d.pipeline,
        topic: d.topic,
        partition: d.partition,
      });
    this.memoIngest = d.stages.some((s) => s.usesIngestTime === true);
    this.memoStages = d.stages.filter((s) => s.memo !== undefined);
    const entry = d.ledger?.current;
    if (entry) {
      // Everything up to the high-water mark is in ClickHouse already.
      this.lastAccepted = BigInt(entry.hw);
      if (entry.pending) {
        this.replayTo = BigInt(entry.pending.to);
        this.restoreMemo(d.replayMemo as LaneMemo | undefined);
      }
    }
  }

  /** Hands a pending batch's memo back to the stages (and keeps its ingest times) for its replay. */
  private restoreMemo(memo: LaneMemo | undefined): void {
    if (!memo) return;
    this.replayIngest = memo.ingest ?? [];
    for (const stage of this.memoStages) {
      const data = memo.stages?.[stage.name];
      if (data !== undefined) stage.memo!.restore(this.d.topic, this.d.partition, data);
    }
  }

  /** The memo of the batch over `from`…`to`, before it is recorded as pending. */
  private captureMemo(from: string, to: string): LaneMemo | undefined {
    if (!this.memoIngest && this.memoStages.length === 0) return undefined;
    const memo: LaneMemo = {};
    if (this.memoIngest) {
      const lo = BigInt(from);
      const hi = BigInt(to);
      memo.ingest = this.ingest.filter((c) => BigInt(c.last) >= lo && BigInt(c.first) <= hi);
    }
    if (this.memoStages.length > 0) {
      memo.stages = {};
      for (const stage of this.memoStages)
        memo.stages[stage.name] = stage.memo!.capture(this.d.topic, this.d.partition, from, to);
    }
    return memo;
  }

  /** Sets each record's ingest time: the replayed batch's recorded one, else now. */
  private stampIngest(envelopes: Envelope[]): void {
    const now = this.d.clock.now();
    if (this.replayIngest.length === 0) {
      for (const env of envelopes) env.ingestedAt = now;
    } else {
      for (const env of envelopes) {
        const o = BigInt(env.source.offset);
        const span = this.replayIngest.find((c) => BigInt(c.first) <= o && o <= BigInt(c.last));
        env.ingestedAt = span?.at ?? now;
      }
    }
    if (!this.memoIngest || this.d.ledger === undefined) return;
    // Recorded per record run of one time, so a replay cut differently finds each record's own.
    let start = 0;
    for (let i = 1; i <= envelopes.length; i++) {
      if (i < envelopes.length && envelopes[i]!.ingestedAt === envelopes[start]!.ingestedAt)
        continue;
      this.ingest.push({
        first: envelopes[start]!.source.offset,
        last: envelopes[i - 1]!.source.offset,
        at: envelopes[start]!.ingestedAt!,
      });
      start = i;
    }
  }

  get topic(): string {
    return this.d.topic;
  }

  get partition(): number {
    return this.d.partition;
  }

  get key(): string {
    return `${this.d.topic}/${this.d.partition}`;
  }

  /** Fetching of this partition is paused (backpressure). */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Pauses fetching this partition; false when it already was. */
  pause(): boolean {
    if (this.paused) return false;
    this.paused = true;
    this.d.pauseFetch?.();
    return true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.d.resumeFetch?.();
  }

  /** Takes a fetched batch (in offset order). Resolves once the records are in a batch. */
  async accept(records: SourceRecord[]): Promise<void> {
    if (this.discarded) return;
    // After a rebalance that kept this partition, Kafka redelivers from the committed offset;
    // records already in the lane are on their way and must not be taken twice.
    // Records come in offset order: when the first is fresh, all are (no BigInt per record).
    const first = records[0];
    if (first === undefined) return;
    const fresh =
      BigInt(first.offset) > this.lastAccepted
        ? records
        : records.filter((r) => BigInt(r.offset) > this.lastAccepted);
    if (fresh.length === 0) return;
    if (this.replayTo !== undefined) {
      // Cut the batch that was pending at the crash over exactly the same range, so it carries
      // the same rows and the same insert token and the server drops it if it already landed.
      const to = this.replayTo;
      const head = fresh.filter((r) => BigInt(r.offset) <= to);
      const tail = fresh.filter((r) => BigInt(r.offset) > to);
      if (head.length > 0) await this.take(head, false);
      if (BigInt(this.lastAccepted) >= to) {
        this.replayTo = undefined;
        if (this.holder) this.cutAt = to;
        this.seal();
      }
      if (tail.length > 0) await this.take(tail, true);
      return;
    }
    await this.take(fresh, true);
  }

  private async take(fresh: SourceRecord[], mayCut: boolean): Promise<void> {
    if (this.discarded) return;
    this.lastAccepted = BigInt(fresh[fresh.length - 1]!.offset);
    let bytes = 0;
    for (const r of fresh) bytes += (r.value?.length ?? 0) + (r.key?.length ?? 0);
    this.takes.push({ last: this.lastAccepted, bytes });
    this.inFlight += fresh.length;
    this.inFlightBytes += bytes;
    this.d.onAccepted(fresh.length, bytes);
    const { pipeline, metrics } = this.d;
    const envelopes: Envelope[] = fresh.map((source) => ({ source, row: {} }));
    this.stampIngest(envelopes);
    const started = preciseNow();
    const timings: StageTiming[] = [];
    const res = await runChain(this.d.stages, envelopes, metrics, pipeline, timings);
    if (this.discarded) return;
    const batch = (this.open ??= newBatch(this.d.clock.now()));
    batch.trace ??= this.tracer.open(fresh[0]!, started);
    batch.trace.fetch(fresh, started, timings);
    batch.dead.push(...res.dead);
    this.addRows(batch, res.out);
    if (batch.records === 0) batch.firstOffset = fresh[0]!.offset;
    batch.records += fresh.length;
    batch.lastOffset = fresh[fresh.length - 1]!.offset;
    if (this.holder)
      batch.chunks.push({
        first: fresh[0]!.offset,
        last: batch.lastOffset,
        records: fresh.length,
      });
    if (!mayCut) return; // the replayed range is sealed by accept() at its exact end
    const { max_rows, max_bytes, max_delay_ms } = this.d.limits;
    if (batch.lines.length >= max_rows || batch.bytes >= max_bytes) this.seal(false);
    else this.timer ??= setTimeout(() => this.seal(false), max_delay_ms);
  }

  /** Serializes rows into the batch; a row the sink cannot encode becomes a dead letter. */
  private addRows(batch: Batch, rows: readonly Envelope[]): void {
    const { pipeline, metrics } = this.d;
    const sinkDead: DeadLetter[] = [];
    const offsets = this.holder !== undefined;
    for (const env of rows) {
      let line: string;
      try {
        line = this.d.sink.serialize(env.row);
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        sinkDead.push({
          source: env.source,
          stage: 'sink',
          reason: err.reason,
          detail: err.message,
        });
        continue;
      }
      batch.lines.push(line);
      batch.sources.push(env.source);
      batch.times.push(this.eventTime(env));
      if (offsets) batch.lineOffsets.push(Number(env.source.offset));
      batch.bytes += line.length;
    }
    if (sinkDead.length > 0) {
      batch.dead.push(...sinkDead);
      countReasons(metrics, pipeline, 'sink', [], sinkDead);
    }
    metrics.stageReceived.inc({ pipeline, stage: 'sink' }, rows.length);
  }

  /** Output of held records, decided now (their records are in the open batch). */
  private release(out: StageOutput): void {
    if (this.discarded) return;
    const { pipeline, metrics } = this.d;
    const stage = this.holder!.name;
    metrics.stageEmitted.inc({ pipeline, stage }, out.out.length);
    countReasons(metrics, pipeline, stage, out.dropped, out.dead);
    // The records may still be on their way into the batch (the stage decided them while their
    // fetch was being processed): their rows wait in the open batch for their chunk.
    const batch = (this.open ??= newBatch(this.d.clock.now()));
    batch.dead.push(...out.dead);
    this.addRows(batch, out.out);
    if (this.sealWanted) this.seal(this.sealWanted === 'all');
  }

  /**
   * Closes the open batch and queues it for flushing. With held records, what cannot be sealed
   * yet is sealed as soon as it is decided when `all` (drain, pause), else in its own time.
   */
  seal(all = true): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.holder) return this.sealDecided(all);
    const batch = this.open;
    this.open = undefined;
    if (!batch || batch.records === 0) return;
    this.sealed.push(batch);
    this.flushing ??= this.flushLoop();
  }

  /**
   * With held records: seals the longest run of whole chunks whose records are all decided (or
   * exactly up to a replayed batch's end), keeping the rest open; its lines in offset order, so
   * a batch's rows never depend on when its held records were decided.
   */
  private sealDecided(all: boolean): void {
    this.sealWanted = undefined;
    const batch = this.open;
    if (!batch || batch.records === 0) return;
    const held = this.holder!.heldFrom!(this.d.topic, this.d.partition);
    const frontier = held === undefined ? undefined : BigInt(held);
    let cut = -1;
    for (let i = 0; i < batch.chunks.length; i++) {
      const last = BigInt(batch.chunks[i]!.last);
      if (frontier !== undefined && last >= frontier) break;
      if (this.cutAt !== undefined && last > this.cutAt) break;
      cut = i;
      if (this.cutAt !== undefined && last === this.cutAt) break;
    }
    const ready =
      cut >= 0 && (this.cutAt === undefined || BigInt(batch.chunks[cut]!.last) === this.cutAt);
    if (!ready) {
      this.sealWanted = all ? 'all' : 'some';
      return;
    }
    this.cutAt = undefined;
    const head = this.split(batch, cut);
    sortByOffset(head);
    this.sealed.push(head);
    this.flushing ??= this.flushLoop();
    // What stays open is sealed in its turn: once decided, or by size or its own delay.
    if (this.open && this.open.records > 0) {
      if (all) this.sealWanted = 'all';
      else this.timer = setTimeout(() => this.seal(false), this.d.limits.max_delay_ms);
    }
  }

  /** Splits the open batch after chunk `cut`: returns the head, leaves the tail open. */
  private split(batch: Batch, cut: number): Batch {
    const lastChunk = batch.chunks[cut]!;
    const limit = Number(lastChunk.last);
    const head = newBatch(batch.openedAt);
    const tail = newBatch(this.d.clock.now());
    head.trace = batch.trace;
    for (let i = 0; i < batch.lines.length; i++) {
      const into = batch.lineOffsets[i]! <= limit ? head : tail;
      into.lines.push(batch.lines[i]!);
      into.sources.push(batch.sources[i]!);
      into.times.push(batch.times[i]!);
      into.lineOffsets.push(batch.lineOffsets[i]!);
      into.bytes += batch.lines[i]!.length;
    }
    for (const d of batch.dead) (Number(d.source.offset) <= limit ? head : tail).dead.push(d);
    head.chunks = batch.chunks.slice(0, cut + 1);
    tail.chunks = batch.chunks.slice(cut + 1);
    for (const [b, chunks] of [
      [head, head.chunks],
      [tail, tail.chunks],
    ] as const) {
      b.records = chunks.reduce((n, c) => n + c.records, 0);
      b.firstOffset = chunks[0]?.first ?? '';
      b.lastOffset = chunks.at(-1)?.last ?? '';
    }
    // The tail may hold rows released for records whose chunk is still on its way in.
    this.open = tail.records > 0 || tail.lines.length > 0 ? tail : undefined;
    return head;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (!this.discarded) {
        const batch = this.sealed[0];
        if (batch) {
          await this.traced(batch);
          this.sealed.shift();
        } else if (!(await this.commitPassedOver()) && this.sealed.length === 0) break;
      }
    } catch (err) {
      if (this.discarded) return;
      if (err instanceof LedgerConflictError && this.d.onLost) this.d.onLost(err);
      else this.d.onFatal(err);
    } finally {
      this.flushing = undefined;
    }
  }

  /** Flushes a batch inside its trace (so its logs carry the trace id) and ends the trace. */
  private async traced(batch: Batch): Promise<void> {
    const t = batch.trace;
    if (!t) return this.flush(batch);
    try {
      await context.with(t.context, async () => {
        await this.flush(batch);
        const committed = this.committed === (BigInt(batch.lastOffset) + 1n).toString();
        t.end(this.discarded ? 'discarded' : committed ? 'committed' : 'commit_failed');
        this.d.logger.debug(
          {
            partition: this.key,
            offsets: `${batch.firstOffset}-${batch.lastOffset}`,
            records: batch.records,
            rows: batch.lines.length,
          },
          'batch committed',
        );
      });
    } catch (err) {
      t.end('failed', err);
      throw err;
    }
  }

  /** One step of a flush in a child span of the batch's trace. */
  private step<T>(
    batch: Batch,
    name: string,
    kind: SpanKind,
    attributes: Record<string, string | number>,
    fn: () => Promise<T>,
  ): Promise<T> {
    return batch.trace ? batch.trace.phase(name, kind, attributes, fn) : fn();
  }

  private eventTime(env: Envelope): number {
    const field = this.d.eventTimeField;
    if (field === undefined) return env.source.timestamp;
    const v = env.row[field];
    return typeof v === 'number' && Number.isFinite(v) ? v : env.source.timestamp;
  }

  private async flush(batch: Batch): Promise<void> {
    const { pipeline, metrics, sink, logger, ledger } = this.d;
    let token: string | undefined;
    if (ledger) {
      token = this.d.tokenFor?.(batch.firstOffset, batch.lastOffset);
      const memo = this.captureMemo(batch.firstOffset, batch.lastOffset);
      await ledger.begin(batch.firstOffset, batch.lastOffset, token ?? '', memo);
      // Ingest times up to the batch's end are recorded (or were, before a restart).
      const last = BigInt(batch.lastOffset);
      while (this.ingest.length > 0 && BigInt(this.ingest[0]!.last) <= last) this.ingest.shift();
      if (this.replayIngest.length > 0 && BigInt(this.replayIngest.at(-1)!.last) <= last)
        this.replayIngest = [];
    }
    // Dead letters of a replayed batch were already acknowledged before the crash: not again.
    if (!ledger?.current.pending?.deadLettersWritten) {
      if (batch.dead.length > 0)
        await this.step(
          batch,
          'dead_letter',
          SpanKind.PRODUCER,
          { [ATTR.records]: batch.dead.length },
          () => this.d.deadLetters.write(batch.dead),
        );
      if (ledger && batch.dead.length > 0) await ledger.markDeadLettersWritten();
    }
    // State (dedup keys, join buffers) is durable before the rows land and before the offsets
    // are committed; a replay of the same records is recognised by their origin.
    if (this.d.stages.some((s) => s.checkpoint !== undefined))
      await this.step(batch, 'checkpoint', SpanKind.INTERNAL, {}, async () => {
        const at = { topic: this.d.topic, partition: this.d.partition, last: batch.lastOffset };
        for (const stage of this.d.stages) if (stage.checkpoint) await stage.checkpoint(at);
      });
    const insert = () =>
      sink.insert({ lines: batch.lines, sources: batch.sources, bytes: batch.bytes }, token);
    const rejected =
      batch.lines.length === 0
        ? []
        : await this.step(
            batch,
            'insert',
            SpanKind.CLIENT,
            {
              [ATTR.dbSystem]: 'clickhouse',
              [ATTR.rows]: batch.lines.length,
              [ATTR.bytes]: batch.bytes,
              ...(token ? { [ATTR.token]: token } : {}),
            },
            insert,
          );
    const inserted = batch.lines.length - rejected.length;
    if (rejected.length > 0) {
      countReasons(metrics, pipeline, 'sink', [], rejected);
      logger.warn(
        { partition: this.key, rows: rejected.length },
        'ClickHouse rejected rows; dead-lettering them',
      );
    }
    if (rejected.length > 0)
      await this.step(
        batch,
        'dead_letter',
        SpanKind.PRODUCER,
        { [ATTR.records]: rejected.length },
        () => this.d.deadLetters.write(rejected),
      );
    batch.trace?.set({
      [ATTR.records]: batch.records,
      [ATTR.rows]: inserted,
      [ATTR.bytes]: batch.bytes,
      [ATTR.deadLetters]: batch.dead.length + rejected.length,
      [ATTR.dropped]: batch.records - batch.lines.length - batch.dead.length,
      ...(token ? { [ATTR.token]: token } : {}),
    });
    if (ledger && !this.discarded) await ledger.complete(batch.lastOffset);
    if (this.discarded) return;
    metrics.stageEmitted.inc({ pipeline, stage: 'sink' }, inserted);
    metrics.delivered.inc({ pipeline }, inserted);
    metrics.deliveryTotal.inc({ pipeline }, inserted + rejected.length);
    const now = this.d.clock.now();
    const rejectedSet = rejected.length > 0 ? new Set(rejected.map((r) => r.source)) : undefined;
    for (let i = 0; i < batch.sources.length; i++)
      if (!rejectedSet?.has(batch.sources[i]!))
        metrics.endToEndLatency.observe({ pipeline }, Math.max(0, now - batch.times[i]!) / 1000);
    const next = (BigInt(batch.lastOffset) + 1n).toString();
    await this.commitTo(next, (commit) =>
      this.step(batch, 'commit', SpanKind.CLIENT, { [ATTR.offset]: next }, commit),
    );
    this.inFlight -= batch.records;
    this.d.onSettled(batch.records, this.releaseBytes(BigInt(batch.lastOffset)));
  }

  /** Bytes of the takes up to `last` (a flushed batch's end), no longer in flight. */
  private releaseBytes(last: bigint): number {
    let bytes = 0;
    while (this.takes.length > 0 && this.takes[0]!.last <= last) bytes += this.takes.shift()!.bytes;
    this.inFlightBytes -= bytes;
    return bytes;
  }

  /** Commits `next` and tells the stages; false when the commit failed. */
  private async commitTo(
    next: string,
    traced: (commit: () => Promise<void>) => Promise<void> = (commit) => commit(),
  ): Promise<boolean> {
    try {
      await traced(() => this.d.commit(this.d.topic, this.d.partition, next));
      this.committed = next;
      for (const stage of this.d.stages) stage.onCommit?.(this.d.topic, this.d.partition, next);
      return true;
    } catch (err) {
      // Losing a commit only means replay after a restart or rebalance, never loss.
      this.d.logger.warn(
        { partition: this.key, offset: next, err: describeError(err) },
        'offset commit failed',
      );
      return false;
    }
  }

  /**
   * kafkajs read offsets `first`…`last` of this partition but handed in none of them: records of
   * aborted transactions and transaction markers (it reads read_committed). When they follow
   * what the lane took, the committed offset moves past them once everything before is flushed,
   * so a log ending in markers is consumed to its end (offsets past a gap are left alone).
   */
  passOver(first: string, last: string): void {
    if (this.discarded) return;
    const reached = this.lastAccepted + 1n > this.passedTo ? this.lastAccepted + 1n : this.passedTo;
    if (BigInt(first) > reached || BigInt(last) < reached) return;
    this.passedTo = BigInt(last) + 1n;
    if (this.inFlight === 0) this.flushing ??= this.flushLoop(); // else the next flush commits
  }

  /** With nothing in flight, commits past the offsets passed over; true when it committed. */
  private async commitPassedOver(): Promise<boolean> {
    const next = this.passedTo;
    if (this.inFlight > 0 || this.replayTo !== undefined || next <= this.lastAccepted + 1n)
      return false;
    if (this.committed !== undefined && BigInt(this.committed) >= next) return false;
    return this.commitTo(next.toString());
  }

  /** Seals the open batch and waits until everything accepted so far is flushed. */
  async drain(): Promise<void> {
    this.seal();
    while (this.flushing) await this.flushing;
  }

  /** The partition was revoked: unflushed work is abandoned (its offsets were not committed). */
  discard(): void {
    this.discarded = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const b of [this.open, ...this.sealed]) b?.trace?.end('discarded');
    this.open = undefined;
    const pending = this.inFlight;
    const pendingBytes = this.inFlightBytes;
    this.inFlight = 0;
    this.inFlightBytes = 0;
    this.takes.length = 0;
    if (pending > 0) this.d.onSettled(pending, pendingBytes);
  }

  get isIdle(): boolean {
    return this.inFlight === 0 && !this.flushing;
  }

  get openedAt(): number | undefined {
    return this.open?.openedAt ?? this.sealed[0]?.openedAt;
  }
}

/** Puts a batch's lines in the order of their records' offsets (stable: a record's rows keep theirs). */
function sortByOffset(b: Batch): void {
  const n = b.lineOffsets.length;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++)
    if (b.lineOffsets[i - 1]! > b.lineOffsets[i]!) sorted = false;
  if (sorted) return;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((x, y) => b.lineOffsets[x]! - b.lineOffsets[y]! || x - y);
  b.lines = order.map((i) => b.lines[i]!);
  b.sources = order.map((i) => b.sources[i]!);
  b.times = order.map((i) => b.times[i]!);
  b.lineOffsets = order.map((i) => b.lineOffsets[i]!);
}
