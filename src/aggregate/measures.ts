// The measures of an aggregation: what `count()`, `sum(x)`, `uniq(x)` … mean, how each keeps its
// state per window (an accumulator), folds a record into it, encodes it for NATS and sizes it.
//
// Every accumulator is a function of the set of records folded into it, taken in offset order:
// sums add in offset order (floating-point addition is not associative, so the order is part of
// the result), first/last compare event time then offset, uniq keeps a set, uniq_approx a
// HyperLogLog. A window rebuilt from its stored state plus the records after it therefore equals
// the window of an uninterrupted run, value for value.
import type { FieldInfo, FieldType } from '../core/fields.ts';
import { Hll } from './hll.ts';

export const measureFunctions = [
  'count',
  'sum',
  'min',
  'max',
  'avg',
  'uniq',
  'uniq_approx',
  'first',
  'last',
] as const;
export type MeasureFunction = (typeof measureFunctions)[number];

export interface MeasureSpec {
  /** The output field. */
  name: string;
  fn: MeasureFunction;
  /** The input field; absent only for count(). */
  field?: string;
}

const measurePattern = /^\s*([a-z_]+)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)?\s*\)\s*$/;

/** Parses `fn(field)` / `count()`; returns a problem text when it is not a measure. */
export function parseMeasure(name: string, text: string): MeasureSpec | string {
  const m = measurePattern.exec(text);
  if (!m)
    return `invalid measure "${text}": write <function>(<field>), e.g. sum(amount) or count()`;
  const fn = m[1]!;
  const field = m[2];
  if (!(measureFunctions as readonly string[]).includes(fn))
    return `unknown measure function "${fn}": use one of ${measureFunctions.join(', ')}`;
  if (fn !== 'count' && field === undefined) return `${fn}() needs a field, e.g. ${fn}(amount)`;
  return field === undefined
    ? { name, fn: fn as MeasureFunction }
    : { name, fn: fn as MeasureFunction, field };
}

/** The type of a measure's output field, given the input field (undefined for count()). */
export function measureType(
  fn: MeasureFunction,
  input: FieldInfo | undefined,
): { type: FieldType; nullable: boolean } {
  switch (fn) {
    case 'count':
    case 'uniq':
    case 'uniq_approx':
      return { type: { kind: 'integer' }, nullable: false };
    case 'sum':
      return {
        type: { kind: input?.type.kind === 'integer' ? 'integer' : 'number' },
        nullable: false,
      };
    case 'avg':
      return { type: { kind: 'number' }, nullable: true };
    default:
      // min, max, first, last: a value of the field (null when every value was null).
      return { type: input?.type ?? { kind: 'any' }, nullable: true };
  }
}

/** Which input field types a function accepts (undefined: any). */
export function acceptsType(fn: MeasureFunction, kind: string): boolean {
  if (fn === 'sum' || fn === 'avg')
    return kind === 'integer' || kind === 'number' || kind === 'any';
  if (fn === 'min' || fn === 'max')
    return ['integer', 'number', 'datetime', 'date', 'string', 'uuid', 'any'].includes(kind);
  return true;
}

// ---------------------------------------------------------------- accumulators

/** Bytes of an accumulator beyond its values: the slot, the object, boxed numbers. */
const ACC_BYTES = 48;
/** Bytes a value takes in a uniq set beyond its text: the set entry and the string header. */
const SET_ENTRY_BYTES = 64;

interface Sum {
  s: number;
}
interface Count {
  n: number;
}
interface Avg {
  s: number;
  n: number;
}
interface Extreme {
  v: unknown;
}
interface Pick {
  /** Event time and offset of the record the value is from; v undefined: none yet. */
  t: number;
  o: number;
  v: unknown;
}
interface Uniq {
  set: Set<string>;
  bytes: number;
}

type Acc = Sum | Count | Avg | Extreme | Pick | Uniq | Hll;

/** The text a value is counted by in uniq (strings as themselves, others as JSON). */
const uniqText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

const textBytes = (v: unknown): number => (typeof v === 'string' ? v.length * 2 : 8);

/** One measure's operations over its accumulators. */
export interface MeasureOps {
  readonly spec: MeasureSpec;
  init(): Acc;
  /** Folds a record's value in; returns the change of the accumulator's bytes. */
  add(acc: Acc, value: unknown, t: number, offset: number): number;
  result(acc: Acc): unknown;
  bytes(acc: Acc): number;
  /** JSON-serializable state. */
  encode(acc: Acc): unknown;
  decode(data: unknown): Acc;
}

