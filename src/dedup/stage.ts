// The dedup stage. For each record: its key (hashed to 64 bits), its time (an event-time field or
// arrival), its origin (topic/partition/offset). Against the index:
//   - the key's live entry has this very origin   → a replay of the record itself: passed on;
//   - a live entry less than `window` away         → a duplicate: dropped (reason `duplicate`);
//   - otherwise, unless the record is late        → accepted and remembered.
// The index is updated record by record, so duplicates inside one batch are caught. Accepted keys
// are queued per partition and made durable by `checkpoint()`, which the lane awaits before it
// commits offsets (one write per partition per flush, never one per record). Partitions' state is
// rebuilt from the store when they are assigned; `process` waits for that before touching them.
import { trace } from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/clock.ts';
import { RecordError, describeError } from '../core/errors.ts';
import type { DeadLetter, Envelope, StageOutput } from '../core/record.ts';
import type { Stage } from '../stages/stage.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { KeyOf, KeyedStore } from '../state/keyed/index.ts';
import { retryNats } from '../state/nats.ts';
import type { DuplicateSink } from './duplicates.ts';
import { KEY_WORDS, KeyBuffer, decodeKeys } from './entries.ts';
import { hash64, hashHex, type Hash64 } from './hash.ts';
import type { Claim, GlobalStore } from './global-store.ts';
import { KeyIndex, type Probe } from './key-index.ts';

/** Event times further ahead of the agent's clock than this do not move the window. */
export const MAX_FUTURE_MS = 3_600_000;
/** A partition gets a fresh snapshot after this many deltas. */
const SNAPSHOT_EVERY = 200;

export type DedupOutcome = 'unique' | 'duplicate' | 'replay' | 'late' | 'no_key';

export interface DedupSettings {
  pipeline: string;
  keyOf: KeyOf;
  windowMs: number;
  /** Event-time field (epoch ms); arrival time when undefined. */
  timeField?: string;
  late: 'keep' | 'drop';
  mode: 'keyed' | 'global';
}

export interface DedupDeps {
  /** Keyed mode's store. */
  keyed?: KeyedStore;
  /** Global mode's store. */
  global?: GlobalStore;
  duplicates?: DuplicateSink;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** Why the state store cannot be used right now (e.g. NATS disconnected), for readiness. */
  storeProblem?: () => string | undefined;
  /** Releases the store's connection on close. */
  closeStore?: () => Promise<void>;
  snapshotEvery?: number;
  retryInitialMs?: number;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly stream: number;
  ready: Promise<void>;
  loaded: boolean;
  revoked: boolean;
  pending: KeyBuffer | undefined;
  /** Deltas in the store since the last snapshot. */
  deltas: number;
  snapshotting: boolean;
}

const sec = (ms: number) => Math.max(1, Math.floor(ms / 1000));

export class DedupStage implements Stage {
  readonly name = 'dedup';
  readonly kind = 'dedup';
  readonly index: KeyIndex;
  private readonly windowSec: number;
  private readonly partitions = new Map<string, PartitionState>();
  /** Global mode: one stable stream id per topic-partition (entries of any partition are cached). */
  private readonly globalStreams = new Map<string, number>();
  private readonly streamNames = new Map<number, { topic: string; partition: number }>();
  private readonly hash: Hash64 = { hi: 0, lo: 0 };
  private readonly probe: Probe = { slot: 0, found: false };
  private readonly labels: { pipeline: string };
  private readonly abort = new AbortController();
  private inflight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private queuedToken: object | undefined;
  private readonly background = new Set<Promise<void>>();
  private sideTopic: DeadLetter[] = [];
  private broken: Error | undefined;
  private closing: Promise<void> | undefined;
  private readonly tracer = trace.getTracer('weir');

