// ClickHouse column types as DESCRIBE TABLE prints them, parsed into a tree the sink can reason
// about. Anything not understood becomes an `Unknown` node instead of an exception, so the mapping
// can name the column and say "unsupported type X" rather than failing to start with a parse error.
export { parseChType } from './type-parser.ts';

export type IntName =
  | 'Int8'
  | 'Int16'
  | 'Int32'
  | 'Int64'
  | 'Int128'
  | 'Int256'
  | 'UInt8'
  | 'UInt16'
  | 'UInt32'
  | 'UInt64'
  | 'UInt128'
  | 'UInt256';

export interface EnumValue {
  name: string;
  value: number;
}

export interface TupleElement {
  /** Undefined for positional tuples. */
  name?: string;
  type: ChType;
}

export type ChType =
  | { kind: 'String' }
  | { kind: 'FixedString'; length: number }
  | { kind: 'Int'; name: IntName; bits: number; signed: boolean }
  | { kind: 'Float'; bits: 32 | 64 }
  | { kind: 'Decimal'; precision: number; scale: number }
  | { kind: 'Bool' }
  | { kind: 'UUID' }
  | { kind: 'Date' }
  | { kind: 'Date32' }
  | { kind: 'DateTime'; timezone?: string }
  | { kind: 'DateTime64'; precision: number; timezone?: string }
  | { kind: 'Enum'; bits: 8 | 16; values: EnumValue[] }
  | { kind: 'Nullable'; inner: ChType }
  | { kind: 'LowCardinality'; inner: ChType }
  | { kind: 'Array'; element: ChType }
  | { kind: 'Map'; key: ChType; value: ChType }
  | { kind: 'Tuple'; elements: TupleElement[] }
  /** The JSON type, or the older experimental Object('json'); `spelling` keeps the original text. */
  | { kind: 'JSON'; spelling: string }
  | { kind: 'IPv4' }
  | { kind: 'IPv6' }
  | { kind: 'Nothing' }
  | { kind: 'Unknown'; text: string };

const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const quoteName = (s: string): string =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : `\`${s.replace(/`/g, '\\`')}\``;

/** The canonical spelling, as ClickHouse would print it. */
export function chTypeToString(t: ChType): string {
  switch (t.kind) {
    case 'String':
    case 'Bool':
    case 'UUID':
    case 'Date':
    case 'Date32':
    case 'IPv4':
    case 'IPv6':
    case 'Nothing':
      return t.kind;
    case 'FixedString':
      return `FixedString(${t.length})`;
    case 'Int':
      return t.name;
    case 'Float':
      return `Float${t.bits}`;
    case 'Decimal':
      return `Decimal(${t.precision}, ${t.scale})`;
    case 'DateTime':
      return t.timezone === undefined ? 'DateTime' : `DateTime(${quote(t.timezone)})`;
    case 'DateTime64':
      return t.timezone === undefined
        ? `DateTime64(${t.precision})`
        : `DateTime64(${t.precision}, ${quote(t.timezone)})`;
    case 'Enum':
      return `Enum${t.bits}(${t.values.map((v) => `${quote(v.name)} = ${v.value}`).join(', ')})`;
    case 'Nullable':
    case 'LowCardinality':
      return `${t.kind}(${chTypeToString(t.inner)})`;
    case 'Array':
      return `Array(${chTypeToString(t.element)})`;
    case 'Map':
      return `Map(${chTypeToString(t.key)}, ${chTypeToString(t.value)})`;
    case 'Tuple':
      return `Tuple(${t.elements
        .map((e) =>
          e.name === undefined
            ? chTypeToString(e.type)
            : `${quoteName(e.name)} ${chTypeToString(e.type)}`,
        )
        .join(', ')})`;
    case 'JSON':
      return t.spelling;
    case 'Unknown':
      return t.text;
  }
}

/** The type without its Nullable / LowCardinality wrappers (in any order). */
export function unwrap(t: ChType): ChType {
  while (t.kind === 'Nullable' || t.kind === 'LowCardinality') t = t.inner;
  return t;
}

/** Whether a column of this type stores NULL. */
export function isNullable(t: ChType): boolean {
  for (;;) {
    if (t.kind === 'Nullable') return true;
    if (t.kind !== 'LowCardinality') return false;
    t = t.inner;
  }
}

/** The first part of the type Weir cannot write (an unknown type, or Nothing), if any. */
export function findUnsupported(t: ChType): ChType | undefined {
  switch (t.kind) {
    case 'Unknown':
    case 'Nothing':
      return t;
    case 'Nullable':
    case 'LowCardinality':
      return findUnsupported(t.inner);
    case 'Array':
      return findUnsupported(t.element);
    case 'Map':
      return findUnsupported(t.key) ?? findUnsupported(t.value);
    case 'Tuple':
      for (const e of t.elements) {
        const bad = findUnsupported(e.type);
        if (bad) return bad;
      }
      return undefined;
    default:
      return undefined;
  }
}
