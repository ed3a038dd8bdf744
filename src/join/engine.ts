// The temporal join: each left event is joined with the right events of the same key whose event
// time is at most `within` away from its own, in partition pairs (left partition p with right
// partition p: both topics are keyed by the join key and have as many partitions).
//
// Right events are buffered (in memory, and durably in NATS KV). A left event is *decided* once no
// right event that could match it can still arrive: when the right partition's newest event time,
// less the allowed lateness, is past the left event's time plus `within` (right events older than
// their partition's newest time less the lateness are late and dropped). Until then the left event
// is held, and its lane cannot cut a batch past it. Deciding this way makes the output of a left
// event a function of the two partitions' contents only, not of how the two topics interleaved
// while they were read: a replay after a crash produces the same rows for the same offsets, which
// is what the batch ledger and the table's block deduplication need for exactly-once.
//
// Time bookkeeping that must replay identically is kept per partition as marks (offset → newest
// event time after that record), persisted with the state, so a restart at a committed offset
// judges lateness exactly as the first run did. Right events leave the buffer only when no left
// event after the committed left offset could match them.
//
// A late left event (older than its partition's newest time less the lateness) is never looked up:
// the right events it could match may already have left the buffer, at a moment that depends on
// when offsets were committed, so a lookup would make its output depend on timing. Instead it is
// decided at once from its own record: an inner join drops it; a left join emits it unmatched (or
// dead-letters it with reason `late`, as configured) — a left join never drops a left event.
import type { Clock } from '../core/clock.ts';
import { RecordError } from '../core/errors.ts';
import {
  recordBytes,
  type DeadLetter,
  type Envelope,
  type Row,
  type StageOutput,
} from '../core/record.ts';
import type { JoinOutput } from '../config/output-fields.ts';
import { KeyedState, StatePartition, type KeyOf, type KeyedStore } from '../state/keyed/index.ts';
import { eventBytes } from './size.ts';

export interface JoinSettings {
  type: 'inner' | 'left';
  withinMs: number;
  latenessMs: number;
  match: 'all' | 'latest';
  idleMs: number;
  leftTopic: string;
  rightTopic: string;
  leftKey: KeyOf;
  rightKey: KeyOf;
  /** Datetime fields (epoch ms) holding each side's event time. */
  leftTime: string;
  rightTime: string;
  outputs: readonly JoinOutput[];
  /** The right buffer is full at this many events, or at maxBufferBytes, whichever comes first. */
  maxBufferRecords: number;
  /** Bytes of the right buffer as counted by eventBytes (UTF-8 text plus a per-event cost). */
  maxBufferBytes: number;
  /** A left join's late left events: emitted with null right fields, or dead-lettered. */
  lateLeft: 'emit_unmatched' | 'dead_letter';
}

export type LeftOutcome = 'matched' | 'unmatched' | 'expired' | 'late' | 'no_key';
export type RightOutcome = 'buffered' | 'late' | 'no_key';

/** What the engine reports; the stage turns it into metrics. */
export interface JoinObserver {
  left(outcome: LeftOutcome, n: number): void;
  right(outcome: RightOutcome, n: number): void;
  rows(kind: 'matched' | 'unmatched', n: number): void;
  /** A late event, `behindMs` behind its partition's newest time, and what became of it. */
  late?(side: 'left' | 'right', behindMs: number, outcome: LateOutcome): void;
}

export type LateOutcome = 'dropped' | 'emitted_unmatched' | 'dead_letter';

export interface JoinEngineDeps {
  store: KeyedStore;
  clock: Clock;
  observer?: JoinObserver;
  /** A partition gets a fresh snapshot after this many deltas. */
  snapshotEvery?: number;
  /** A snapshot failed (its deltas stay; it is tried again after the partition's next write). */
  onSnapshotFailed?: (topic: string, partition: number, err: unknown) => void;
}

/** Output for held left events, decided later; delivered to the left partition's lane. */
export type Release = (out: StageOutput) => void;

/** offset → newest event time of the partition after that record. */
type Mark = [offset: number, maxT: number];

interface BufferedRight {
  offset: number;
  t: number;
  key: string;
  row: Row;
  /** What it counts against the byte bound, kept so that releasing it subtracts the same. */
  bytes: number;
}