  constructor(
    private readonly s: DedupSettings,
    private readonly d: DedupDeps,
  ) {
    if (!Number.isInteger(s.windowMs / 1000) || s.windowMs < 1000)
      throw new RangeError(`the dedup window must be whole seconds, got ${s.windowMs} ms`);
    if (s.mode === 'keyed' && !d.keyed) throw new Error('keyed dedup needs a keyed store');
    if (s.mode === 'global' && !d.global) throw new Error('global dedup needs a global store');
    this.windowSec = s.windowMs / 1000;
    this.index = new KeyIndex(
      this.windowSec,
      s.timeField === undefined ? 'arrival' : 'event',
      s.mode === 'global',
    );
    this.labels = { pipeline: s.pipeline };
  }

  // ---------------------------------------------------------------- assignment

  onAssign(topic: string, partition: number): Promise<void> {
    return this.stateFor(topic, partition).ready;
  }

  onRevoke(topic: string, partition: number): void {
    const key = `${topic}/${partition}`;
    const st = this.partitions.get(key);
    if (!st) return;
    this.partitions.delete(key);
    st.revoked = true;
    st.pending = undefined;
    // Global mode keeps caching what it learned: claims stay valid whoever owns the partition.
    if (this.s.mode === 'keyed') this.index.retireStream(st.stream);
    this.updateGauges();
  }

  private stateFor(topic: string, partition: number): PartitionState {
    const key = `${topic}/${partition}`;
    let st = this.partitions.get(key);
    if (st) return st;
    const stream =
      this.s.mode === 'global' ? this.globalStream(topic, partition) : this.index.openStream();
    this.streamNames.set(stream, { topic, partition });
    st = {
      topic,
      partition,
      stream,
      ready: Promise.resolve(),
      loaded: this.s.mode === 'global',
      revoked: false,
      pending: undefined,
      deltas: 0,
      snapshotting: false,
    };
    this.partitions.set(key, st);
    if (this.s.mode === 'keyed') {
      const state = st;
      st.ready = this.rebuild(state).then(() => {
        state.loaded = true;
      });
      // A failed rebuild is reported by whoever awaits it (process); never unhandled.
      st.ready.catch(() => undefined);
    }
    return st;
  }

  private globalStream(topic: string, partition: number): number {
    const key = `${topic}/${partition}`;
    let id = this.globalStreams.get(key);
    if (id === undefined) {
      id = this.index.openStream();
      this.globalStreams.set(key, id);
      this.streamNames.set(id, { topic, partition });
    }
    return id;
  }

  /** Loads a partition's keys from the store into the index (retrying until it succeeds). */
  private async rebuild(st: PartitionState): Promise<void> {
    const store = this.d.keyed!;
    const started = performance.now();
    await this.tracer.startActiveSpan('dedup rebuild', async (span) => {
      span.setAttributes({
        'weir.pipeline': this.s.pipeline,
        'messaging.destination.name': st.topic,
        'messaging.destination.partition.id': String(st.partition),
      });
      try {
        const loaded = await this.withRetry('read the dedup state', () =>
          store.load(st.topic, st.partition),
        );
        if (st.revoked) return;
        const keys = this.loadEntries(st, loaded.entries);
        st.deltas = loaded.deltas;
        const seconds = (performance.now() - started) / 1000;
        this.d.metrics.dedupRebuildDuration.observe(this.labels, seconds);
        span.setAttributes({
          'weir.dedup.keys': keys,
          'weir.dedup.entries': loaded.entries.length,
        });
        this.d.logger.info(
          {
            partition: `${st.topic}/${st.partition}`,
            keys,
            entries: loaded.entries.length,
            ms: Math.round(seconds * 1000),
          },
          'dedup state rebuilt',
        );
      } catch (err) {
        span.recordException(err as Error);
        throw err;
      } finally {
        span.end();
        this.updateGauges();
      }
    });
  }

