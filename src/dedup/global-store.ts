// Global mode's state: one claim per dedup key, shared by every agent, in the same NATS KV bucket
// keyed mode would use. A claim names the record a key was first accepted from; it is written
// with compare-and-set, so two agents cannot both win a key.
import { isWrongLastSequence, type Bucket } from '../state/nats.ts';

/** The record a key was first accepted from, and its time in seconds. */
export interface Claim {
  topic: string;
  partition: number;
  offset: number;
  sec: number;
}

export interface GlobalStore {
  /**
   * Claims `key` for `mine` unless a claim exists that `holds` (is a live one); returns the
   * claim in force afterwards. Atomic across agents (compare-and-set).
   */
  claim(key: string, mine: Claim, holds: (existing: Claim) => boolean): Promise<Claim>;
}

/** Global mode: `k.<hash>` → claim, written with compare-and-set. */
export class NatsGlobalStore implements GlobalStore {
  constructor(private readonly bucket: Bucket) {}

  async claim(key: string, mine: Claim, holds: (existing: Claim) => boolean): Promise<Claim> {
    const { kv } = this.bucket;
    const k = `k.${key}`;
    const value = encodeClaim(mine);
    for (let attempt = 0; ; attempt++) {
      try {
        await kv.put(k, value, { previousSeq: 0 });
        return mine;
      } catch (err) {
        if (!isWrongLastSequence(err) || attempt > 8) throw err;
      }
      const e = await kv.get(k);
      if (!e) continue;
      const existing = e.operation === 'PUT' ? decodeClaim(e.value) : undefined;
      if (existing && holds(existing)) return existing;
      try {
        await kv.update(k, value, e.revision);
        return mine;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
    }
  }
}

export function encodeClaim(c: Claim): Uint8Array {
  const topic = new TextEncoder().encode(c.topic);
  const out = new Uint8Array(16 + topic.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, c.partition, true);
  view.setUint32(4, c.offset >>> 0, true);
  view.setUint32(8, Math.floor(c.offset / 0x1_0000_0000), true);
  view.setUint32(12, c.sec, true);
  out.set(topic, 16);
  return out;
}

export function decodeClaim(b: Uint8Array): Claim | undefined {
  if (b.length < 16) return undefined;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    partition: view.getUint32(0, true),
    offset: view.getUint32(8, true) * 0x1_0000_0000 + view.getUint32(4, true),
    sec: view.getUint32(12, true),
    topic: new TextDecoder().decode(b.subarray(16)),
  };
}
