// The binary form of persisted dedup keys: a 4-byte header, then 20 bytes per key, little-endian
// 32-bit words [hash hi, hash lo, offset low, offset high, time (s)]. The topic and partition are
// in the NATS key of the entry, so a key costs 20 bytes in NATS too.
import { endianness } from 'node:os';

export const KEY_WORDS = 5;
export const KEY_BYTES = KEY_WORDS * 4;
const HEADER = Uint8Array.of(0x57, 0x44, 0x01, 0x00); // "WD", version 1
const HEADER_BYTES = HEADER.length;
const littleEndian = endianness() === 'LE';

/** A growable list of keys accepted since the last persist, for one partition. */
export class KeyBuffer {
  private words: Uint32Array;
  private used = 0;

  constructor(initialKeys = 256) {
    this.words = new Uint32Array(initialKeys * KEY_WORDS);
  }

  get length(): number {
    return this.used / KEY_WORDS;
  }

  add(hi: number, lo: number, offset: number, sec: number): void {
    if (this.used + KEY_WORDS > this.words.length) {
      const bigger = new Uint32Array(this.words.length * 2);
      bigger.set(this.words);
      this.words = bigger;
    }
    const w = this.words;
    const i = this.used;
    w[i] = hi;
    w[i + 1] = lo;
    w[i + 2] = offset >>> 0;
    w[i + 3] = Math.floor(offset / 0x1_0000_0000);
    w[i + 4] = sec;
    this.used += KEY_WORDS;
  }

  /** Adds the words of an index slot (whose 4th word carries the stream in its low 16 bits). */
  addSlot(slot: Uint32Array): void {
    const offset = (slot[3]! >>> 16) * 0x1_0000_0000 + slot[2]!;
    this.add(slot[0]!, slot[1]!, offset, slot[4]!);
  }

  /** Encodes the keys into entries of at most `maxBytes` each. */
  encode(maxBytes: number): Uint8Array[] {
    const perEntry = Math.max(1, Math.floor((maxBytes - HEADER_BYTES) / KEY_BYTES));
    const out: Uint8Array[] = [];
    for (let k = 0; k < this.length; k += perEntry) {
      const n = Math.min(perEntry, this.length - k);
      out.push(encodeKeys(this.words.subarray(k * KEY_WORDS, (k + n) * KEY_WORDS)));
    }
    return out;
  }
}

function encodeKeys(words: Uint32Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + words.length * 4);
  bytes.set(HEADER);
  if (littleEndian) bytes.set(new Uint8Array(words.buffer, words.byteOffset, words.byteLength), 4);
  else {
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < words.length; i++) view.setUint32(HEADER_BYTES + i * 4, words[i]!, true);
  }
  return bytes;
}

/** The keys of an entry as 32-bit words (KEY_WORDS per key); throws on a foreign payload. */
export function decodeKeys(entry: Uint8Array): Uint32Array {
  if (
    entry.length < HEADER_BYTES ||
    entry[0] !== HEADER[0] ||
    entry[1] !== HEADER[1] ||
    entry[2] !== HEADER[2] ||
    (entry.length - HEADER_BYTES) % KEY_BYTES !== 0
  )
    throw new Error(`not a dedup state entry (${entry.length} bytes)`);
  const count = (entry.length - HEADER_BYTES) / 4;
  const start = entry.byteOffset + HEADER_BYTES;
  if (littleEndian && start % 4 === 0) return new Uint32Array(entry.buffer, start, count);
  const words = new Uint32Array(count);
  if (littleEndian) new Uint8Array(words.buffer).set(entry.subarray(HEADER_BYTES));
  else {
    const view = new DataView(entry.buffer, entry.byteOffset, entry.byteLength);
    for (let i = 0; i < count; i++) words[i] = view.getUint32(HEADER_BYTES + i * 4, true);
  }
  return words;
}
