// Encoders for numeric columns: (U)Int8..256, Float32/64, Decimal, Bool.
import type { ChType } from './types.ts';
import { failer, type Ctx, type Encoder } from './encode-context.ts';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const integerText = /^-?\d+$/;

export function intEncoder(t: Extract<ChType, { kind: 'Int' }>, ctx: Ctx): Encoder {
  // Exact powers of two are exact doubles, so number comparisons are exact at every width.
  const lo = t.signed ? -(2 ** (t.bits - 1)) : 0;
  const hi = t.signed ? 2 ** (t.bits - 1) : 2 ** t.bits; // exclusive
  const loBig = t.signed ? -(1n << BigInt(t.bits - 1)) : 0n;
  const hiBig = t.signed ? 1n << BigInt(t.bits - 1) : 1n << BigInt(t.bits);
  const range = `${loBig}..${hiBig - 1n}`;
  const acceptsBoolean = t.bits === 8;
  const fail = failer(ctx, t);
  const big = (b: bigint, v: unknown): string =>
    b >= loBig && b < hiBig ? b.toString() : fail(v, 'out_of_range', `outside ${range}`);
  const slow = (v: unknown): string => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) return fail(v, 'type_mismatch', 'expected an integer');
      if (v < lo || v >= hi) return fail(v, 'out_of_range', `outside ${range}`);
      return BigInt(v).toString(); // beyond 2^53: avoid exponent notation, which ClickHouse rejects
    }
    if (typeof v === 'bigint') return big(v, v);
    if (typeof v === 'string' && integerText.test(v)) return big(BigInt(v), v);
    if (acceptsBoolean && typeof v === 'boolean') return v ? '1' : '0';
    return fail(v, 'type_mismatch', 'expected an integer');
  };
  // ClickHouse wraps out-of-range integers silently (256 -> 0 in UInt8): the range check is ours.
  return (v) =>
    typeof v === 'number' &&
    v >= lo &&
    v < hi &&
    v <= MAX_SAFE &&
    v >= -MAX_SAFE &&
    Number.isInteger(v)
      ? String(v)
      : slow(v);
}

const FLOAT32_MAX = 3.4028234663852886e38;

export function floatEncoder(t: Extract<ChType, { kind: 'Float' }>, ctx: Ctx): Encoder {
  const max = t.bits === 32 ? FLOAT32_MAX : Number.MAX_VALUE;
  const fail = failer(ctx, t);
  const slow = (v: unknown): string => {
    if (typeof v === 'number') {
      if (Number.isNaN(v)) return '"nan"';
      if (v === Infinity) return '"inf"';
      if (v === -Infinity) return '"-inf"';
      return fail(v, 'out_of_range', `outside the Float${t.bits} range`);
    }
    if (typeof v === 'bigint') return slow(Number(v));
    return fail(v, 'type_mismatch', 'expected a number');
  };
  return (v) => (typeof v === 'number' && v <= max && v >= -max ? String(v) : slow(v));
}

export function decimalEncoder(t: Extract<ChType, { kind: 'Decimal' }>, ctx: Ctx): Encoder {
  const { precision, scale } = t;
  const intDigits = precision - scale;
  const limit = 10 ** intDigits; // exclusive bound of the absolute value
  const fail = failer(ctx, t);
  const tooBig = (v: unknown): never =>
    fail(v, 'out_of_range', `more than ${intDigits} digits before the point`);
  // 18.16 rejects extra fractional digits (newer servers truncate them): round to the scale here.
  const fromNumber = (v: number): string => {
    const text = Math.abs(v) >= 1e21 ? BigInt(Math.round(v)).toString() : v.toFixed(scale);
    const dot = text.indexOf('.');
    const intPart = text.slice(text.charCodeAt(0) === 45 ? 1 : 0, dot < 0 ? text.length : dot);
    // Rounding may carry into a new digit (9.996 -> "10.00").
    return (intPart === '0' ? 0 : intPart.length) > intDigits ? tooBig(v) : text;
  };
  const fromText = (v: string): string => {
    const m = /^(-?)0*(\d*?)(?:\.(\d+))?$/.exec(v);
    if (!m || v === '' || v === '-') return fail(v, 'type_mismatch', 'expected a decimal number');
    const [, sign = '', whole = '', frac = ''] = m;
    if (whole.length > intDigits) return tooBig(v);
    const kept = frac.slice(0, scale); // truncates like ClickHouse
    return `${sign}${whole === '' ? '0' : whole}${kept === '' ? '' : `.${kept}`}`;
  };
  const slow = (v: unknown): string => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return fail(v, 'type_mismatch', 'expected a finite number');
      if (Math.abs(v) >= limit) return tooBig(v);
      return fromNumber(v);
    }
    if (typeof v === 'bigint') return fromText(v.toString());
    if (typeof v === 'string') return fromText(v);
    return fail(v, 'type_mismatch', 'expected a number');
  };
  return (v) => {
    if (typeof v === 'number' && v < limit && v > -limit) {
      const s = String(v);
      // The shortest round-trip text when it has no exponent and few enough decimals.
      if (s.indexOf('e') < 0) {
        const dot = s.indexOf('.');
        if (dot < 0 || s.length - dot - 1 <= scale) return s;
      }
      return fromNumber(v);
    }
    return slow(v);
  };
}

export function boolEncoder(t: ChType, ctx: Ctx): Encoder {
  const fail = failer(ctx, t);
  return (v) =>
    v === true || v === 1
      ? 'true'
      : v === false || v === 0
        ? 'false'
        : fail(v, 'type_mismatch', 'expected a boolean');
}
