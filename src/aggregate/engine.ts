// The windowed aggregation: records are folded, per partition, into the windows (tumbling or
// hopping, on event time or on the Kafka record timestamp) of their group, and a window's row is
// emitted when the partition's watermark passes its end. The watermark of a partition is its
// newest event time less the allowed lateness; window [start, end) closes when watermark ≥ end.
//
// Exactly-once rests on one rule: everything the stage emits is a function of the partition's
// records in offset order, never of timing. A window's row is the output of the record whose
// advance of the watermark closes it (the records themselves produce no row: they leave the chain
// dropped with reason `aggregated`), so a batch's rows follow from its offsets, and a replayed
// batch carries the same rows in the same order, which ClickHouse's block deduplication and the
// batch ledger need.
//
// State is kept in NATS KV (the shared keyed-state module): on each checkpoint, the windows changed
// since the previous one, each with `asOf`, the highest offset folded into it, and marks (offset →
// newest event time after that record). After a restart or a rebalance:
//   - the newest event time is restored from the marks as of the record before the first one
//     replayed, so lateness and closes are decided exactly as the first run decided them;
//   - a stored window whose end is at or below that watermark was closed (and its row landed) by
//     an earlier record: it is discarded;
//   - a replayed record is folded into a window only if its offset is above the window's asOf
//     (the stored state may already include it: checkpoints write the current state, which can be
//     ahead of the batch being checkpointed).
// A closed window stays in memory until the partition's committed offset passes the record that
// closed it, so a replay of that record re-emits the same row.
//
// A record is late when every window it belongs to has closed already; it is counted (metric and
// a rate-limited log line) and dropped with reason `late` or dead-lettered, as configured. A
// record that misses only some of its (hopping) windows is folded into the others and counted.
//
// The idle rule (optional) is the one decision that depends on time, not on the partition's
// contents. It is made replay-safe by recording it: with an idle rule the stage holds back the
// output of each partition's last record (the lane cuts no batch past it) until a newer record
// arrives (released as it is) or the partition is idle (every open window is closed as output of
// that record, and its mark is raised to the forced time). The raised mark is written with the
// checkpoint that precedes the insert of those rows; a replay of that record finds a mark above
// the time it computes and closes the same windows. A replay never makes an idle close of its
// own for a record a previous run had read (each entry says how far its run had read): that run
// either recorded its close, or released the record as it was.
//
// Memory: every window counts its bytes (see max_state_bytes); above the bound the stage refuses
// the next batch (the pipeline fails with the reason) rather than drop rows or stall: pausing
// would not help, since windows close only as records arrive.
import type { Clock } from '../core/clock.ts';
import { RecordError } from '../core/errors.ts';
import type { DeadLetter, Envelope, Row, StageOutput } from '../core/record.ts';
import { KeyedState, StatePartition, type KeyedStore } from '../state/keyed/index.ts';
import { measureOps, type Acc, type MeasureOps, type MeasureSpec } from './measures.ts';

export interface AggregateSettings {
  /** Window length; a tumbling window has hopMs === sizeMs. Windows start at multiples of hopMs. */
  sizeMs: number;
  hopMs: number;
  /** A datetime field (epoch ms) with the event time; undefined: the Kafka record timestamp. */
  timeField: string | undefined;
  groupBy: readonly string[];
  measures: readonly MeasureSpec[];
  windowStart: string;
  windowEnd: string;
  latenessMs: number;
  late: 'count' | 'dead_letter';
  /** The stage refuses to go on (the pipeline fails) while its state holds more than this. */
  maxStateBytes: number;
  /** The idle rule (see tick); undefined: windows close only as records arrive. */
  idleMs?: number;
}

export type LateOutcome = 'dropped' | 'dead_letter' | 'partial';

export interface AggregateObserver {
  late?(behindMs: number, outcome: LateOutcome): void;
  rows?(n: number): void;
  /** Records folded into their windows (partial ones too). */
  records?(n: number): void;
}

/** Output of a held record, decided later; delivered to its partition's lane. */
export type Release = (out: StageOutput) => void;

export interface AggregateEngineDeps {
  store: KeyedStore;
  clock?: Clock;
  observer?: AggregateObserver;
  snapshotEvery?: number;
  onSnapshotFailed?: (topic: string, partition: number, err: unknown) => void;
}

