// Encoders for text-like columns: String, FixedString, UUID, IPv4/IPv6, Enum, JSON.
import { isIP, isIPv4 } from 'node:net';
import type { FieldType } from '../../core/fields.ts';
import type { ChType } from './types.ts';
import {
  failer,
  isPlainObject,
  jsonString,
  jsonText,
  type Ctx,
  type Encoder,
} from './encode-context.ts';

export function stringEncoder(t: ChType, ft: FieldType, ctx: Ctx): Encoder {
  const fail = failer(ctx, t);
  if (ft.kind === 'json') {
    // A json field always lands as JSON text, so the column holds valid JSON (a string as "\"s\"").
    return (v) => {
      const text = v === null || v === undefined ? undefined : jsonText(v);
      return text === undefined
        ? fail(v, 'type_mismatch', 'expected a JSON value')
        : JSON.stringify(text);
    };
  }
  if (ft.kind === 'string' || ft.kind === 'uuid') {
    return (v) =>
      typeof v === 'string' ? jsonString(v) : fail(v, 'type_mismatch', 'expected a string');
  }
  // Untyped values: strings as they are, anything else as its JSON text.
  return (v) => {
    if (typeof v === 'string') return jsonString(v);
    const text = v === null || v === undefined ? undefined : jsonText(v);
    return text === undefined
      ? fail(v, 'type_mismatch', 'expected a string or a JSON value')
      : JSON.stringify(text);
  };
}

export function fixedStringEncoder(t: Extract<ChType, { kind: 'FixedString' }>, ctx: Ctx): Encoder {
  const n = t.length;
  const fail = failer(ctx, t);
  return (v) => {
    if (typeof v !== 'string') return fail(v, 'type_mismatch', 'expected a string');
    // UTF-16 length bounds the UTF-8 length from below (and from above at 3 bytes per unit).
    if (v.length > n || (v.length * 3 > n && Buffer.byteLength(v) > n)) {
      return fail(v, 'out_of_range', `longer than ${n} bytes`);
    }
    return jsonString(v);
  };
}

const uuidLower = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const uuidAny = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function uuidEncoder(t: ChType, ctx: Ctx): Encoder {
  const fail = failer(ctx, t);
  return (v) => {
    if (typeof v === 'string') {
      if (uuidLower.test(v)) return `"${v}"`;
      // 18.16 reads only the dashed form: normalise upper case and undashed UUIDs.
      if (uuidAny.test(v)) {
        const h = v.replace(/-/g, '').toLowerCase();
        return `"${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}"`;
      }
    }
    return fail(v, 'type_mismatch', 'expected a UUID string');
  };
}

export function ipEncoder(t: Extract<ChType, { kind: 'IPv4' | 'IPv6' }>, ctx: Ctx): Encoder {
  const fail = failer(ctx, t);
  // An IPv6 column also takes IPv4 addresses (stored as ::ffff:a.b.c.d).
  const valid = t.kind === 'IPv4' ? isIPv4 : (s: string) => isIP(s) !== 0;
  return (v) =>
    typeof v === 'string' && valid(v)
      ? `"${v}"`
      : fail(v, 'type_mismatch', `expected an ${t.kind} address`);
}

export function enumEncoder(t: Extract<ChType, { kind: 'Enum' }>, ctx: Ctx): Encoder {
  const byName = new Map(t.values.map((e) => [e.name, JSON.stringify(e.name)]));
  const byValue = new Map(t.values.map((e) => [e.value, JSON.stringify(e.name)]));
  const fail = failer(ctx, t);
  // Always the name: 18.16 does not read enum numbers in JSON.
  return (v) =>
    (typeof v === 'string' ? byName.get(v) : typeof v === 'number' ? byValue.get(v) : undefined) ??
    fail(v, 'invalid_enum', 'not a value of the enum');
}

export function jsonObjectEncoder(t: ChType, ctx: Ctx): Encoder {
  const fail = failer(ctx, t);
  return (v) => {
    const text = isPlainObject(v) ? jsonText(v) : undefined;
    return text ?? fail(v, 'type_mismatch', 'expected a JSON object');
  };
}
