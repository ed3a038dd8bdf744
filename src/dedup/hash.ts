// A 64-bit non-cryptographic hash of a string: MurmurHash3 x86_128 over the string's UTF-16 code
// units (two per 32-bit word), keeping the first 64 bits. Only 32-bit integer arithmetic, so it
// stays in V8's fast paths: ~0.1 µs for a UUID. The result is written into `out` (no allocation
// per call); the index stores the two halves in Uint32 slots.

/** Two unsigned 32-bit halves of a 64-bit hash. */
export interface Hash64 {
  hi: number;
  lo: number;
}

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Hashes `text` with `seed` into `out` and returns it. */
export function hash64(text: string, out: Hash64, seed = 0): Hash64 {
  const len = text.length;
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  // A block is four 32-bit words, i.e. eight code units.
  const blocks = len >>> 3;
  let i = 0;
  for (let b = 0; b < blocks; b++, i += 8) {
    let k1 = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    let k2 = text.charCodeAt(i + 2) | (text.charCodeAt(i + 3) << 16);
    let k3 = text.charCodeAt(i + 4) | (text.charCodeAt(i + 5) << 16);
    let k4 = text.charCodeAt(i + 6) | (text.charCodeAt(i + 7) << 16);

    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = rotl(h1, 19) + h2;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;

    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = rotl(h2, 17) + h3;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;

    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = rotl(h3, 15) + h4;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;

    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = rotl(h4, 13) + h1;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }

  // Tail: up to seven code units, packed the same way. (No helper closure here: one made per call
  // costs more than the whole hash, notably under tsx, which names every function it creates.)
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  const rest = len - i;
  if (rest >= 7) k4 = text.charCodeAt(i + 6);
  if (rest >= 6) k3 |= text.charCodeAt(i + 5) << 16;
  if (rest >= 5) k3 |= text.charCodeAt(i + 4);
  if (rest >= 4) k2 |= text.charCodeAt(i + 3) << 16;
  if (rest >= 3) k2 |= text.charCodeAt(i + 2);
  if (rest >= 2) k1 |= text.charCodeAt(i + 1) << 16;
  if (rest >= 1) k1 |= text.charCodeAt(i);
  if (rest > 6) {
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
  }
  if (rest > 4) {
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
  }
  if (rest > 2) {
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
  }
  if (rest > 0) {
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
  }

  // Finalization; the length is in bytes, as in the reference implementation.
  const bytes = len * 2;
  h1 ^= bytes;
  h2 ^= bytes;
  h3 ^= bytes;
  h4 ^= bytes;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  out.hi = h1 >>> 0;
  out.lo = h2 >>> 0;
  return out;
}

/** The hash as 16 hex digits, e.g. for a NATS key. */
export function hashHex(h: Hash64): string {
  return h.hi.toString(16).padStart(8, '0') + h.lo.toString(16).padStart(8, '0');
}