/** The state is above max_state_bytes: the pipeline stops rather than drop or stall silently. */
export class AggregateStateFull extends Error {}

/** What a window costs beyond its accumulators: its objects, id, index entries. */
const WINDOW_BYTES = 256;

interface Win {
  id: string;
  start: number;
  end: number;
  /** The group values as JSON (the id and the row order use it). */
  key: string;
  group: unknown[];
  accs: Acc[];
  /** The highest offset folded in; -1 for none. */
  asOf: number;
  bytes: number;
  /** Offset of the record that closed it; -1 while open. */
  closedAt: number;
}

/** offset → newest event time of the partition after that record. */
type Mark = [offset: number, maxT: number];

class AggPartition extends StatePartition {
  maxT = -Infinity;
  restored = false;
  marks: Mark[] = [];
  pendingMarks: Mark[] = [];
  readonly windows = new Map<string, Win>();
  /** Open windows by end; `ends` sorted ascending. */
  readonly byEnd = new Map<number, Win[]>();
  ends: number[] = [];
  closed: Win[] = [];
  dirty = new Set<Win>();
  bytes = 0;
  /** Marks loaded from the store by offset, and the highest: what previous runs read. */
  loadedMarks = new Map<number, number>();
  replayedUpTo = -1;
  /** The highest offset processed (written with the state, read back as replayedUpTo). */
  seenUpTo = -1;
  writtenUpTo = -1;
  /** With an idle rule: the last record, its output held back (see process). */
  held: { env: Envelope; out: StageOutput } | undefined;
  release: Release | undefined;
  lastArrival = 0;

  /**
   * Marks the newest event time after record `offset`. Marks are facts about the partition's
   * contents (every run computes the same one for an offset), so one may land between marks loaded
   * from a previous run that read further ahead in other fetches: it is inserted in offset order.
   */
  mark(offset: number): void {
    let i = this.marks.length;
    while (i > 0 && this.marks[i - 1]![0] > offset) i--;
    const before = this.marks[i - 1];
    if (before && (before[0] === offset || before[1] === this.maxT)) return;
    const m: Mark = [offset, this.maxT];
    this.marks.splice(i, 0, m);
    this.pendingMarks.push(m);
  }

  /** An idle close after record `offset`: its mark becomes the forced time. */
  forceMark(offset: number, maxT: number): void {
    let i = this.marks.length;
    while (i > 0 && this.marks[i - 1]![0] > offset) i--;
    const m: Mark = [offset, maxT];
    if (this.marks[i - 1]?.[0] === offset) this.marks[i - 1] = m;
    else this.marks.splice(i, 0, m);
    this.pendingMarks.push(m);
  }

  /** The newest event time after record `offset` (the latest mark at or before it). */
  markAt(offset: number): number {
    let best = -Infinity;
    for (const [o, t] of this.marks) {
      if (o > offset) break;
      best = t;
    }
    return best;
  }

  index(w: Win): void {
    let list = this.byEnd.get(w.end);
    if (!list) {
      this.byEnd.set(w.end, (list = []));
      let i = this.ends.length;
      while (i > 0 && this.ends[i - 1]! > w.end) i--;
      this.ends.splice(i, 0, w.end);
    }
    list.push(w);
  }