  private loadEntries(st: PartitionState, entries: readonly Uint8Array[]): number {
    const lists: Uint32Array[] = [];
    let total = 0;
    let newest = 0;
    for (const e of entries) {
      let words: Uint32Array;
      try {
        words = decodeKeys(e);
      } catch (err) {
        this.d.logger.warn({ err: describeError(err) }, 'skipping an unreadable dedup state entry');
        continue;
      }
      lists.push(words);
      total += words.length / KEY_WORDS;
      if (this.index.timeBase === 'event')
        for (let i = 4; i < words.length; i += KEY_WORDS)
          if (words[i]! > newest) newest = words[i]!;
    }
    const cap = sec(this.d.clock.now() + MAX_FUTURE_MS);
    if (this.index.timeBase === 'event') this.index.advance(st.stream, Math.min(newest, cap));
    else this.index.setNow(sec(this.d.clock.now()));
    this.index.reserve(total);
    const wm = this.index.watermarkOf(st.stream);
    let kept = 0;
    for (const w of lists) {
      for (let i = 0; i < w.length; i += KEY_WORDS) {
        const t = w[i + 4]!;
        if (wm - t >= this.windowSec) continue;
        const offset = w[i + 3]! * 0x1_0000_0000 + w[i + 2]!;
        this.index.put(w[i]!, w[i + 1]!, st.stream, offset, t, this.probe);
        kept++;
      }
    }
    return kept;
  }

  // ---------------------------------------------------------------- processing

  async process(batch: Envelope[]): Promise<StageOutput> {
    if (this.broken) throw this.broken;
    // The batch's partitions are registered (their rebuild starts if it has not)...
    let last: PartitionState | undefined;
    for (const env of batch) {
      const { topic, partition } = env.source;
      if (last && last.topic === topic && last.partition === partition) continue;
      last = this.stateFor(topic, partition);
    }
    // ...and nothing is decided until every partition this agent owns is loaded: one index serves
    // them all, and the first copy of a key may sit in another partition's state. Deciding early
    // would let a replayed duplicate pass because its original was not loaded yet.
    for (const st of this.partitions.values()) if (!st.loaded) await st.ready;
    return this.s.mode === 'global' ? this.processGlobal(batch) : this.processKeyed(batch);
  }

  private processKeyed(batch: Envelope[]): StageOutput {
    const out: StageOutput = { out: [], dropped: [], dead: [] };
    const counts = newCounts();
    const nowMs = this.d.clock.now();
    const cap = sec(nowMs + MAX_FUTURE_MS);
    const arrival = this.s.timeField === undefined;
    if (arrival) this.index.setNow(sec(nowMs));
    const { index, probe, hash } = this;
    let st: PartitionState | undefined;
    for (const env of batch) {
      const src = env.source;
      if (!st || st.topic !== src.topic || st.partition !== src.partition)
        st = this.partitions.get(`${src.topic}/${src.partition}`);
      if (!st || st.revoked) {
        // Revoked while the batch was on its way: the lane discards it; leave the state alone.
        out.out.push(env);
        continue;
      }
      const key = this.keyOf(env, out);
      if (key === undefined) continue;
      if (key === null) {
        out.out.push(env);
        counts.no_key++;
        continue;
      }
      hash64(key, hash);
      const t = arrival ? sec(nowMs) : this.eventSec(env);
      if (!arrival) index.advance(st.stream, Math.min(t, cap));
      const offset = Number(src.offset);
      index.probe(hash.hi, hash.lo, probe);
      if (probe.found && index.isAlive(probe.slot)) {
        if (index.sameOrigin(probe.slot, st.stream, offset)) {
          out.out.push(env);
          counts.replay++;
          continue;
        }
        const t0 = index.timeOf(probe.slot);
        if (Math.abs(t - t0) < this.windowSec) {
          this.drop(env, probe.slot, out);
          counts.duplicate++;
          continue;
        }
        // Live but further apart than the window (another partition's clock, or a late record).
        out.out.push(env);
        counts.unique++;
        if (t > t0) this.remember(st, offset, t);
        continue;
      }
      if (index.isLate(st.stream, t)) {
        counts.late++;
        if (this.s.late === 'drop') out.dropped.push({ env, reason: 'late' });
        else out.out.push(env);
        continue;
      }
      this.remember(st, offset, t);
      out.out.push(env);
      counts.unique++;
    }
    index.sweep(8 * batch.length + 64);
    this.count(counts);
    return out;
  }

