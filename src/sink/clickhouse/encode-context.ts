// What every encoder shares: the Encoder type, the server features they depend on, and how a
// bad value becomes a RecordError that names the column and shows the value briefly.
import { RecordError } from '../../core/errors.ts';
import { chTypeToString, type ChType } from './types.ts';

/** Returns the JSON text of a value, or throws RecordError. */
export type Encoder = (value: unknown) => string;

/** What the encoders need to know about the server (see `ServerInfo`). */
export interface EncodingFeatures {
  /** Server time zone: the zone of DateTime64 columns declared without one. */
  timezone: string;
  /** Named tuples are read from JSON objects (newer servers) rather than arrays (older ones). */
  namedTuplesAsObjects: boolean;
  /** Dates stop at 2105-12-31 (older servers silently store 0 beyond it) instead of 2149-06-06. */
  legacyDateRange: boolean;
}

export const modernEncoding: EncodingFeatures = {
  timezone: 'UTC',
  namedTuplesAsObjects: true,
  legacyDateRange: false,
};

const MAX_PREVIEW = 60;

/** A short, bounded rendering of a bad value for error messages. */
export function preview(value: unknown): string {
  let s: string;
  if (typeof value === 'bigint') s = `${value}n`;
  else if (value === undefined) s = 'undefined';
  else if (typeof value === 'number') s = String(value);
  else {
    try {
      // JSON.stringify gives undefined for functions and symbols.
      const json: string | undefined = JSON.stringify(value);
      s = json ?? typeof value;
    } catch {
      s = Object.prototype.toString.call(value);
    }
  }
  return s.length > MAX_PREVIEW ? `${s.slice(0, MAX_PREVIEW)}…` : s;
}

/** What an encoder under construction knows: where it sits and which server it writes for. */
export interface Ctx {
  /** Column name, with `[]`, `{}`, `{key}` or `.name` appended for nested parts. */
  path: string;
  features: EncodingFeatures;
}

/**
 * The thrower of one encoder: a null or missing value is `null_in_non_nullable` (Nullable columns
 * never get here), anything else the reason given.
 */
export function failer(
  ctx: Ctx,
  t: ChType,
): (value: unknown, reason: string, what: string) => never {
  const where = `column ${JSON.stringify(ctx.path)} ${chTypeToString(t)}`;
  return (value, reason, what) => {
    if (value === null || value === undefined) {
      throw new RecordError(
        'null_in_non_nullable',
        `${where}: got ${preview(value)} but the column is not Nullable`,
      );
    }
    throw new RecordError(reason, `${where}: ${what}, got ${preview(value)}`);
  };
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The JSON text of a string: quoted as it is when nothing in it needs escaping (quote, backslash,
 * control characters, lone surrogates), which is the common case and about twice as fast as
 * JSON.stringify for short values; JSON.stringify otherwise. Strings are most of a row's values.
 */
export function jsonString(v: string): string {
  if (v.length > 64) return JSON.stringify(v);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff))
      return JSON.stringify(v);
  }
  return `"${v}"`;
}

/** JSON text of a value, or undefined when it has none (bigint, cycles). */
export function jsonText(v: unknown): string | undefined {
  try {
    return JSON.stringify(v);
  } catch {
    return undefined;
  }
}
