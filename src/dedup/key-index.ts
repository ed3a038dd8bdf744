// The in-memory dedup index: an exact open-addressing hash table (linear probing) over one
// Uint32Array, 20 bytes per slot and no JS object per key. A slot holds the 64-bit key hash, the
// origin of the accepted record (stream = topic-partition id, 48-bit offset) and its time in
// whole seconds:
//
//   [hash hi, hash lo, offset low 32 bits, (offset high 16 bits << 16) | stream, time (s)]
//
// A key's home slot is floor(hash hi × capacity / 2^32) rather than a modulo: homes follow the
// order of the hashes, so a resize walks the old table and fills the new one front to back
// (sequential memory access, not a cache miss per key). Time 0 marks an empty slot. An entry is
// alive while the newest time seen on its stream (the watermark; "now" for arrival time) is less
// than `window` seconds past the entry's time. Expired entries are treated as absent at once and
// removed lazily: a sweep cursor visits a few slots per insert (backward-shift deletion, so no
// tombstones), and a resize keeps only live entries. No operation ever scans the whole table
// except a resize, a snapshot of a partition, or `sweepAll` (at most once a second, while the
// index is at dedup.max_keys).

export const SLOT_WORDS = 5;
/** Stream ids fit in 16 bits; 0 is never used. */
export const MAX_STREAMS = 0xffff;
const MIN_CAPACITY = 1024;
/** Grow (or rebuild) when more than this fraction of slots is occupied. */
const MAX_LOAD = 0.8;
/** A resize sizes the table so live keys fill this fraction: 0.8/1.25, keeping ≤ 32 bytes/key. */
const RESIZE_LOAD = 0.64;
/** Shrink when fewer than this fraction of slots is occupied. */
const MIN_LOAD = 0.2;
const OFFSET_LIMIT = 2 ** 48;

export type TimeBase = 'event' | 'arrival';

/** The home slot of a hash: `scale` is capacity / 2^32, so the result is below the capacity. */
const home = (hi: number, scale: number): number => Math.floor(hi * scale);

/** What a probe found: the slot of the key (live or expired), or where it would go. */
export interface Probe {
  slot: number;
  found: boolean;
}

export class KeyIndex {
  private slots: Uint32Array;
  private capacity: number;
  /** capacity / 2^32: maps a 32-bit hash to its home slot. */
  private scale: number;
  /** Occupied slots: live entries plus expired ones not yet swept. */
  private occupied = 0;
  private cursor = 0;
  /** Per stream: newest time seen (s), for event time. Grows with the stream ids in use. */
  private watermark = new Uint32Array(64);
  /** Streams whose entries no longer count (revoked partitions). */
  private retired = new Uint8Array(64);
  private nowSec = 0;
  private nextStream = 1;
  private readonly free: number[] = [];

  constructor(
    readonly windowSec: number,
    readonly timeBase: TimeBase,
    /** One watermark for all streams (global mode, where entries of any partition are cached). */
    private readonly sharedWatermark = false,
    initialCapacity = MIN_CAPACITY,
  ) {
    if (!(windowSec >= 1)) throw new RangeError(`window must be at least 1 s, got ${windowSec}`);
    this.capacity = Math.max(MIN_CAPACITY, Math.ceil(initialCapacity));
    this.scale = this.capacity / 2 ** 32;
    this.slots = new Uint32Array(this.capacity * SLOT_WORDS);
  }

  /** Occupied slots (live keys plus expired ones awaiting the sweep). */
  get size(): number {
    return this.occupied;
  }

  /** Memory held by the index, in bytes. */
  get bytes(): number {
    return this.slots.byteLength + this.watermark.byteLength + this.retired.byteLength;
  }

  get slotCount(): number {
    return this.capacity;
  }

  // ---------------------------------------------------------------- streams and time

  /** A fresh stream id (for a newly assigned partition). */
  openStream(): number {
    if (this.nextStream <= MAX_STREAMS) {
      const id = this.nextStream++;
      if (id >= this.watermark.length) {
        const size = Math.min(MAX_STREAMS + 1, this.watermark.length * 2);
        const watermark = new Uint32Array(size);
        watermark.set(this.watermark);
        const retired = new Uint8Array(size);
        retired.set(this.retired);
        this.watermark = watermark;
        this.retired = retired;
      }
      return id;
    }
    if (this.free.length === 0) {
      // Every id was used once: a resize drops the entries of retired streams, freeing their ids.
      this.resize(this.liveCount());
      for (let s = 1; s <= MAX_STREAMS; s++) if (this.retired[s]) this.free.push(s);
    }
    const id = this.free.pop();
    if (id === undefined) throw new RangeError(`more than ${MAX_STREAMS} partitions at once`);
    this.retired[id] = 0;
    this.watermark[id] = 0;
    return id;
  }