interface Held {
  env: Envelope;
  key: string | null;
  t: number;
  offset: number;
  decided: boolean;
  /** Bytes of its Kafka record (reported, not bounded here: held left events are in flight). */
  bytes: number;
}

const MAX_MARKS = 512;

class Marks {
  list: Mark[] = [];
  /** Marks not yet written. */
  pending: Mark[] = [];

  add(offset: number, maxT: number): void {
    const last = this.list.at(-1);
    if (last && last[0] === offset && last[1] === maxT) return;
    if (last && last[0] >= offset) {
      // A forced advance (idle) at the same offset replaces it.
      if (last[0] === offset) this.list.pop();
      else return;
    }
    const m: Mark = [offset, maxT];
    this.list.push(m);
    this.pending.push(m);
    if (this.list.length > MAX_MARKS) this.list.splice(0, this.list.length - MAX_MARKS);
  }

  merge(marks: readonly Mark[]): void {
    const byOffset = new Map(this.list.map((m) => [m[0], m[1]]));
    for (const [o, t] of marks) byOffset.set(o, Math.max(byOffset.get(o) ?? -Infinity, t));
    this.list = [...byOffset.entries()].sort((a, b) => a[0] - b[0]).slice(-MAX_MARKS);
  }

  /** The newest event time after record `offset` (the latest mark at or before it). */
  at(offset: number): number {
    let best = -Infinity;
    for (const [o, t] of this.list) {
      if (o > offset) break;
      best = t;
    }
    return best;
  }
}

class PartitionBase extends StatePartition {
  maxT = -Infinity;
  /** Set from the marks when the first record after (re)assignment arrives. */
  restored = false;
  lastOffset = -1;
  readonly marks = new Marks();

  /** On the first record after a restart: the newest time as the first run had it there. */
  restore(offset: number): void {
    if (this.restored) return;
    this.restored = true;
    this.maxT = this.marks.at(offset - 1);
  }

  /** Whether a record at `t` is on time (not late); if so it advances the newest time. */
  onTime(offset: number, t: number, latenessMs: number): boolean {
    this.restore(offset);
    if (t < this.maxT - latenessMs) return false;
    if (t > this.maxT) this.maxT = t;
    return true;
  }

  /** How far a record at `t` is behind the newest time (for a late one's log line). */
  behind(t: number): number {
    return this.maxT - t;
  }

  /** A batch ended at `offset`: the newest time there is marked, for a restart at it. */
  endBatch(offset: number): void {
    if (offset > this.lastOffset) this.lastOffset = offset;
    this.marks.add(offset, this.maxT);
  }
}

class RightPartition extends PartitionBase {
  readonly byKey = new Map<string, BufferedRight[]>();
  /** Buffered events in arrival order, for eviction from the front. */
  queue: (BufferedRight | null)[] = [];
  head = 0;
  count = 0;
  bytes = 0;
  /** Highest offset already in the buffer when it was loaded: replays of these are not re-added. */
  loadedUpTo = -1;
  pending: BufferedRight[] = [];
  lastArrival: number;

  constructor(topic: string, partition: number, now: number) {
    super(topic, partition);
    this.lastArrival = now;
  }

  add(r: BufferedRight): void {
    let list = this.byKey.get(r.key);
    if (!list) this.byKey.set(r.key, (list = []));
    list.push(r);
    this.queue.push(r);
    this.count++;
    this.bytes += r.bytes;
  }

  /** Removes events that no left event from `threshold` on can match. */
  evictBefore(threshold: number): number {
    let n = 0;
    while (this.head < this.queue.length) {
      const r = this.queue[this.head];
      if (r && r.t >= threshold) break;
      this.head++;
      if (!r) continue;
      const list = this.byKey.get(r.key);
      if (list) {
        const i = list.indexOf(r);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.byKey.delete(r.key);
      }
      this.count--;
      this.bytes -= r.bytes;
      n++;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return n;
  }

  live(): BufferedRight[] {
    const out: BufferedRight[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const r = this.queue[i];
      if (r) out.push(r);
    }
    return out;
  }
}

class LeftPartition extends PartitionBase {
  held: Held[] = [];
  heldHead = 0;
  undecided = 0;
  /** Bytes of the undecided held events. */
  heldBytes = 0;
  committedMaxT = -Infinity;
  release: Release | undefined;
  /** Newest time of the held events not yet decided (for the idle rule). */
  maxHeldT = -Infinity;

