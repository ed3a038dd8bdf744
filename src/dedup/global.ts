// Global mode: several agents read a topic that is not keyed by the dedup key, so a key's copies
// may reach any of them. The truth is a claim per key in NATS (compare-and-set, shared by every
// agent); the local index only caches the claims seen, so nothing is rebuilt on assignment and
// nothing is left to persist at a checkpoint.
import type { Envelope, StageOutput } from '../core/record.ts';
import { DedupBase, sec } from './common.ts';
import type { Claim, GlobalStore } from './global-store.ts';
import { hash64, hashHex } from './hash.ts';
import type { DedupDeps, DedupSettings } from './stage.ts';

interface Item {
  env: Envelope;
  hi: number;
  lo: number;
  t: number;
  stream: number;
  offset: number;
}

export class GlobalDedup extends DedupBase {
  private readonly store: GlobalStore;
  /** One stable stream id per topic-partition (entries of any partition are cached). */
  private readonly streams = new Map<string, number>();

  constructor(s: DedupSettings, d: DedupDeps) {
    super(s, d);
    if (!d.global) throw new Error('global dedup needs a global store');
    this.store = d.global;
  }

  onAssign(topic: string, partition: number): Promise<void> {
    this.streamOf(topic, partition);
    return Promise.resolve();
  }

  onRevoke(): void {
    // The cache stays: claims are valid whoever owns the partition.
    this.updateGauges();
  }

  private streamOf(topic: string, partition: number): number {
    const key = `${topic}/${partition}`;
    let id = this.streams.get(key);
    if (id === undefined) {
      id = this.index.openStream();
      this.streams.set(key, id);
      this.streamNames.set(id, { topic, partition });
    }
    return id;
  }

  /**
   * Keys the local index cannot decide are claimed in NATS with compare-and-set (pipelined, one
   * round trip per new key), then the batch is decided in order as in keyed mode.
   */
  async process(batch: Envelope[]): Promise<StageOutput> {
    await this.belowCap();
    const run = this.startBatch();
    const { out, counts, nowMs, cap, arrival } = run;
    const { index, probe, hash } = this;
    const items: (Item | null)[] = [];
    const claims = new Map<string, { it: Item; mine: Claim; claim: Promise<Claim> }>();
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
      const stream = this.streamOf(env.source.topic, env.source.partition);
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
      claims.set(hex, { it, mine, claim: this.claim(it, mine) });
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
        this.late(env, it.stream, it.t, run);
        continue;
      }
      // Rare: the same key again in this batch, further than the window from its claim.
      const mine = mineOf(it);
      const c = await this.claim(it, mine);
      this.cache(it.hi, it.lo, c);
      if (c === mine) {
        out.out.push(env);
        counts.unique++;
      } else {
        this.drop(env, probe.slot, out);
        counts.duplicate++;
      }
    }
    return this.endBatch(run, batch.length);
  }

  private claim(it: Item, mine: Claim): Promise<Claim> {
    return this.calls.retry('dedup_claim', 'claim a dedup key', () =>
      this.store.claim(hashHex(it), mine, (c) => Math.abs(c.sec - it.t) < this.windowSec),
    );
  }

  private cache(hi: number, lo: number, c: Claim): void {
    const { index, probe } = this;
    const stream = this.streamOf(c.topic, c.partition);
    for (;;) {
      index.probe(hi, lo, probe);
      if (index.write(probe, hi, lo, stream, c.offset, c.sec)) return;
    }
  }
}

const mineOf = (it: Item): Claim => ({
  topic: it.env.source.topic,
  partition: it.env.source.partition,
  offset: it.offset,
  sec: it.t,
});