  remove(w: Win): void {
    this.windows.delete(w.id);
    this.dirty.delete(w);
    this.bytes -= w.bytes;
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A stored window: [start, group key JSON, asOf, encoded accumulators]. */
type StoredWindow = [start: number, key: string, asOf: number, accs: unknown[]];

interface Entry {
  /** JSON has no -Infinity: a partition with no time yet is written as null. */
  m?: [number, number | null][];
  /** The highest offset the stage had processed when the entry was written. */
  u?: number;
  w?: StoredWindow[];
}

export class AggregateEngine {
  private readonly parts = new Map<string, AggPartition>();
  private readonly ops: MeasureOps[];
  private readonly fields: (string | undefined)[];
  private readonly state: KeyedState<AggPartition>;
  private chain: Promise<void> = Promise.resolve();
  private broken: Error | undefined;
  private totalBytes = 0;

  constructor(
    readonly s: AggregateSettings,
    private readonly d: AggregateEngineDeps,
  ) {
    this.ops = s.measures.map(measureOps);
    this.fields = s.measures.map((m) => m.field);
    this.state = new KeyedState<AggPartition>({
      store: d.store,
      snapshotEvery: d.snapshotEvery,
      snapshotOf: (p, maxBytes) =>
        encodeEntries(p.seenUpTo, p.marks, [...p.windows.values()], this.ops, maxBytes),
      onSnapshotFailed: (p, err) => d.onSnapshotFailed?.(p.topic, p.partition, err),
    });
  }

  private part(topic: string, partition: number): AggPartition {
    const id = `${topic}/${partition}`;
    let p = this.parts.get(id);
    if (!p) {
      p = new AggPartition(topic, partition);
      this.parts.set(id, p);
      p.loading(this.load(p));
    }
    return p;
  }

  private async load(p: AggPartition): Promise<void> {
    const entries = await this.state.load(p);
    if (!entries) return;
    const marks = new Map<number, number>();
    const stored = new Map<string, StoredWindow>();
    let upTo = -1;
    for (const bytes of entries) {
      let e: Entry;
      try {
        e = JSON.parse(dec.decode(bytes)) as Entry;
      } catch {
        continue; // unreadable: its records replay from Kafka if uncommitted
      }
      if (typeof e.u === 'number' && e.u > upTo) upTo = e.u;
      for (const [o, t] of e.m ?? [])
        marks.set(o, Math.max(marks.get(o) ?? -Infinity, t ?? -Infinity));
      for (const w of e.w ?? []) {
        const id = windowId(w[0], w[1]);
        const had = stored.get(id);
        // A state with a higher asOf includes every record of the lower one.
        if (!had || had[2] <= w[2]) stored.set(id, w);
      }
    }
    p.marks = [...marks.entries()].sort((a, b) => a[0] - b[0]);
    p.pendingMarks = [];
    p.loadedMarks = marks;
    p.replayedUpTo = Math.max(upTo, p.marks.at(-1)?.[0] ?? -1);
    p.seenUpTo = p.replayedUpTo;
    const last = p.marks.at(-1);
    if (last) p.maxT = last[1];
    for (const [start, key, asOf, accs] of stored.values()) {
      const w = this.newWindow(p, start, key, JSON.parse(key) as unknown[]);
      w.accs = accs.map((a, i) => this.ops[i]!.decode(a));
      w.asOf = asOf;
      this.resize(p, w);
    }
  }

  private newWindow(p: AggPartition, start: number, key: string, group: unknown[]): Win {
    const w: Win = {
      id: windowId(start, key),
      start,
      end: start + this.s.sizeMs,
      key,
      group,
      accs: this.ops.map((o) => o.init()),
      asOf: -1,
      bytes: 0,
      closedAt: -1,
    };
    p.windows.set(w.id, w);
    p.index(w);
    this.resize(p, w);
    return w;
  }

  private resize(p: AggPartition, w: Win): void {
    let bytes = WINDOW_BYTES + w.key.length * 2;
    for (let i = 0; i < this.ops.length; i++) bytes += this.ops[i]!.bytes(w.accs[i]!);
    p.bytes += bytes - w.bytes;
    this.totalBytes += bytes - w.bytes;
    w.bytes = bytes;
  }

  /**
   * On the first record after (re)assignment: the newest event time as the first run had it after
   * the previous record, and the windows closed by then are dropped (their rows landed).
   */
  private restore(p: AggPartition, offset: number): void {
    p.restored = true;
    if (p.marks.length === 0) return;
    p.maxT = p.markAt(offset - 1);
    const watermark = p.maxT - this.s.latenessMs;
    for (const end of [...p.ends]) {
      if (end > watermark) break;
      for (const w of p.byEnd.get(end)!) this.dropWindow(p, w);
      p.byEnd.delete(end);
      p.ends.shift();
    }
  }

  private dropWindow(p: AggPartition, w: Win): void {
    p.remove(w);
    this.totalBytes -= w.bytes;
  }

  onAssign(topic: string, partition: number): Promise<void> {
    return this.part(topic, partition).ready;
  }

  onRevoke(topic: string, partition: number): void {
    const id = `${topic}/${partition}`;
    const p = this.parts.get(id);
    if (!p) return;
    p.revoked = true;
    this.totalBytes -= p.bytes;
    this.parts.delete(id);
  }

  // ---------------------------------------------------------------- processing

  async process(batch: Envelope[]): Promise<StageOutput> {
    if (this.broken) throw this.broken;
    const out: StageOutput = { out: [], dropped: [], dead: [] };
    const first = batch[0];
    if (!first) return out;
    if (this.totalBytes > this.s.maxStateBytes)
      throw new AggregateStateFull(
        `the aggregation state holds ${this.totalBytes} bytes, more than aggregate.max_state_bytes (${this.s.maxStateBytes}); raise it (and the memory limit), or shorten the windows or the allowed lateness, or group by fewer values`,
      );
    const p = this.part(first.source.topic, first.source.partition);
    if (!p.loaded) await p.ready;
    p.lastArrival = this.now();
    // A newer record arrived: the held one is decided as it is (no idle close).
    this.releaseHeld(p);
    let aggregated = 0;
    let heldAt: [out: number, dropped: number, dead: number] = [0, 0, 0];
    for (let i = 0; i < batch.length; i++) {
      const env = batch[i]!;
      const offset = Number(env.source.offset);
      if (!p.restored) this.restore(p, offset);
      if (i === batch.length - 1) heldAt = [out.out.length, out.dropped.length, out.dead.length];
      if (this.fold(p, env, offset, out)) aggregated++;
      // Replaying what a previous run read: an idle close it made after this record is redone.
      if (offset <= p.replayedUpTo) {
        const forced = p.loadedMarks.get(offset);
        if (forced !== undefined && forced > p.maxT) {
          p.maxT = forced;
          this.close(p, env, out.out);
        }
      }
    }
    const last = batch.at(-1)!;
    const lastOffset = Number(last.source.offset);
    p.mark(lastOffset);
    if (lastOffset > p.seenUpTo) p.seenUpTo = lastOffset;
    if (aggregated > 0) this.d.observer?.records?.(aggregated);
    // With an idle rule, the last record's output is held until a newer record arrives or the
    // partition goes idle, so that an idle close has a record to be the output of. Never for a
    // record a previous run read: that run decided it (a recorded idle close, or none).
    if (this.s.idleMs !== undefined && lastOffset > p.replayedUpTo && p.ends.length > 0) {
      p.held = {
        env: last,
        out: {
          out: out.out.splice(heldAt[0]),
          dropped: out.dropped.splice(heldAt[1]),
          dead: out.dead.splice(heldAt[2]),
        },
      };
    }
    return out;
  }

  /** Folds one record into its windows; false when it is late or has no group. */
  private fold(p: AggPartition, env: Envelope, offset: number, out: StageOutput): boolean {
    const { sizeMs, hopMs, latenessMs } = this.s;
    const ops = this.ops;
    const t = this.timeOf(env);
    const watermark = p.maxT - latenessMs;
    let key: string;
    let group: unknown[];
    try {
      group = this.s.groupBy.map((f) => env.row[f] ?? null);
      key = JSON.stringify(group);
    } catch (err) {
      out.dead.push(deadLetter(env, 'invalid_group', err));
      return false;
    }
    // The windows of t, from the latest start down: [s, s + size) with s ≤ t < s + size.
    let missed = 0;
    let windows = 0;
    for (let s = Math.floor(t / hopMs) * hopMs; s + sizeMs > t; s -= hopMs) {
      windows++;
      if (s + sizeMs <= watermark) {
        missed++;
        continue;
      }
      const id = windowId(s, key);
      const w = p.windows.get(id) ?? this.newWindow(p, s, key, group);
      if (offset <= w.asOf) continue; // already in its stored state (a replay)
      let delta = 0;
      for (let i = 0; i < ops.length; i++) {
        const f = this.fields[i];
        delta += ops[i]!.add(w.accs[i]!, f === undefined ? null : env.row[f], t, offset);
      }
      w.asOf = offset;
      if (delta !== 0) {
        w.bytes += delta;
        p.bytes += delta;
        this.totalBytes += delta;
      }
      p.dirty.add(w);
    }
    if (missed === windows) {
      const behind = p.maxT - t;
      if (this.s.late === 'dead_letter') {
        out.dead.push({
          source: env.source,
          stage: 'aggregate',
          reason: 'late',
          detail: `event time ${behind} ms behind the newest event time of its partition: its window closed (allowed lateness ${latenessMs} ms)`,
        });
        this.d.observer?.late?.(behind, 'dead_letter');
      } else {
        out.dropped.push({ env, reason: 'late' });
        this.d.observer?.late?.(behind, 'dropped');
      }
      return false;
    }
    if (missed > 0) this.d.observer?.late?.(p.maxT - t, 'partial');
    out.dropped.push({ env, reason: 'aggregated' });
    if (t > p.maxT) {
      p.maxT = t;
      this.close(p, env, out.out);
    }
    return true;
  }

  private releaseHeld(p: AggPartition): void {
    const h = p.held;
    if (!h) return;
    p.held = undefined;
    p.release?.(h.out);
  }

  /**
   * The idle rule: a partition that received nothing for idleMs while its last record is held has
   * every open window closed, as output of that record: its newest time is moved to the last
   * window end plus the allowed lateness. The move is recorded as the mark of that record and
   * written with the next checkpoint, before the batch with those rows is inserted, so a replay
   * closes the same windows at the same record. Records that arrive later for a closed window
   * are late. Called by the stage's timer.
   */
  tick(): void {
    const idleMs = this.s.idleMs;
    if (idleMs === undefined) return;
    const now = this.now();
    for (const p of this.parts.values()) {
      const h = p.held;
      if (!h || now - p.lastArrival < idleMs) continue;
      const lastEnd = p.ends.at(-1);
      const forced = lastEnd === undefined ? -Infinity : lastEnd + this.s.latenessMs;
      if (forced > p.maxT) {
        p.maxT = forced;
        p.forceMark(Number(h.env.source.offset), forced);
        this.close(p, h.env, h.out.out);
      }
      this.releaseHeld(p);
    }
  }

  heldFrom(topic: string, partition: number): string | undefined {
    return this.parts.get(`${topic}/${partition}`)?.held?.env.source.offset;
  }

  setRelease(topic: string, partition: number, fn: Release): void {
    this.part(topic, partition).release = fn;
  }

  private now(): number {
    return this.d.clock?.now() ?? Date.now();
  }

  private timeOf(env: Envelope): number {
    const f = this.s.timeField;
    if (f === undefined) return env.source.timestamp;
    const v = env.row[f];
    return typeof v === 'number' && Number.isFinite(v) ? v : env.source.timestamp;
  }

  /** Emits, as output of `env`, the rows of the windows its watermark advance closes. */
  private close(p: AggPartition, env: Envelope, out: Envelope[]): void {
    const watermark = p.maxT - this.s.latenessMs;
    if (p.ends.length === 0 || p.ends[0]! > watermark) return;
    const closing: Win[] = [];
    while (p.ends.length > 0 && p.ends[0]! <= watermark) {
      const end = p.ends.shift()!;
      closing.push(...p.byEnd.get(end)!);
      p.byEnd.delete(end);
    }
    // Row order from the windows alone, never from map order (which differs after a rebuild).
    closing.sort(
      (a, b) => a.end - b.end || a.start - b.start || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
    );
    const offset = Number(env.source.offset);
    for (const w of closing) {
      out.push({ source: env.source, row: this.rowOf(w) });
      w.closedAt = offset;
      p.closed.push(w);
    }
    this.d.observer?.rows?.(closing.length);
  }

  private rowOf(w: Win): Row {
    const row: Row = {};
    this.s.groupBy.forEach((f, i) => (row[f] = w.group[i]));
    row[this.s.windowStart] = w.start;
    row[this.s.windowEnd] = w.end;
    for (let i = 0; i < this.ops.length; i++)
      row[this.ops[i]!.spec.name] = this.ops[i]!.result(w.accs[i]!);
    return row;
  }

  /** The partition committed below `next`: windows closed before it are gone for good. */
  onCommit(topic: string, partition: number, next: string): void {
    const p = this.parts.get(`${topic}/${partition}`);
    if (!p) return;
    const n = Number(next);
    let keep = 0;
    for (const w of p.closed) {
      if (w.closedAt < n) this.dropWindow(p, w);
      else p.closed[keep++] = w;
    }
    p.closed.length = keep;
    // Marks before the committed offset are needed no more, but the last of them (a restart there).
    let i = 0;
    while (i + 1 < p.marks.length && p.marks[i + 1]![0] <= n - 1) i++;
    if (i > 0) p.marks = p.marks.slice(i);
  }

  // ---------------------------------------------------------------- durability

  /** Resolves once the partition's changed windows and marks are durable (all partitions without `at`). */
  checkpoint(at?: { topic: string; partition: number; last?: string }): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    const next = this.chain.then(() => this.writePending(at));
    this.chain = next.catch((err: unknown) => {
      this.broken ??= err instanceof Error ? err : new Error(String(err));
    });
    return next;
  }

  private async writePending(at?: { topic: string; partition: number }): Promise<void> {
    if (this.broken) throw this.broken;
    const writes: { p: AggPartition; entries: Uint8Array[] }[] = [];
    const parts = at ? [this.parts.get(`${at.topic}/${at.partition}`)] : [...this.parts.values()];
    for (const p of parts) {
      if (!p || (p.dirty.size === 0 && p.pendingMarks.length === 0 && p.seenUpTo === p.writtenUpTo))
        continue;
      p.writtenUpTo = p.seenUpTo;
      writes.push({
        p,
        entries: encodeEntries(
          p.seenUpTo,
          p.pendingMarks,
          [...p.dirty],
          this.ops,
          this.state.maxEntryBytes,
        ),
      });
      p.pendingMarks = [];
      p.dirty = new Set();
    }
    await this.state.append(writes);
  }

  /** Snapshots still being written. */
  pending(): Promise<void>[] {
    return this.state.pending();
  }

  // ---------------------------------------------------------------- reporting

  get stateBytes(): number {
    return this.totalBytes;
  }

  get windowsOpen(): number {
    let n = 0;
    for (const p of this.parts.values()) n += p.windows.size - p.closed.length;
    return n;
  }

  check(): { ok: boolean; detail?: string } {
    if (this.broken)
      return {
        ok: false,
        detail: `the aggregation state cannot be written: ${this.broken.message}`,
      };
    if (this.totalBytes > this.s.maxStateBytes)
      return {
        ok: false,
        detail: `the aggregation state is above max_state_bytes (${this.totalBytes} > ${this.s.maxStateBytes})`,
      };
    return { ok: true };
  }
}

const windowId = (start: number, key: string) => `${start}\u0000${key}`;

function deadLetter(env: Envelope, reason: string, err: unknown): DeadLetter {
  if (!(err instanceof RecordError) && !(err instanceof Error)) throw err;
  return { source: env.source, stage: 'aggregate', reason, detail: err.message };
}

/**
 * Entries of at most `maxBytes` (UTF-8, what NATS counts): the marks in the first, the windows
 * spread over all. A single window larger than an entry (an exact uniq of very many values) fails
 * the checkpoint: raise the NATS max payload or use uniq_approx.
 */
function encodeEntries(
  upTo: number,
  marks: readonly Mark[],
  windows: readonly Win[],
  ops: readonly MeasureOps[],
  maxBytes: number,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const marksText = `${JSON.stringify(marks.map(([o, t]) => [o, Number.isFinite(t) ? t : null]))},"u":${upTo}`;
  let parts: string[] = [];
  let size = 0;
  const flush = () => {
    out.push(enc.encode(`{"m":${out.length === 0 ? marksText : '[]'},"w":[${parts.join(',')}]}`));
    parts = [];
    size = 0;
  };
  const marksBytes = Buffer.byteLength(marksText);
  for (const w of windows) {
    const stored: StoredWindow = [w.start, w.key, w.asOf, w.accs.map((a, i) => ops[i]!.encode(a))];
    const text = JSON.stringify(stored);
    const bytes = Buffer.byteLength(text) + 1;
    const budget = maxBytes - 32 - (out.length === 0 ? marksBytes : 2);
    if (parts.length > 0 && size + bytes > budget) flush();
    if (bytes > maxBytes - 32 - (out.length === 0 ? marksBytes : 2))
      throw new Error(
        `an aggregation window of ${bytes} bytes does not fit a NATS entry (${maxBytes} bytes); use uniq_approx for so many distinct values`,
      );
    parts.push(text);
    size += bytes;
  }
  flush();
  return out;
}