  /** Stores the current hash for an accepted record (probe done) and queues it for persisting. */
  private remember(st: PartitionState, offset: number, t: number): void {
    const { index, probe, hash } = this;
    if (!index.write(probe, hash.hi, hash.lo, st.stream, offset, t)) {
      index.probe(hash.hi, hash.lo, probe);
      index.write(probe, hash.hi, hash.lo, st.stream, offset, t);
    }
    (st.pending ??= new KeyBuffer()).add(hash.hi, hash.lo, offset, t);
  }

  private keyOf(env: Envelope, out: StageOutput): string | null | undefined {
    try {
      return this.s.keyOf(env.row);
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      out.dead.push({
        source: env.source,
        stage: this.name,
        reason: err.reason,
        detail: err.message,
      });
      return undefined;
    }
  }

  private eventSec(env: Envelope): number {
    const v = env.row[this.s.timeField!];
    // A null event time (nullable field) falls back to the Kafka record time.
    return sec(typeof v === 'number' && Number.isFinite(v) ? v : env.source.timestamp);
  }

  private drop(env: Envelope, slot: number, out: StageOutput): void {
    out.dropped.push({ env, reason: 'duplicate' });
    if (!this.d.duplicates) return;
    const of = this.streamNames.get(this.index.streamOf(slot));
    this.sideTopic.push({
      source: env.source,
      stage: this.name,
      reason: 'duplicate',
      detail: `duplicate of ${of?.topic ?? '?'}/${of?.partition ?? '?'}/${this.index.offsetOf(slot)}`,
    });
  }

  /**
   * Global mode: keys the local index cannot decide are claimed in NATS with compare-and-set
   * (pipelined, one round trip per new key), then the batch is decided in order as in keyed mode.
   */
  private async processGlobal(batch: Envelope[]): Promise<StageOutput> {
    const out: StageOutput = { out: [], dropped: [], dead: [] };
    const counts = newCounts();
    const nowMs = this.d.clock.now();
    const cap = sec(nowMs + MAX_FUTURE_MS);
    const arrival = this.s.timeField === undefined;
    if (arrival) this.index.setNow(sec(nowMs));
    const { index, probe, hash } = this;
    interface Item {
      env: Envelope;
      hi: number;
      lo: number;
      t: number;
      stream: number;
      offset: number;
    }
    const items: (Item | null)[] = [];
    const claims = new Map<string, { it: Item; mine: Claim; claim: Promise<Claim> }>();
    const claimFor = (it: Item, mine: Claim): Promise<Claim> => {
      const started = performance.now();
      return this.withRetry('claim a dedup key', () =>
        this.d.global!.claim(hashHex(it), mine, (c) => Math.abs(c.sec - it.t) < this.windowSec),
      ).then((c) => {
        this.d.metrics.stateOpDuration.observe(
          { ...this.labels, op: 'dedup_claim' },
          (performance.now() - started) / 1000,
        );
        return c;
      });
    };
    const mineOf = (it: Item): Claim => ({
      topic: it.env.source.topic,
      partition: it.env.source.partition,
      offset: it.offset,
      sec: it.t,
    });
    // Pass 1: what the cache cannot decide is claimed, once per key, all claims in flight at once.
    for (const env of batch) {
      const key = this.keyOf(env, out);
      if (key === undefined) {
        items.push(null);
        continue;
      }
      if (key === null) {
        items.push(null);
        out.out.push(env);
        counts.no_key++;
        continue;
      }
      hash64(key, hash);
      const stream = this.globalStream(env.source.topic, env.source.partition);
      const t = arrival ? sec(nowMs) : this.eventSec(env);
      if (!arrival) index.advance(stream, Math.min(t, cap));
      const it: Item = {
        env,
        hi: hash.hi,
        lo: hash.lo,
        t,
        stream,
        offset: Number(env.source.offset),
      };
      items.push(it);
      const hex = hashHex(hash);
      if (claims.has(hex)) continue;
      index.probe(it.hi, it.lo, probe);
      const cached = probe.found && index.isAlive(probe.slot);
      if (cached && Math.abs(index.timeOf(probe.slot) - t) < this.windowSec) continue;
      if (index.isLate(stream, t)) continue;
      const mine = mineOf(it);
      claims.set(hex, { it, mine, claim: claimFor(it, mine) });
    }
    // The claims in force are the truth: cache them. A claim that is `mine` was won by this record.
    const claimedByMe = new Set<Envelope>();
    for (const { it, mine, claim } of claims.values()) {
      const c = await claim;
      this.cache(it.hi, it.lo, c);
      if (c === mine) claimedByMe.add(it.env);
    }
    // Pass 2: decide in order, as keyed mode does, with the claims in the cache.
    for (const it of items) {
      if (it === null) continue;
      const { env } = it;
      index.probe(it.hi, it.lo, probe);
      if (probe.found && index.isAlive(probe.slot)) {
        if (index.sameOrigin(probe.slot, it.stream, it.offset)) {
          out.out.push(env);
          if (claimedByMe.has(env)) counts.unique++;
          else counts.replay++;
          continue;
        }
        if (Math.abs(it.t - index.timeOf(probe.slot)) < this.windowSec) {
          this.drop(env, probe.slot, out);
          counts.duplicate++;
          continue;
        }
      }
      if (index.isLate(it.stream, it.t)) {
        counts.late++;
        if (this.s.late === 'drop') out.dropped.push({ env, reason: 'late' });
        else out.out.push(env);
        continue;
      }
      // Rare: the same key again in this batch, further than the window from its claim.
      const mine = mineOf(it);
      const c = await claimFor(it, mine);
      this.cache(it.hi, it.lo, c);
      if (c === mine) {
        out.out.push(env);
        counts.unique++;
      } else {
        this.drop(env, probe.slot, out);
        counts.duplicate++;
      }
    }
    index.sweep(8 * batch.length + 64);
    this.count(counts);
    return out;
  }

