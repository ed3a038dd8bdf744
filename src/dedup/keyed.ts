// Keyed mode: the keys of each partition are the state of the agent that owns the partition.
// Accepted keys are queued per partition and made durable by `checkpoint()`, which the lane awaits
// before it commits offsets (one write per partition per flush, never one per record). Partitions'
// state is rebuilt from the store when they are assigned; `process` waits for that before touching
// them.
import { performance } from 'node:perf_hooks';
import { describeError } from '../core/errors.ts';
import type { Envelope, StageOutput } from '../core/record.ts';
import { KeyedState, StatePartition, traceRebuild } from '../state/keyed/index.ts';
import { DedupBase, MAX_FUTURE_MS, sec } from './common.ts';
import { KEY_WORDS, KeyBuffer, decodeKeys } from './entries.ts';
import { hash64 } from './hash.ts';
import type { DedupDeps, DedupSettings } from './stage.ts';

class KeyedPartition extends StatePartition {
  /** Keys accepted since the last write. */
  pending: KeyBuffer | undefined = undefined;

  constructor(
    topic: string,
    partition: number,
    /** The partition's stream id in the index. */
    readonly stream: number,
  ) {
    super(topic, partition);
  }
}

export class KeyedDedup extends DedupBase {
  private readonly partitions = new Map<string, KeyedPartition>();
  private readonly state: KeyedState<KeyedPartition>;
  private inflight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private queuedToken: object | undefined;

  constructor(s: DedupSettings, d: DedupDeps) {
    super(s, d);
    if (!d.keyed) throw new Error('keyed dedup needs a keyed store');
    this.state = new KeyedState({
      store: this.calls.store(d.keyed, 'dedup'),
      snapshotEvery: d.snapshotEvery,
      snapshotOf: (p, maxBytes) => {
        const buffer = new KeyBuffer(1024);
        this.index.forEachLive(p.stream, (words) => buffer.addSlot(words));
        return buffer.encode(maxBytes);
      },
      onSnapshotFailed: (p, err) =>
        this.d.logger.warn(
          { partition: `${p.topic}/${p.partition}`, err: describeError(err) },
          'dedup snapshot failed; the deltas stay and it is tried again later',
        ),
    });
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
    this.index.retireStream(st.stream);
    this.updateGauges();
  }

  private stateFor(topic: string, partition: number): KeyedPartition {
    const key = `${topic}/${partition}`;
    let st = this.partitions.get(key);
    if (st) return st;
    st = new KeyedPartition(topic, partition, this.index.openStream());
    this.streamNames.set(st.stream, { topic, partition });
    this.partitions.set(key, st);
    st.loading(this.rebuild(st));
    return st;
  }

  /** Loads a partition's keys from the store into the index (retrying until it succeeds). */
  private async rebuild(st: KeyedPartition): Promise<void> {
    const started = performance.now();
    await traceRebuild('dedup', this.s.pipeline, st.topic, st.partition, async (span) => {
      try {
        const entries = await this.state.load(st);
        if (!entries) return;
        const keys = this.loadEntries(st, entries);
        const seconds = (performance.now() - started) / 1000;
        this.d.metrics.dedupRebuildDuration.observe(this.labels, seconds);
        span.setAttributes({ 'weir.dedup.keys': keys, 'weir.dedup.entries': entries.length });
        this.d.logger.info(
          {
            partition: `${st.topic}/${st.partition}`,
            keys,
            entries: entries.length,
            ms: Math.round(seconds * 1000),
          },
          'dedup state rebuilt',
        );
      } finally {
        this.updateGauges();
      }
    });
  }

  private loadEntries(st: KeyedPartition, entries: readonly Uint8Array[]): number {
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
    let last: KeyedPartition | undefined;
    for (const env of batch) {
      const { topic, partition } = env.source;
      if (last && last.topic === topic && last.partition === partition) continue;
      last = this.stateFor(topic, partition);
    }
    // ...and nothing is decided until every partition this agent owns is loaded: one index serves
    // them all, and the first copy of a key may sit in another partition's state. Deciding early
    // would let a replayed duplicate pass because its original was not loaded yet.
    for (const st of this.partitions.values()) if (!st.loaded) await st.ready;
    // ...and, at dedup.max_keys, until keys have expired (after loading: a rebuild adds keys).
    await this.belowCap();
    return this.processKeyed(batch);
  }

  private processKeyed(batch: Envelope[]): StageOutput {
    const run = this.startBatch();
    const { out, counts, nowMs, cap, arrival } = run;
    const { index, probe, hash } = this;
    let st: KeyedPartition | undefined;
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
        this.late(env, st.stream, t, run);
        continue;
      }
      this.remember(st, offset, t);
      out.out.push(env);
      counts.unique++;
    }
    return this.endBatch(run, batch.length);
  }

  /** Stores the current hash for an accepted record (probe done) and queues it for persisting. */
  private remember(st: KeyedPartition, offset: number, t: number): void {
    const { index, probe, hash } = this;
    if (!index.write(probe, hash.hi, hash.lo, st.stream, offset, t)) {
      index.probe(hash.hi, hash.lo, probe);
      index.write(probe, hash.hi, hash.lo, st.stream, offset, t);
    }
    (st.pending ??= new KeyBuffer()).add(hash.hi, hash.lo, offset, t);
  }

  // ---------------------------------------------------------------- durability

  private hasPending(): boolean {
    for (const st of this.partitions.values()) if (st.pending && st.pending.length > 0) return true;
    return false;
  }

  /**
   * Group commit: one write at a time; a checkpoint arriving during a write queues the next one,
   * which takes everything pending when it starts, so concurrent lanes share writes.
   */
  protected override persist(): Promise<void> {
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
    const writes: { p: KeyedPartition; entries: Uint8Array[] }[] = [];
    for (const p of this.partitions.values()) {
      if (!p.pending || p.pending.length === 0) continue;
      writes.push({ p, entries: p.pending.encode(this.state.maxEntryBytes) });
      p.pending = undefined;
    }
    await this.state.append(writes);
  }

  protected override running(): Promise<unknown>[] {
    const writes = [this.queued, this.inflight].filter((w) => w !== undefined);
    return [...writes, ...this.state.pending()];
  }

  protected override loading(): number {
    let n = 0;
    for (const p of this.partitions.values()) if (!p.loaded) n++;
    return n;
  }
}
