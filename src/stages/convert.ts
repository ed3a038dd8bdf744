// Value conversions to the declared field types, shared by the parse stage and the convert
// transform. The target type and format are resolved once into a converter; per value only the
// input's JS type is inspected. Conversions are deterministic: nothing depends on the clock.
import { RecordError } from '../core/errors.ts';
import type { FieldType, ScalarType } from '../core/fields.ts';
import { parseDateTime, utcMidnight } from './datetime.ts';
import type { TimeFormat } from './options.ts';

/** Converts a non-null value (null handling is the caller's); throws RecordError `type_mismatch`. */
export type Converter = (value: unknown) => unknown;

/** Numbers at or above this magnitude read as epoch milliseconds under `auto` (≈ 1973 in ms). */
export const EPOCH_MS_THRESHOLD = 1e11;

/** The largest epoch ms a JS Date holds (year 275760); beyond it nothing downstream can print it. */
const MAX_EPOCH_MS = 8.64e15;

/** Builds the conversion to `type`; `field` names the field in error messages. */
export function converter(type: FieldType, field: string, format: TimeFormat = 'auto'): Converter {
  const convert = build(type, format);
  return (value) => convert(value, field);
}

/**
 * Builds the conversion of a field already of type `from` to `to`. Date-times are epoch ms
 * already, so `auto` reads them as such, and they become ISO text when converted to string.
 */
export function converterFrom(
  from: FieldType,
  to: ScalarType,
  field: string,
  format: TimeFormat = 'auto',
): Converter {
  const isTime = from.kind === 'datetime' || from.kind === 'date';
  if (isTime && to === 'string') {
    const iso = from.kind === 'date' ? isoDate : isoDateTime;
    return (value) => (typeof value === 'number' ? iso(value) : toString(value, field));
  }
  return converter({ kind: to }, field, isTime && format === 'auto' ? 'epoch_ms' : format);
}

/** A value for messages: its JSON type and its text, truncated. */
export function describeValue(value: unknown): string {
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  text ??= String(value);
  return `${kind} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

type Convert = (value: unknown, field: string) => unknown;

function build(type: FieldType, format: TimeFormat): Convert {
  switch (type.kind) {
    case 'string':
      return toString;
    case 'integer':
      return toInteger;
    case 'number':
      return toNumber;
    case 'boolean':
      return toBoolean;
    case 'datetime':
      return datetimeConverter(timeReaders[format], format, false);
    case 'date':
      return datetimeConverter(timeReaders[format], format, true);
    case 'uuid':
      return toUuid;
    case 'json':
    case 'any':
      return (value) => value;
    case 'array':
      return arrayConverter(build(type.items, format));
    case 'map':
      return mapConverter(build(type.values, format));
  }
}

function mismatch(field: string, expected: string, value: unknown): RecordError {
  return new RecordError(
    'type_mismatch',
    `field "${field}": expected ${expected}, got ${describeValue(value)}`,
  );
}

const NUMERIC_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The number a decimal text spells, or NaN (no hex, no Infinity, no blanks, no empty text). */
export function numericText(s: string): number {
  return NUMERIC_TEXT.test(s) ? Number(s) : NaN;
}

function toString(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  throw mismatch(field, 'string', value);
}

function toNumber(value: unknown, field: string): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string'
        ? numericText(value)
        : typeof value === 'boolean'
          ? +value
          : NaN;
  if (Number.isFinite(n)) return n;
  throw mismatch(field, 'number', value);
}

function toInteger(value: unknown, field: string): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string'
        ? numericText(value)
        : typeof value === 'boolean'
          ? +value
          : NaN;
  if (Number.isSafeInteger(n)) return n;
  // Beyond 2^53 a double no longer holds every integer: the value would change silently.
  if (Number.isInteger(n)) throw mismatch(field, 'integer within ±(2^53-1)', value);
  throw mismatch(field, 'integer', value);
}

function toBoolean(value: unknown, field: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 'true') return true;
  if (value === 0 || value === 'false') return false;
  throw mismatch(field, 'boolean', value);
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function toUuid(value: unknown, field: string): string {
  if (typeof value === 'string' && UUID.test(value)) return value.toLowerCase();
  throw mismatch(field, 'uuid', value);
}

/** Reads a date-time as epoch ms, NaN when the value does not fit the format. */
type TimeReader = (value: unknown) => number;

function autoEpoch(n: number): number {
  return Math.abs(n) >= EPOCH_MS_THRESHOLD ? n : epochSeconds(n);
}

// Rounded to microseconds: 1714564800.123 * 1000 would otherwise carry a spurious fraction.
function epochSeconds(n: number): number {
  return Math.round(n * 1e6) / 1e3;
}

function numberReader(fromNumber: (n: number) => number): TimeReader {
  return (value) => {
    if (typeof value === 'number') return Number.isFinite(value) ? fromNumber(value) : NaN;
    if (typeof value !== 'string') return NaN;
    const ms = parseDateTime(value);
    return Number.isNaN(ms) ? fromNumber(numericText(value)) : ms;
  };
}

const timeReaders: Record<TimeFormat, TimeReader> = {
  auto: numberReader(autoEpoch),
  epoch_ms: numberReader((n) => n),
  epoch_s: numberReader(epochSeconds),
  iso: (value) => (typeof value === 'string' ? parseDateTime(value) : NaN),
};

function datetimeConverter(read: TimeReader, format: TimeFormat, dateOnly: boolean): Convert {
  const expected = `${dateOnly ? 'date' : 'datetime'}${format === 'auto' ? '' : ` (${format})`}`;
  if (dateOnly) {
    return (value, field) => {
      const ms = read(value);
      if (!(Math.abs(ms) <= MAX_EPOCH_MS)) throw mismatch(field, expected, value);
      return utcMidnight(ms);
    };
  }
  return (value, field) => {
    const ms = read(value);
    if (!(Math.abs(ms) <= MAX_EPOCH_MS)) throw mismatch(field, expected, value);
    return ms;
  };
}

// Elements are converted into new containers: the input may be shared with another field.
function arrayConverter(item: Convert): Convert {
  return (value, field) => {
    if (!Array.isArray(value)) throw mismatch(field, 'array', value);
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value[i];
      if (element === null) throw mismatch(`${field}[${i}]`, 'non-null element', element);
      try {
        out[i] = item(element, field);
      } catch {
        // Cold path: redo the conversion under the element's name for the message.
        item(element, `${field}[${i}]`);
        throw mismatch(`${field}[${i}]`, 'convertible element', element);
      }
    }
    return out;
  };
}

function mapConverter(entry: Convert): Convert {
  return (value, field) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw mismatch(field, 'map (JSON object)', value);
    }
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(source)) {
      const element = source[key];
      if (element === null) throw mismatch(`${field}.${key}`, 'non-null value', element);
      let converted: unknown;
      try {
        converted = entry(element, field);
      } catch {
        entry(element, `${field}.${key}`);
        throw mismatch(`${field}.${key}`, 'convertible value', element);
      }
      // A JSON key "__proto__" is data; plain assignment would replace the prototype instead.
      if (key === '__proto__') {
        Object.defineProperty(out, key, { value: converted, enumerable: true, writable: true });
      } else {
        out[key] = converted;
      }
    }
    return out;
  };
}

function isoDateTime(ms: number): string {
  return new Date(ms).toISOString();
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