  private cache(hi: number, lo: number, c: Claim): void {
    const { index, probe } = this;
    const stream = this.globalStream(c.topic, c.partition);
    for (;;) {
      index.probe(hi, lo, probe);
      if (index.write(probe, hi, lo, stream, c.offset, c.sec)) return;
    }
  }

  // ---------------------------------------------------------------- durability

  /** Resolves once every key accepted so far (and every duplicate for the side topic) is durable. */
  async checkpoint(): Promise<void> {
    if (this.broken) throw this.broken;
    const side = this.sideTopic;
    this.sideTopic = [];
    await Promise.all([
      side.length > 0 && this.d.duplicates ? this.d.duplicates.write(side) : undefined,
      this.persist(),
    ]);
  }

  private hasPending(): boolean {
    for (const st of this.partitions.values()) if (st.pending && st.pending.length > 0) return true;
    return false;
  }

  /**
   * Group commit: one write at a time; a checkpoint arriving during a write queues the next one,
   * which takes everything pending when it starts, so concurrent lanes share writes.
   */
  private persist(): Promise<void> {
    if (this.s.mode !== 'keyed') return Promise.resolve();
    if (!this.hasPending()) return this.queued ?? this.inflight ?? Promise.resolve();
    if (this.queued) return this.queued;
    const token = {};
    this.queuedToken = token;
    const next: Promise<void> = (async () => {
      // Always yields first, so `queued` is set before it is cleared below.
      await this.inflight?.catch(() => undefined);
      if (this.queuedToken === token) this.queued = undefined;
      if (this.broken) throw this.broken;
      const write = this.writePending();
      this.inflight = write;
      try {
        await write;
      } catch (err) {
        // Keys taken for this write are gone from memory's queue: never commit past them.
        this.broken ??= err instanceof Error ? err : new Error(String(err));
        throw err;
      } finally {
        if (this.inflight === write) this.inflight = undefined;
      }
    })();
    this.queued = next;
    return this.queued;
  }