  /** The stream's entries stop counting at once and are removed lazily. */
  retireStream(stream: number): void {
    this.retired[stream] = 1;
  }

  /** Event time: raises the stream's watermark (never lowers it). */
  advance(stream: number, sec: number): void {
    if (this.sharedWatermark) this.setNow(sec);
    else if (sec > this.watermark[stream]!) this.watermark[stream] = sec;
  }

  /** Arrival time: the current time, for every stream. */
  setNow(sec: number): void {
    if (sec > this.nowSec) this.nowSec = sec;
  }

  watermarkOf(stream: number): number {
    return this.timeBase === 'arrival' || this.sharedWatermark
      ? this.nowSec
      : this.watermark[stream]!;
  }

  /** Whether a record at `sec` is older than the window behind its stream's watermark. */
  isLate(stream: number, sec: number): boolean {
    return this.watermarkOf(stream) - sec >= this.windowSec;
  }

  // ---------------------------------------------------------------- slots

  /** Finds the key's slot (live or expired) or the empty slot where it would go. */
  probe(hi: number, lo: number, out: Probe): Probe {
    const s = this.slots;
    const cap = this.capacity;
    let i = home(hi, this.scale);
    for (;;) {
      const b = i * SLOT_WORDS;
      if (s[b + 4] === 0) {
        out.slot = i;
        out.found = false;
        return out;
      }
      if (s[b] === hi && s[b + 1] === lo) {
        out.slot = i;
        out.found = true;
        return out;
      }
      i = i + 1 === cap ? 0 : i + 1;
    }
  }

  isAlive(slot: number): boolean {
    const b = slot * SLOT_WORDS;
    const stream = this.slots[b + 3]! & 0xffff;
    if (this.retired[stream]) return false;
    return this.watermarkOf(stream) - this.slots[b + 4]! < this.windowSec;
  }

  timeOf(slot: number): number {
    return this.slots[slot * SLOT_WORDS + 4]!;
  }

  streamOf(slot: number): number {
    return this.slots[slot * SLOT_WORDS + 3]! & 0xffff;
  }

  /** Whether the entry at `slot` was accepted from exactly this record. */
  sameOrigin(slot: number, stream: number, offset: number): boolean {
    const b = slot * SLOT_WORDS;
    const s = this.slots;
    return (
      (s[b + 3]! & 0xffff) === stream &&
      s[b + 2] === offset >>> 0 &&
      s[b + 3]! >>> 16 === Math.floor(offset / 0x1_0000_0000)
    );
  }

  /** The origin offset of the entry at `slot`. */
  offsetOf(slot: number): number {
    const b = slot * SLOT_WORDS;
    return (this.slots[b + 3]! >>> 16) * 0x1_0000_0000 + this.slots[b + 2]!;
  }

  /**
   * Stores an entry at a probed slot (overwriting the key's expired or older entry, or filling
   * the empty slot). Returns false when the table had to grow first; probe again then.
   */
  write(
    probe: Probe,
    hi: number,
    lo: number,
    stream: number,
    offset: number,
    sec: number,
  ): boolean {
    if (!probe.found) {
      if (this.occupied + 1 > this.capacity * MAX_LOAD) {
        this.resize(this.liveCount() + 1);
        return false;
      }
      this.occupied++;
    }
    this.fill(probe.slot, hi, lo, stream, offset, sec);
    return true;
  }

  /** Probes and stores in one call; keeps an existing live entry with a later time. */
  put(hi: number, lo: number, stream: number, offset: number, sec: number, scratch: Probe): void {
    for (;;) {
      this.probe(hi, lo, scratch);
      if (scratch.found && this.isAlive(scratch.slot) && this.timeOf(scratch.slot) > sec) return;
      if (this.write(scratch, hi, lo, stream, offset, sec)) return;
    }
  }

  private fill(slot: number, hi: number, lo: number, stream: number, offset: number, sec: number) {
    if (!(offset >= 0 && offset < OFFSET_LIMIT))
      throw new RangeError(`offset ${offset} is beyond the 48 bits the dedup index keeps`);
    const b = slot * SLOT_WORDS;
    const s = this.slots;
    s[b] = hi;
    s[b + 1] = lo;
    s[b + 2] = offset >>> 0;
    s[b + 3] = ((Math.floor(offset / 0x1_0000_0000) << 16) | stream) >>> 0;
    s[b + 4] = Math.max(1, sec);
  }

  /** Makes room for `more` keys without growing on the way (used before a rebuild). */
  reserve(more: number): void {
    const needed = this.occupied + more;
    if (needed > this.capacity * MAX_LOAD) this.resize(this.liveCount() + more, 0.75);
  }

  // ---------------------------------------------------------------- expiry

