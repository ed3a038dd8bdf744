// Which column types of a dimension source convert to which Weir field types, checked at start so
// a lookup whose columns do not fit fails then, naming the field, the column and both types.
import type { ScalarType } from '../core/fields.ts';

/** The kinds of column types that matter for conversion. */
export type TypeFamily =
  | 'text'
  | 'integer'
  | 'float'
  | 'decimal'
  | 'boolean'
  | 'uuid'
  | 'date'
  | 'datetime'
  | 'json'
  | 'other';

/** Weir field types a column of each family converts to (per record, with the convert transform's converters). */
const FITS: Record<TypeFamily, readonly ScalarType[]> = {
  text: ['string', 'uuid', 'json', 'integer', 'number', 'datetime', 'date', 'boolean'],
  integer: ['integer', 'number', 'string', 'json', 'datetime', 'date'],
  float: ['number', 'string', 'json'],
  decimal: ['number', 'integer', 'string', 'json'],
  boolean: ['boolean', 'string', 'json', 'integer'],
  uuid: ['uuid', 'string', 'json'],
  date: ['date', 'datetime', 'string', 'json'],
  datetime: ['datetime', 'date', 'string', 'json'],
  json: ['json'],
  other: ['json'],
};

/**
 * Text converts to anything only when its content does, which is checked per record: a text
 * column is accepted for other types, and a value that does not convert dead-letters its record.
 */
export function fits(family: TypeFamily, type: ScalarType): boolean {
  return FITS[family].includes(type);
}

/** The Weir types a family converts to, for the fix of a mismatch. */
export function fittingTypes(family: TypeFamily): readonly ScalarType[] {
  return FITS[family];
}

/** A PostgreSQL type (its pg_type name or information_schema udt_name) as a family. */
export function postgresFamily(typname: string): TypeFamily {
  const t = typname.toLowerCase();
  if (['text', 'varchar', 'bpchar', 'name', 'citext', 'char'].includes(t)) return 'text';
  if (['int2', 'int4', 'int8', 'smallint', 'integer', 'bigint', 'oid'].includes(t))
    return 'integer';
  if (['float4', 'float8', 'real', 'double precision'].includes(t)) return 'float';
  if (['numeric', 'decimal', 'money'].includes(t)) return 'decimal';
  if (t === 'bool' || t === 'boolean') return 'boolean';
  if (t === 'uuid') return 'uuid';
  if (t === 'date') return 'date';
  if (['timestamp', 'timestamptz'].includes(t)) return 'datetime';
  if (t === 'json' || t === 'jsonb') return 'json';
  return 'other';
}

/** A ClickHouse type (Nullable and LowCardinality looked through) as a family. */
export function clickHouseFamily(type: string): TypeFamily {
  const t = clickHouseInner(type);
  if (/^(String|FixedString\(\d+\)|Enum(8|16)?\(.*\))$/.test(t)) return 'text';
  if (/^U?Int(8|16|32|64|128|256)$/.test(t)) return 'integer';
  if (/^Float(32|64)$/.test(t)) return 'float';
  if (/^Decimal/.test(t)) return 'decimal';
  if (t === 'Bool') return 'boolean';
  if (t === 'UUID') return 'uuid';
  if (t === 'Date' || t === 'Date32') return 'date';
  if (/^DateTime/.test(t)) return 'datetime';
  return 'other';
}

/** The type inside Nullable(...) and LowCardinality(...). */
export function clickHouseInner(type: string): string {
  let t = type.trim();
  for (;;) {
    const m = /^(Nullable|LowCardinality)\((.*)\)$/.exec(t);
    if (!m) return t;
    t = m[2]!.trim();
  }
}