  private async writePending(): Promise<void> {
    const store = this.d.keyed!;
    const started = performance.now();
    const jobs: { st: PartitionState; entries: Uint8Array[] }[] = [];
    for (const st of this.partitions.values()) {
      if (!st.pending || st.pending.length === 0) continue;
      jobs.push({ st, entries: st.pending.encode(store.maxEntryBytes) });
      st.pending = undefined;
    }
    await Promise.all(
      jobs.map(({ st, entries }) =>
        this.withRetry('persist dedup keys', () => store.append(st.topic, st.partition, entries)),
      ),
    );
    this.d.metrics.stateOpDuration.observe(
      { ...this.labels, op: 'dedup_persist' },
      (performance.now() - started) / 1000,
    );
    const every = this.d.snapshotEvery ?? SNAPSHOT_EVERY;
    for (const { st, entries } of jobs) {
      st.deltas += entries.length;
      // Every delta of ours is acknowledged and no other write runs: a snapshot taken now covers
      // them all (keys accepted meanwhile are in it too, which is harmless).
      if (st.deltas >= every && !st.snapshotting && !st.revoked) this.snapshot(st);
    }
  }

  private snapshot(st: PartitionState): void {
    const store = this.d.keyed!;
    const started = performance.now();
    const buffer = new KeyBuffer(1024);
    this.index.forEachLive(st.stream, (words) => buffer.addSlot(words));
    const chunks = buffer.encode(store.maxEntryBytes);
    const coverage = store.coverage(st.topic, st.partition);
    const deltas = st.deltas;
    st.snapshotting = true;
    const task = store
      .snapshot(st.topic, st.partition, chunks, coverage)
      .then(() => {
        st.deltas = Math.max(0, st.deltas - deltas);
        this.d.metrics.stateOpDuration.observe(
          { ...this.labels, op: 'dedup_snapshot' },
          (performance.now() - started) / 1000,
        );
      })
      .catch((err: unknown) => {
        this.d.logger.warn(
          { partition: `${st.topic}/${st.partition}`, err: describeError(err) },
          'dedup snapshot failed; the deltas stay and it is tried again later',
        );
      })
      .finally(() => {
        st.snapshotting = false;
        this.background.delete(task);
      });
    this.background.add(task);
  }

  private withRetry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retryNats(fn, {
      what,
      logger: this.d.logger,
      signal: this.abort.signal,
      initialMs: this.d.retryInitialMs,
    });
  }

  // ---------------------------------------------------------------- telemetry and lifecycle

  private count(c: Record<DedupOutcome, number>): void {
    for (const outcome of Object.keys(c) as DedupOutcome[])
      if (c[outcome] > 0)
        this.d.metrics.dedupRecords.inc({ ...this.labels, reason: outcome }, c[outcome]);
    this.updateGauges();
  }

  private updateGauges(): void {
    this.d.metrics.dedupIndexKeys.set(this.labels, this.index.size);
    this.d.metrics.dedupIndexBytes.set(this.labels, this.index.bytes);
  }

  /** Readiness: not ready while partitions are being rebuilt or the store is unreachable. */
  check(): { ok: boolean; reason?: string } {
    if (this.broken)
      return { ok: false, reason: `dedup state failed: ${describeError(this.broken)}` };
    const problem = this.d.storeProblem?.();
    if (problem) return { ok: false, reason: problem };
    const loading = [...this.partitions.values()].filter((p) => !p.loaded).length;
    if (loading > 0)
      return { ok: false, reason: `dedup state of ${loading} partition(s) is being rebuilt` };
    return { ok: true };
  }

  /** Waits for running writes, then releases the store and the side topic. Safe to call twice. */
  close(graceMs = 10_000): Promise<void> {
    this.closing ??= (async () => {
      // Writes still running get a grace period (a store that is down would retry forever).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([this.queued, this.inflight, ...this.background]),
        new Promise((r) => (timer = setTimeout(r, graceMs))),
      ]);
      clearTimeout(timer);
      this.abort.abort();
      await this.d.duplicates?.close().catch(() => undefined);
      await this.d.closeStore?.();
    })();
    return this.closing;
  }
}

function newCounts(): Record<DedupOutcome, number> {
  return { unique: 0, duplicate: 0, replay: 0, late: 0, no_key: 0 };
}