  /** Visits up to `steps` slots from the sweep cursor, removing expired entries. */
  sweep(steps: number): number {
    let removed = 0;
    const cap = this.capacity;
    const perStream = this.timeBase === 'event' && !this.sharedWatermark;
    const { watermark, retired, nowSec, windowSec } = this;
    let i = this.cursor;
    for (let n = 0; n < steps && this.occupied > 0; n++) {
      // isAlive, inlined: this runs for several slots per record.
      const b = i * SLOT_WORDS;
      const t = this.slots[b + 4]!;
      if (t !== 0) {
        const stream = this.slots[b + 3]! & 0xffff;
        if (retired[stream] || (perStream ? watermark[stream]! : nowSec) - t >= windowSec) {
          // The slot now holds the next entry of the run (if any): look at it again.
          this.remove(i);
          removed++;
          continue;
        }
      }
      i = i + 1 === cap ? 0 : i + 1;
    }
    this.cursor = i;
    if (this.capacity > MIN_CAPACITY && this.occupied < this.capacity * MIN_LOAD)
      this.resize(this.liveCount());
    return removed;
  }

  /**
   * Removes every expired entry, so `size` counts live keys only: one pass over the table (tens
   * of milliseconds at millions of keys), for the key cap rather than for every batch.
   */
  sweepAll(): number {
    // Each step removes an entry or moves on one slot: this many steps visit every slot.
    return this.sweep(this.capacity + this.occupied);
  }

  /** Backward-shift deletion: later entries of the run move up so probes still find them. */
  private remove(slot: number): void {
    const s = this.slots;
    const cap = this.capacity;
    let hole = slot;
    let j = slot;
    for (;;) {
      j = j + 1 === cap ? 0 : j + 1;
      const b = j * SLOT_WORDS;
      if (s[b + 4] === 0) break;
      const h = home(s[b]!, this.scale);
      const stays = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (stays) continue;
      s.copyWithin(hole * SLOT_WORDS, b, b + SLOT_WORDS);
      hole = j;
    }
    s.fill(0, hole * SLOT_WORDS, hole * SLOT_WORDS + SLOT_WORDS);
    this.occupied--;
  }

  private liveCount(): number {
    let n = 0;
    const s = this.slots;
    const alive = this.aliveTest();
    for (let b = 0; b < s.length; b += SLOT_WORDS) if (s[b + 4] !== 0 && alive(s, b)) n++;
    return n;
  }

  /** Rehashes the live entries into a table sized for `keys` at `load`. */
  private resize(keys: number, load = RESIZE_LOAD): void {
    const old = this.slots;
    const cap = Math.max(MIN_CAPACITY, Math.ceil(keys / load));
    const scale = cap / 2 ** 32;
    const s = new Uint32Array(cap * SLOT_WORDS);
    const alive = this.aliveTest();
    let occupied = 0;
    for (let b = 0; b < old.length; b += SLOT_WORDS) {
      if (old[b + 4] === 0 || !alive(old, b)) continue;
      let j = home(old[b]!, scale);
      while (s[j * SLOT_WORDS + 4] !== 0) j = j + 1 === cap ? 0 : j + 1;
      // Word by word: a subarray per entry would allocate an object for each of millions of keys.
      const d = j * SLOT_WORDS;
      s[d] = old[b]!;
      s[d + 1] = old[b + 1]!;
      s[d + 2] = old[b + 2]!;
      s[d + 3] = old[b + 3]!;
      s[d + 4] = old[b + 4]!;
      occupied++;
    }
    this.slots = s;
    this.capacity = cap;
    this.scale = scale;
    this.occupied = occupied;
    this.cursor = 0;
  }

  private isAliveIn(s: Uint32Array, b: number): boolean {
    const stream = s[b + 3]! & 0xffff;
    if (this.retired[stream]) return false;
    return this.watermarkOf(stream) - s[b + 4]! < this.windowSec;
  }

  /**
   * `isAliveIn` for a whole-table pass, with the time base decided once: the loops that visit
   * every slot (resize, live count) call it per entry.
   */
  private aliveTest(): (s: Uint32Array, b: number) => boolean {
    const { watermark, retired, nowSec, windowSec } = this;
    if (this.timeBase === 'event' && !this.sharedWatermark)
      return (s, b) => {
        const stream = s[b + 3]! & 0xffff;
        return retired[stream] === 0 && watermark[stream]! - s[b + 4]! < windowSec;
      };
    return (s, b) => retired[s[b + 3]! & 0xffff] === 0 && nowSec - s[b + 4]! < windowSec;
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Calls `emit` with the words of every live entry of `stream` (a view valid during the call),
   * for a snapshot of one partition's state.
   */
  forEachLive(stream: number, emit: (words: Uint32Array) => void): void {
    const s = this.slots;
    for (let i = 0; i < this.capacity; i++) {
      const b = i * SLOT_WORDS;
      if (s[b + 4] === 0 || (s[b + 3]! & 0xffff) !== stream || !this.isAliveIn(s, b)) continue;
      emit(s.subarray(b, b + SLOT_WORDS));
    }
  }
}
