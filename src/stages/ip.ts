// IP addresses and CIDR ranges for expressions: is_ipv4, is_ipv6, in_cidr. node:net's isIP tells
// whether text is an address; the parsing into bits and the matching are here.
//
// Rules: an IPv4 range matches IPv4 addresses and IPv4-mapped IPv6 ones (::ffff:1.2.3.4); an IPv6
// range matches IPv6 addresses only (mapped ones as written). A range is `address/prefix`, with no
// host bits set (10.1.0.0/16, not 10.1.2.3/16), or a bare address (one host: /32, /128).
import { isIP } from 'node:net';

/** An address: v4 as an unsigned 32-bit number, v6 as 16 bytes. Mapped v6 carry both. */
export interface IpAddress {
  readonly v4?: number;
  readonly v6?: Uint8Array;
}

export type CidrRange =
  | { readonly family: 4; readonly base: number; readonly mask: number; readonly prefix: number }
  | { readonly family: 6; readonly bytes: Uint8Array; readonly prefix: number };

/** Text of a valid CIDR range, or a problem and the fix. */
export type CidrParse =
  { ok: true; range: CidrRange } | { ok: false; problem: string; fix: string };

function v4Number(text: string): number {
  const [a, b, c, d] = text.split('.').map(Number);
  return ((a! << 24) | (b! << 16) | (c! << 8) | d!) >>> 0;
}

/** 16 bytes of IPv6 text that isIP() accepted (zone id already removed). */
function v6Bytes(text: string): Uint8Array {
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const n = v4Number(g);
        out.push(n >>> 16, n & 0xffff);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const gap = text.indexOf('::');
  const head = groups(gap < 0 ? text : text.slice(0, gap));
  const tail = gap < 0 ? [] : groups(text.slice(gap + 2));
  const words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >>> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

/** ::ffff:a.b.c.d (80 zero bits, 16 one bits): the IPv4 address it carries. */
function mappedV4(bytes: Uint8Array): number | undefined {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return undefined;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return undefined;
  return ((bytes[12]! << 24) | (bytes[13]! << 16) | (bytes[14]! << 8) | bytes[15]!) >>> 0;
}

/** Parses an address; undefined for anything that is not IPv4 or IPv6 text. */
export function parseIp(value: unknown): IpAddress | undefined {
  if (typeof value !== 'string') return undefined;
  const family = isIP(value);
  if (family === 4) return { v4: v4Number(value) };
  if (family !== 6) return undefined;
  const zone = value.indexOf('%');
  const bytes = v6Bytes(zone < 0 ? value : value.slice(0, zone));
  const v4 = mappedV4(bytes);
  return v4 === undefined ? { v6: bytes } : { v6: bytes, v4 };
}

const v4Text = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');

function v6Text(bytes: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  // The longest run of two or more zero words becomes '::' (RFC 5952).
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (best.at < 0) return hex(words);
  return `${hex(words.slice(0, best.at))}::${hex(words.slice(best.at + best.len))}`;
}

/** Parses `address/prefix` (or a bare address); never throws. */
export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(addr);
  const example = '"192.168.1.0/24" or "2001:db8::/32"';
  if (family === 0 || addr.includes('%'))
    return {
      ok: false,
      problem: `"${addr}" is not an IPv4 or IPv6 address`,
      fix: `write a range as address/prefix, e.g. ${example}`,
    };
  const bits = family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits)
    return {
      ok: false,
      problem: `the prefix length "${prefixText}" is not a whole number from 0 to ${bits}`,
      fix: `write a range as address/prefix, e.g. ${example}`,
    };
  const prefix = Number(prefixText);
  if (family === 4) {
    const n = v4Number(addr);
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const base = (n & mask) >>> 0;
    if (base !== n)
      return {
        ok: false,
        problem: `host bits are set after the first ${prefix}`,
        fix: `write the network address "${v4Text(base)}/${prefix}", or "${addr}" alone for that one host`,
      };
    return { ok: true, range: { family: 4, base, mask, prefix } };
  }
  const bytes = v6Bytes(addr);
  const masked = bytes.map((b, i) => b & byteMask(prefix, i));
  if (masked.some((b, i) => b !== bytes[i]))
    return {
      ok: false,
      problem: `host bits are set after the first ${prefix}`,
      fix: `write the network address "${v6Text(masked)}/${prefix}", or "${addr}" alone for that one host`,
    };
  return { ok: true, range: { family: 6, bytes, prefix } };
}

/** The bits of byte `i` that a /prefix keeps. */
function byteMask(prefix: number, i: number): number {
  const keep = Math.min(Math.max(prefix - 8 * i, 0), 8);
  return (0xff << (8 - keep)) & 0xff;
}

export function inRange(ip: IpAddress, range: CidrRange): boolean {
  if (range.family === 4) return ip.v4 !== undefined && (ip.v4 & range.mask) >>> 0 === range.base;
  const bytes = ip.v6;
  if (bytes === undefined) return false;
  const whole = range.prefix >>> 3;
  for (let i = 0; i < whole; i++) if (bytes[i] !== range.bytes[i]) return false;
  if (whole === 16) return true;
  const m = byteMask(range.prefix, whole);
  return (bytes[whole]! & m) === range.bytes[whole];
}

/**
 * Parsed ranges by their text. The constants of expressions are parsed while compiling (see
 * `checkConstant` of in_cidr) and kept; ranges read from records are kept up to a bound.
 */
const constantRanges = new Map<string, CidrRange>();
const seenRanges = new Map<string, CidrRange>();
const SEEN_MAX = 10_000;

/** Parses a range once and keeps it for every later record. */
export function rememberConstantRange(text: string): CidrParse {
  const parsed = parseCidr(text);
  if (parsed.ok) constantRanges.set(text, parsed.range);
  return parsed;
}

function rangeOf(text: string): CidrRange {
  const known = constantRanges.get(text) ?? seenRanges.get(text);
  if (known) return known;
  const parsed = parseCidr(text);
  if (!parsed.ok)
    throw new TypeError(`in_cidr() range "${text}" is not valid: ${parsed.problem}; ${parsed.fix}`);
  if (seenRanges.size >= SEEN_MAX) seenRanges.clear();
  seenRanges.set(text, parsed.range);
  return parsed.range;
}

/**
 * in_cidr(ip, range, …): whether the address lies in any of the ranges; each range argument is
 * text or a list of text. Not an address: false. A null address or range argument: null.
 */
export function inCidr(ip: unknown, ...ranges: unknown[]): boolean | null {
  if (ip === null || ip === undefined) return null;
  if (ranges.some((r) => r === null || r === undefined)) return null;
  const texts: string[] = [];
  for (const r of ranges) {
    for (const t of Array.isArray(r) ? (r as unknown[]) : [r]) {
      if (typeof t !== 'string')
        throw new TypeError(
          `in_cidr() ranges must be text like "10.0.0.0/8" or lists of them, got ${t === null ? 'null' : typeof t}`,
        );
      texts.push(t);
    }
  }
  // Ranges are checked even when the address is not one, so a bad range never goes unnoticed.
  const parsed = texts.map(rangeOf);
  const addr = parseIp(ip);
  if (addr === undefined) return false;
  return parsed.some((range) => inRange(addr, range));
}
