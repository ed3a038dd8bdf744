// Per-column encoders: internal values -> the JSON text of one JSONEachRow value. Built once per
// column (every decision about the column type is taken here, at build time); each call only
// checks the value. The forms chosen are the ones both ClickHouse 18.16 and current servers read
// the same way (see docs/clickhouse-types.md and test/integration/clickhouse-types.test.ts).
import { WeirError } from '../../core/errors.ts';
import type { FieldInfo, FieldType } from '../../core/fields.ts';
import type { ChType } from './types.ts';
import {
  failer,
  isPlainObject,
  modernEncoding,
  type Ctx,
  type Encoder,
  type EncodingFeatures,
} from './encode-context.ts';
import { intEncoder, floatEncoder, decimalEncoder, boolEncoder } from './encode-number.ts';
import {
  enumEncoder,
  fixedStringEncoder,
  ipEncoder,
  jsonObjectEncoder,
  stringEncoder,
  uuidEncoder,
} from './encode-text.ts';
import { dateEncoder, dateTime64Encoder, dateTimeEncoder } from './encode-time.ts';

export { modernEncoding, preview, type Encoder, type EncodingFeatures } from './encode-context.ts';

export interface EncoderOptions {
  /** Column name for error messages; default: the field's name. */
  column?: string;
  /** Default: a current server in UTC. */
  features?: EncodingFeatures;
}

const anyType: FieldType = { kind: 'any' };

/** Builds the encoder of one column for one field. Throws WeirError for a type Weir cannot write. */
export function encoderFor(col: ChType, field: FieldInfo, opts: EncoderOptions = {}): Encoder {
  const ctx: Ctx = { path: opts.column ?? field.name, features: opts.features ?? modernEncoding };
  return build(col, field.type, ctx, field.nullable);
}

function nested(ctx: Ctx, suffix: string): Ctx {
  return { ...ctx, path: ctx.path + suffix };
}

/** `nullAsEmpty`: Array and Map columns cannot be Nullable, so a nullable field writes null as empty. */
function build(t: ChType, ft: FieldType, ctx: Ctx, nullAsEmpty = false): Encoder {
  switch (t.kind) {
    case 'Nullable': {
      const inner = build(t.inner, ft, ctx);
      return (v) => (v === null || v === undefined ? 'null' : inner(v));
    }
    case 'LowCardinality':
      return build(t.inner, ft, ctx, nullAsEmpty);
    case 'Array':
      return arrayEncoder(t, ft, ctx, nullAsEmpty);
    case 'Map':
      return mapEncoder(t, ft, ctx, nullAsEmpty);
    case 'Tuple':
      return tupleEncoder(t, ctx);
    case 'String':
      return stringEncoder(t, ft, ctx);
    case 'FixedString':
      return fixedStringEncoder(t, ctx);
    case 'Int':
      return intEncoder(t, ctx);
    case 'Float':
      return floatEncoder(t, ctx);
    case 'Decimal':
      return decimalEncoder(t, ctx);
    case 'Bool':
      return boolEncoder(t, ctx);
    case 'UUID':
      return uuidEncoder(t, ctx);
    case 'Date':
    case 'Date32':
      return dateEncoder(t, ctx);
    case 'DateTime':
      return dateTimeEncoder(t, ctx);
    case 'DateTime64':
      return dateTime64Encoder(t, ctx);
    case 'Enum':
      return enumEncoder(t, ctx);
    case 'JSON':
      return jsonObjectEncoder(t, ctx);
    case 'IPv4':
    case 'IPv6':
      return ipEncoder(t, ctx);
    case 'Nothing': {
      const fail = failer(ctx, t);
      return (v) => fail(v, 'type_mismatch', 'a Nothing column holds only NULL');
    }
    case 'Unknown':
      throw new WeirError(
        `column ${JSON.stringify(ctx.path)} has type ${t.text}, which Weir cannot write`,
      );
  }
}

// ---------------------------------------------------------------- containers

function arrayEncoder(
  t: Extract<ChType, { kind: 'Array' }>,
  ft: FieldType,
  ctx: Ctx,
  nullAsEmpty: boolean,
): Encoder {
  const element = build(t.element, ft.kind === 'array' ? ft.items : anyType, nested(ctx, '[]'));
  const fail = failer(ctx, t);
  return (v) => {
    if (!Array.isArray(v)) {
      if (nullAsEmpty && (v === null || v === undefined)) return '[]';
      return fail(v, 'type_mismatch', 'expected an array');
    }
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i === 0 ? '' : ',') + element(v[i]);
    return s + ']';
  };
}

function mapEncoder(
  t: Extract<ChType, { kind: 'Map' }>,
  ft: FieldType,
  ctx: Ctx,
  nullAsEmpty: boolean,
): Encoder {
  const keyCtx = nested(ctx, '{key}');
  const keyEncoder = build(t.key, { kind: 'string' }, keyCtx);
  // JSON object keys are always strings: a numeric key type reads "5" as 5.
  const key = (k: string): string => {
    const text = keyEncoder(k);
    return text.charCodeAt(0) === 34 ? text : `"${text}"`;
  };
  const value = build(t.value, ft.kind === 'map' ? ft.values : anyType, nested(ctx, '{}'));
  const fail = failer(ctx, t);
  return (v) => {
    if (!isPlainObject(v)) {
      if (nullAsEmpty && (v === null || v === undefined)) return '{}';
      return fail(v, 'type_mismatch', 'expected an object');
    }
    let s = '{';
    let first = true;
    for (const k of Object.keys(v)) {
      s += (first ? '' : ',') + key(k) + ':' + value(v[k]);
      first = false;
    }
    return s + '}';
  };
}

function tupleEncoder(t: Extract<ChType, { kind: 'Tuple' }>, ctx: Ctx): Encoder {
  const names = t.elements.map((e, i) => e.name ?? String(i + 1));
  const encoders = t.elements.map((e, i) => build(e.type, anyType, nested(ctx, `.${names[i]}`)));
  const named = t.elements.length > 0 && t.elements.every((e) => e.name !== undefined);
  const asObject = named && ctx.features.namedTuplesAsObjects;
  const keys = names.map((n) => JSON.stringify(n) + ':');
  const n = encoders.length;
  const fail = failer(ctx, t);
  return (v) => {
    let get: (i: number) => unknown;
    if (Array.isArray(v)) {
      if (v.length !== n) return fail(v, 'type_mismatch', `expected ${n} elements`);
      get = (i) => v[i];
    } else if (named && isPlainObject(v)) {
      get = (i) => v[names[i] ?? ''];
    } else {
      return fail(
        v,
        'type_mismatch',
        named ? 'expected an array or an object' : 'expected an array',
      );
    }
    let s = asObject ? '{' : '[';
    for (let i = 0; i < n; i++)
      s += (i === 0 ? '' : ',') + (asObject ? keys[i] : '') + (encoders[i] as Encoder)(get(i));
    return s + (asObject ? '}' : ']');
  };
}