  firstHeld(): Held | undefined {
    while (this.heldHead < this.held.length && this.held[this.heldHead]!.decided) this.heldHead++;
    if (this.heldHead > 1024 && this.heldHead * 2 > this.held.length) {
      this.held = this.held.slice(this.heldHead);
      this.heldHead = 0;
    }
    return this.held[this.heldHead];
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Entry {
  /** JSON has no -Infinity: a partition with no time yet is written as null. */
  m?: [number, number | null][];
  r?: [offset: number, t: number, key: string, row: Row][];
}

export class JoinEngine {
  private readonly rights = new Map<number, RightPartition>();
  private readonly lefts = new Map<number, LeftPartition>();
  /** Right fields the output uses: only these are kept in the buffer. */
  private readonly rightFields: string[];
  private readonly state: KeyedState<PartitionBase>;
  private chain: Promise<void> = Promise.resolve();
  private broken: Error | undefined;

  constructor(
    readonly s: JoinSettings,
    private readonly d: JoinEngineDeps,
  ) {
    this.rightFields = [
      ...new Set(s.outputs.filter((o) => o.side === 'right').map((o) => o.field)),
    ];
    this.state = new KeyedState({
      store: d.store,
      snapshotEvery: d.snapshotEvery,
      snapshotOf: (p, maxBytes) =>
        encodeEntries(p.marks.list, p instanceof RightPartition ? p.live() : [], maxBytes),
      onSnapshotFailed: (p, err) => d.onSnapshotFailed?.(p.topic, p.partition, err),
    });
  }

  // ---------------------------------------------------------------- partitions

  isLeft(topic: string): boolean {
    return topic === this.s.leftTopic;
  }

  private right(partition: number): RightPartition {
    let p = this.rights.get(partition);
    if (!p) {
      p = new RightPartition(this.s.rightTopic, partition, this.d.clock.now());
      this.rights.set(partition, p);
      p.loading(this.load(p));
    }
    return p;
  }

  private left(partition: number): LeftPartition {
    let p = this.lefts.get(partition);
    if (!p) {
      p = new LeftPartition(this.s.leftTopic, partition);
      this.lefts.set(partition, p);
      p.loading(this.load(p));
    }
    return p;
  }

  private async load(p: PartitionBase): Promise<void> {
    const entries = await this.state.load(p);
    if (!entries) return;
    const records = new Map<number, BufferedRight>();
    const marks: Mark[] = [];
    for (const bytes of entries) {
      let e: Entry;
      try {
        e = JSON.parse(dec.decode(bytes)) as Entry;
      } catch {
        continue; // an unreadable entry is skipped (its records replay from Kafka if uncommitted)
      }
      if (e.m) for (const [o, t] of e.m) marks.push([o, t ?? -Infinity]);
      if (e.r && p instanceof RightPartition)
        for (const [offset, t, key, row] of e.r)
          records.set(offset, { offset, t, key, row, bytes: eventBytes(key, row) });
    }
    p.marks.merge(marks);
    p.marks.pending = [];
    const last = p.marks.list.at(-1);
    if (last) {
      p.lastOffset = last[0];
      // Until a replayed record sets it exactly, the newest stored time stands: every event the
      // buffer lacks comes after it, so nothing decided with it can gain a match.
      p.maxT = last[1];
    }
    if (p instanceof RightPartition) {
      for (const r of [...records.values()].sort((a, b) => a.offset - b.offset)) p.add(r);
      // A loop, not Math.max(...keys): millions of arguments overflow the stack.
      let upTo = p.lastOffset;
      for (const offset of records.keys()) if (offset > upTo) upTo = offset;
      p.loadedUpTo = upTo;
      p.lastOffset = upTo;
    }
  }

  /** Loads the partition's state (for the side its topic is). */
  onAssign(topic: string, partition: number): Promise<void> {
    return (this.isLeft(topic) ? this.left(partition) : this.right(partition)).ready;
  }

  onRevoke(topic: string, partition: number): void {
    const map = this.isLeft(topic) ? this.lefts : this.rights;
    const p = map.get(partition);
    if (!p) return;
    p.revoked = true;
    map.delete(partition);
  }

  setRelease(topic: string, partition: number, fn: Release): void {
    if (this.isLeft(topic)) this.left(partition).release = fn;
  }

  /** The lowest offset of a left partition whose output is still to come, if any. */
  heldFrom(topic: string, partition: number): string | undefined {
    if (!this.isLeft(topic)) return undefined;
    const h = this.lefts.get(partition)?.firstHeld();
    return h ? String(h.offset) : undefined;
  }

  // ---------------------------------------------------------------- processing

  async process(batch: Envelope[]): Promise<StageOutput> {
    if (this.broken) throw this.broken;
    const first = batch[0];
    if (!first) return { out: [], dropped: [], dead: [] };
    const { topic, partition } = first.source;
    const l = this.left(partition);
    const r = this.right(partition);
    if (!l.loaded) await l.ready;
    if (!r.loaded) await r.ready;
    return this.isLeft(topic) ? this.processLeft(l, r, batch) : this.processRight(l, r, batch);
  }

  private timeOf(env: Envelope, field: string): number {
    const v = env.row[field];
    return typeof v === 'number' && Number.isFinite(v) ? v : env.source.timestamp;
  }

  private keyOf(keyOf: KeyOf, env: Envelope, dead: DeadLetter[]): string | null | undefined {
    try {
      return keyOf(env.row);
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      dead.push({ source: env.source, stage: 'join', reason: err.reason, detail: err.message });
      return undefined;
    }
  }

  private processLeft(l: LeftPartition, r: RightPartition, batch: Envelope[]): StageOutput {
    const out: StageOutput = { out: [], dropped: [], dead: [] };
    for (const env of batch) {
      const offset = Number(env.source.offset);
      const t = this.timeOf(env, this.s.leftTime);
      if (!l.onTime(offset, t, this.s.latenessMs)) {
        this.decideLate(env, l.behind(t), out);
        continue;
      }
      const key = this.keyOf(this.s.leftKey, env, out.dead);
      if (key === undefined) continue;
      const h: Held = { env, key, t, offset, decided: false, bytes: 0 };
      if (this.decidable(r, t)) this.decide(h, r, out);
      else {
        h.bytes = recordBytes(env.source);
        l.held.push(h);
        l.undecided++;
        l.heldBytes += h.bytes;
        if (t > l.maxHeldT) l.maxHeldT = t;
      }
    }
    const last = batch.at(-1);
    if (last) l.endBatch(Number(last.source.offset));
    return out;
  }

  private processRight(l: LeftPartition, r: RightPartition, batch: Envelope[]): StageOutput {
    const out: StageOutput = { out: [], dropped: [], dead: [] };
    for (const env of batch) {
      const offset = Number(env.source.offset);
      const t = this.timeOf(env, this.s.rightTime);
      if (!r.onTime(offset, t, this.s.latenessMs)) {
        out.dropped.push({ env, reason: 'late' });
        this.d.observer?.right('late', 1);
        this.d.observer?.late?.('right', r.behind(t), 'dropped');
        continue;
      }
      const key = this.keyOf(this.s.rightKey, env, out.dead);
      if (key === undefined) continue;
      if (key === null) {
        out.dropped.push({ env, reason: 'no_key' });
        this.d.observer?.right('no_key', 1);
        continue;
      }
      out.dropped.push({ env, reason: 'buffered' });
      this.d.observer?.right('buffered', 1);
      // Already in the buffer (loaded from the store): a replay of it, not a new event.
      if (offset <= r.loadedUpTo) continue;
      const row: Row = {};
      for (const f of this.rightFields) row[f] = env.row[f] ?? null;
      const b: BufferedRight = { offset, t, key, row, bytes: eventBytes(key, row) };
      r.add(b);
      r.pending.push(b);
    }
    const last = batch.at(-1);
    if (last) r.endBatch(Number(last.source.offset));
    r.lastArrival = this.d.clock.now();
    this.decideHeld(l, r);
    return out;
  }

  /** A late left event, decided from its own record only (see the top of the file). */
  private decideLate(env: Envelope, behindMs: number, out: StageOutput): void {
    this.d.observer?.left('late', 1);
    if (this.s.type === 'inner') {
      out.dropped.push({ env, reason: 'late' });
      this.d.observer?.late?.('left', behindMs, 'dropped');
    } else if (this.s.lateLeft === 'dead_letter') {
      out.dead.push({
        source: env.source,
        stage: 'join',
        reason: 'late',
        detail: `left event ${behindMs} ms behind the newest event time of its partition, more than the allowed lateness of ${this.s.latenessMs} ms`,
      });
      this.d.observer?.late?.('left', behindMs, 'dead_letter');
    } else {
      out.out.push({ source: env.source, row: this.build(env.row, null) });
      this.d.observer?.rows('unmatched', 1);
      this.d.observer?.late?.('left', behindMs, 'emitted_unmatched');
    }
  }

  /** No right event that could match a left event at `t` can still arrive (or be on time). */
  private decidable(r: RightPartition, t: number): boolean {
    return r.maxT - this.s.latenessMs > t + this.s.withinMs;
  }

  private decide(h: Held, r: RightPartition, out: StageOutput): void {
    h.decided = true;
    const { env, key } = h;
    if (key === null) {
      this.d.observer?.left('no_key', 1);
      if (this.s.type === 'left') {
        out.out.push({ source: env.source, row: this.build(env.row, null) });
        this.d.observer?.rows('unmatched', 1);
      } else out.dropped.push({ env, reason: 'no_key' });
      return;
    }
    const candidates = r.byKey.get(key);
    let matches: BufferedRight[] = [];
    if (candidates)
      for (const c of candidates) if (Math.abs(c.t - h.t) <= this.s.withinMs) matches.push(c);
    if (matches.length > 1) {
      matches.sort((a, b) => a.offset - b.offset);
      if (this.s.match === 'latest')
        matches = [matches.reduce((best, c) => (c.t >= best.t ? c : best))];
    }
    if (matches.length > 0) {
      for (const m of matches)
        out.out.push({ source: env.source, row: this.build(env.row, m.row) });
      this.d.observer?.left('matched', 1);
      this.d.observer?.rows('matched', matches.length);
    } else if (this.s.type === 'left') {
      out.out.push({ source: env.source, row: this.build(env.row, null) });
      this.d.observer?.left('unmatched', 1);
      this.d.observer?.rows('unmatched', 1);
    } else {
      out.dropped.push({ env, reason: 'expired' });
      this.d.observer?.left('expired', 1);
    }
  }

  private build(left: Row, right: Row | null): Row {
    const row: Row = {};
    for (const o of this.s.outputs)
      row[o.name] = o.side === 'left' ? left[o.field] : right ? (right[o.field] ?? null) : null;
    return row;
  }

  /** Decides the held left events whose window closed; hands their output to the left lane. */
  private decideHeld(l: LeftPartition, r: RightPartition): void {
    if (l.undecided === 0) return;
    const out: StageOutput = { out: [], dropped: [], dead: [] };
    let maxHeldT = -Infinity;
    for (let i = l.heldHead; i < l.held.length; i++) {
      const h = l.held[i]!;
      if (h.decided) continue;
      if (this.decidable(r, h.t)) {
        this.decide(h, r, out);
        l.undecided--;
        l.heldBytes -= h.bytes;
      } else if (h.t > maxHeldT) maxHeldT = h.t;
    }
    l.maxHeldT = maxHeldT;
    l.firstHeld();
    if (out.out.length + out.dropped.length > 0) l.release?.(out);
  }

  /**
   * The idle rule: a right partition that received nothing for `idleMs` while left events wait
   * has its event time moved past them, and they are decided. Called by the stage's timer.
   *
   * While the buffer is full the right partitions are paused, not idle: closing windows then would
   * make late the right events they have not delivered yet (matches lost to our own pause). Their
   * idle clocks restart instead, so after the pause a partition has idleMs to deliver again. A
   * buffer too small for the windows stalls the pipeline rather than dropping matches.
   */
  tick(): void {
    const now = this.d.clock.now();
    if (this.full) {
      for (const r of this.rights.values()) r.lastArrival = now;
      return;
    }
    for (const [partition, l] of this.lefts) {
      if (l.undecided === 0) continue;
      const r = this.rights.get(partition);
      if (!r || !r.loaded || now - r.lastArrival < this.s.idleMs) continue;
      const forced = l.maxHeldT + this.s.withinMs + this.s.latenessMs + 1;
      if (forced > r.maxT) {
        r.maxT = forced;
        r.restored = true;
        r.marks.add(r.lastOffset, forced);
      }
      this.decideHeld(l, r);
    }
  }

  /** A left partition committed up to `next`: right events no later left event can match go. */
  onCommit(topic: string, partition: number, next: string): void {
    if (!this.isLeft(topic)) return;
    const l = this.lefts.get(partition);
    const r = this.rights.get(partition);
    if (!l || !r) return;
    l.committedMaxT = l.marks.at(Number(next) - 1);
    if (l.committedMaxT === -Infinity) return;
    r.evictBefore(l.committedMaxT - this.s.latenessMs - this.s.withinMs);
  }

  // ---------------------------------------------------------------- durability

  /** Resolves once the buffered right events and the marks taken so far are durable. */
  checkpoint(): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    const next = this.chain.then(() => this.writePending());
    this.chain = next.catch((err: unknown) => {
      this.broken ??= err instanceof Error ? err : new Error(String(err));
    });
    return next;
  }

  private async writePending(): Promise<void> {
    if (this.broken) throw this.broken;
    const writes: { p: PartitionBase; entries: Uint8Array[] }[] = [];
    for (const p of [...this.rights.values(), ...this.lefts.values()]) {
      const records = p instanceof RightPartition ? p.pending : [];
      if (records.length === 0 && p.marks.pending.length === 0) continue;
      writes.push({
        p,
        entries: encodeEntries(p.marks.pending, records, this.state.maxEntryBytes),
      });
      p.marks.pending = [];
      if (p instanceof RightPartition) p.pending = [];
    }
    await this.state.append(writes);
  }

  // ---------------------------------------------------------------- reporting

  get bufferedRight(): number {
    let n = 0;
    for (const r of this.rights.values()) n += r.count;
    return n;
  }

  get bufferedBytes(): number {
    let n = 0;
    for (const r of this.rights.values()) n += r.bytes;
    return n;
  }

  get heldLeft(): number {
    let n = 0;
    for (const l of this.lefts.values()) n += l.undecided;
    return n;
  }

  get heldLeftBytes(): number {
    let n = 0;
    for (const l of this.lefts.values()) n += l.heldBytes;
    return n;
  }

  /** The right buffer is at its bound: stop reading right partitions until windows close. */
  get full(): boolean {
    return this.fullBy !== undefined;
  }

  /** Which bound the right buffer has reached, if any (bytes first: the one memory depends on). */
  get fullBy(): 'bytes' | 'records' | undefined {
    if (this.bufferedBytes >= this.s.maxBufferBytes) return 'bytes';
    if (this.bufferedRight >= this.s.maxBufferRecords) return 'records';
    return undefined;
  }

  check(): { ok: boolean; detail?: string } {
    return this.broken
      ? { ok: false, detail: `the join state cannot be written: ${this.broken.message}` }
      : { ok: true };
  }
}

/**
 * Entries of at most `maxBytes`: the marks in the first, the buffered events spread over all.
 * Sizes are UTF-8 bytes, what NATS counts against its max payload: a string's .length (UTF-16 code
 * units) is a third of that for text like "€" and made entries the bucket refuses.
 */
export function encodeEntries(
  marks: readonly Mark[],
  records: readonly BufferedRight[],
  maxBytes: number,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  let parts: string[] = [];
  let size = 0;
  const flush = (withMarks: boolean) => {
    const m = withMarks ? JSON.stringify(marks) : '[]';
    out.push(enc.encode(`{"m":${m},"r":[${parts.join(',')}]}`));
    parts = [];
    size = 0;
  };
  const marksBytes = Buffer.byteLength(JSON.stringify(marks));
  for (const r of records) {
    const text = JSON.stringify([r.offset, r.t, r.key, r.row]);
    const bytes = Buffer.byteLength(text) + 1;
    const budget = maxBytes - 32 - (out.length === 0 ? marksBytes : 2);
    if (parts.length > 0 && size + bytes > budget) flush(out.length === 0);
    parts.push(text);
    size += bytes;
  }
  flush(out.length === 0);
  return out;
}