export function measureOps(spec: MeasureSpec): MeasureOps {
  const base = { spec };
  switch (spec.fn) {
    case 'count':
      return {
        ...base,
        init: () => ({ n: 0 }),
        add(acc, v) {
          if (spec.field === undefined || (v !== null && v !== undefined)) (acc as Count).n++;
          return 0;
        },
        result: (acc) => (acc as Count).n,
        bytes: () => ACC_BYTES,
        encode: (acc) => (acc as Count).n,
        decode: (d) => ({ n: d as number }),
      };
    case 'sum':
      return {
        ...base,
        init: () => ({ s: 0 }),
        add(acc, v) {
          if (typeof v === 'number') (acc as Sum).s += v;
          return 0;
        },
        result: (acc) => (acc as Sum).s,
        bytes: () => ACC_BYTES,
        encode: (acc) => (acc as Sum).s,
        decode: (d) => ({ s: d as number }),
      };
    case 'avg':
      return {
        ...base,
        init: () => ({ s: 0, n: 0 }),
        add(acc, v) {
          if (typeof v !== 'number') return 0;
          (acc as Avg).s += v;
          (acc as Avg).n++;
          return 0;
        },
        result: (acc) => ((acc as Avg).n === 0 ? null : (acc as Avg).s / (acc as Avg).n),
        bytes: () => ACC_BYTES,
        encode: (acc) => [(acc as Avg).s, (acc as Avg).n],
        decode: (d) => ({ s: (d as number[])[0]!, n: (d as number[])[1]! }),
      };
    case 'min':
    case 'max': {
      const better =
        spec.fn === 'min'
          ? (a: unknown, b: unknown) => (a as number) < (b as number)
          : (a: unknown, b: unknown) => (a as number) > (b as number);
      return {
        ...base,
        init: () => ({ v: null }),
        add(acc, v) {
          if (v === null || v === undefined) return 0;
          const a = acc as Extreme;
          if (a.v !== null && !better(v, a.v)) return 0;
          const delta = textBytes(v) - (a.v === null ? 0 : textBytes(a.v));
          a.v = v;
          return delta;
        },
        result: (acc) => (acc as Extreme).v,
        bytes: (acc) =>
          ACC_BYTES + ((acc as Extreme).v === null ? 0 : textBytes((acc as Extreme).v)),
        encode: (acc) => (acc as Extreme).v,
        decode: (d) => ({ v: d ?? null }),
      };
    }
    case 'first':
    case 'last': {
      const first = spec.fn === 'first';
      return {
        ...base,
        init: () => ({ t: 0, o: -1, v: undefined }),
        add(acc, v, t, offset) {
          if (v === null || v === undefined) return 0;
          const a = acc as Pick;
          // Records come in offset order: a tie in event time keeps the lower offset for first and
          // takes the higher one for last.
          const take = a.v === undefined || (first ? t < a.t : t >= a.t);
          if (!take) return 0;
          const delta = textBytes(v) - (a.v === undefined ? 0 : textBytes(a.v));
          a.t = t;
          a.o = offset;
          a.v = v;
          return delta;
        },
        result: (acc) => (acc as Pick).v ?? null,
        bytes: (acc) =>
          ACC_BYTES + ((acc as Pick).v === undefined ? 0 : textBytes((acc as Pick).v)),
        encode: (acc) => {
          const a = acc as Pick;
          return a.v === undefined ? null : [a.t, a.o, a.v];
        },
        decode: (d) => {
          if (d === null) return { t: 0, o: -1, v: undefined };
          const [t, o, v] = d as [number, number, unknown];
          return { t, o, v };
        },
      };
    }
    case 'uniq':
      return {
        ...base,
        init: () => ({ set: new Set<string>(), bytes: 0 }),
        add(acc, v) {
          if (v === null || v === undefined) return 0;
          const a = acc as Uniq;
          const text = uniqText(v);
          if (a.set.has(text)) return 0;
          a.set.add(text);
          const b = SET_ENTRY_BYTES + text.length * 2;
          a.bytes += b;
          return b;
        },
        result: (acc) => (acc as Uniq).set.size,
        bytes: (acc) => ACC_BYTES + (acc as Uniq).bytes,
        encode: (acc) => [...(acc as Uniq).set],
        decode: (d) => {
          const set = new Set<string>(d as string[]);
          let bytes = 0;
          for (const text of set) bytes += SET_ENTRY_BYTES + text.length * 2;
          return { set, bytes };
        },
      };
    case 'uniq_approx':
      return {
        ...base,
        init: () => new Hll(),
        add(acc, v) {
          if (v !== null && v !== undefined) (acc as Hll).add(uniqText(v));
          return 0;
        },
        result: (acc) => (acc as Hll).estimate(),
        bytes: (acc) => ACC_BYTES + (acc as Hll).registers.length,
        encode: (acc) => (acc as Hll).toBase64(),
        decode: (d) => Hll.fromBase64(d as string),
      };
  }
}

export type { Acc };
