// Which field goes into which column, checked once against the real table before anything runs.
// Every problem is reported at once, each as one sentence naming the field, the column, the
// ClickHouse type and the fix.
import type { FieldInfo, FieldType } from '../../core/fields.ts';
import { typeToString } from '../../core/fields.ts';
import type { Row } from '../../core/record.ts';
import { encoderFor, type Encoder, type EncodingFeatures } from './encode.ts';
import {
  chTypeToString,
  findUnsupported,
  isNullable,
  parseChType,
  unwrap,
  type ChType,
} from './types.ts';

/** One column as DESCRIBE TABLE reports it. */
export interface ColumnDesc {
  name: string;
  type: string;
  /** '' or DEFAULT / MATERIALIZED / ALIAS / EPHEMERAL. */
  defaultKind: string;
}

export interface ColumnPlan {
  column: string;
  field: string;
  type: ChType;
  encode: Encoder;
}

export interface MappingResult {
  plan: ColumnPlan[];
  problems: string[];
}

const q = (s: string): string => JSON.stringify(s);

/** The declared field type that fits a column, for "convert to …" advice. */
export function fieldTypeFor(col: ChType): string {
  const t = unwrap(col);
  switch (t.kind) {
    case 'Int':
      return 'integer';
    case 'Float':
    case 'Decimal':
      return 'number';
    case 'Bool':
      return 'boolean';
    case 'UUID':
      return 'uuid';
    case 'Date':
    case 'Date32':
      return 'date';
    case 'DateTime':
    case 'DateTime64':
      return 'datetime';
    case 'JSON':
    case 'Tuple':
      return 'json';
    case 'Array':
      return `array<${fieldTypeFor(t.element)}>`;
    case 'Map':
      return `map<${fieldTypeFor(t.value)}>`;
    default:
      return 'string';
  }
}

/** Undefined when values of the field type can go into the column; else the fix. */
export function incompatibility(ft: FieldType, col: ChType): string | undefined {
  const t = unwrap(col);
  const ok = accepts(ft, t);
  if (ok) return undefined;
  const want = fieldTypeFor(col);
  if (
    ft.kind === 'string' &&
    (t.kind === 'DateTime' || t.kind === 'DateTime64' || t.kind === 'Date' || t.kind === 'Date32')
  ) {
    return `declare the field as ${want} (with a \`format\`) or add a \`convert\` transform to ${want}, so the time is parsed once, in UTC`;
  }
  if (want.includes('<')) return `declare the field as ${want}`;
  return `add a \`convert\` transform to ${want}`;
}

function accepts(ft: FieldType, t: ChType): boolean {
  switch (ft.kind) {
    case 'any':
      return true;
    case 'string':
      return ['String', 'FixedString', 'Enum', 'UUID', 'IPv4', 'IPv6'].includes(t.kind);
    case 'integer':
    case 'number':
      // A number goes into an integer column when it is integral, checked per record.
      return t.kind === 'Int' || t.kind === 'Float' || t.kind === 'Decimal';
    case 'boolean':
      return t.kind === 'Bool' || (t.kind === 'Int' && t.bits === 8);
    case 'datetime':
    case 'date':
      return (
        t.kind === 'DateTime' || t.kind === 'DateTime64' || t.kind === 'Date' || t.kind === 'Date32'
      );
    case 'uuid':
      return t.kind === 'UUID' || t.kind === 'String';
    case 'json':
      return t.kind === 'String' || t.kind === 'JSON' || t.kind === 'Tuple';
    case 'array':
      return t.kind === 'Array' && accepts(ft.items, unwrap(t.element));
    case 'map':
      return (
        t.kind === 'Map' && unwrap(t.key).kind === 'String' && accepts(ft.values, unwrap(t.value))
      );
  }
}

/** How to spell the column type so it stores NULL. */
function nullableSpelling(col: ChType): string {
  if (col.kind === 'LowCardinality')
    return `LowCardinality(Nullable(${chTypeToString(col.inner)}))`;
  return `Nullable(${chTypeToString(col)})`;
}

interface Target {
  column: ColumnDesc;
  type: ChType;
  field: FieldInfo;
}

/**
 * Maps fields to columns: by default every field to the column of the same name; with `explicit`
 * (column -> field, from sink.clickhouse.columns) only those pairs.
 */
export function planMapping(
  columns: readonly ColumnDesc[],
  fields: readonly FieldInfo[],
  explicit?: Readonly<Record<string, string>>,
  features?: EncodingFeatures,
): MappingResult {
  const problems: string[] = [];
  const byName = new Map(columns.map((c) => [c.name, c]));
  const fieldByName = new Map(fields.map((f) => [f.name, f]));
  const targets = new Map<string, Target>(); // by column name

  if (explicit) {
    for (const [columnName, fieldName] of Object.entries(explicit)) {
      const column = byName.get(columnName);
      const field = fieldByName.get(fieldName);
      if (!column) {
        problems.push(
          `sink.clickhouse.columns maps field ${q(fieldName)} to column ${q(columnName)}, which the table does not have: add the column or fix the name${similar(columnName, byName.keys())}`,
        );
      }
      if (!field) {
        problems.push(
          `sink.clickhouse.columns maps column ${q(columnName)} to field ${q(fieldName)}, which the pipeline does not produce: declare it in schema.fields (or compute it) or fix the name${similar(fieldName, fieldByName.keys())}`,
        );
      }
      if (column && field)
        targets.set(columnName, { column, field, type: parseChType(column.type) });
    }
  } else {
    for (const field of fields) {
      const column = byName.get(field.name);
      if (!column) {
        problems.push(
          `field ${q(field.name)} (${typeToString(field.type)}) has no column in the table: add a column ${q(field.name)}, map it with sink.clickhouse.columns, or remove it with a \`drop\` transform${similar(field.name, byName.keys())}`,
        );
        continue;
      }
      targets.set(field.name, { column, field, type: parseChType(column.type) });
    }
  }

  const plan: ColumnPlan[] = [];
  for (const column of columns) {
    const target = targets.get(column.name);
    if (!target) {
      // A column named in sink.clickhouse.columns has its problem reported above already.
      const named = explicit !== undefined && Object.hasOwn(explicit, column.name);
      if (!named && column.defaultKind === '' && !isNullable(parseChType(column.type))) {
        problems.push(
          `column ${q(column.name)} ${column.type} has no default and no field goes into it: add a field ${q(column.name)}, map one to it with sink.clickhouse.columns, or give the column a DEFAULT`,
        );
      }
      continue;
    }
    const problem = checkTarget(target, explicit !== undefined);
    if (problem) {
      problems.push(problem);
      continue;
    }
    plan.push({
      column: column.name,
      field: target.field.name,
      type: target.type,
      encode: encoderFor(target.type, target.field, { column: column.name, features }),
    });
  }
  return { plan, problems };
}

function checkTarget({ column, field, type }: Target, explicit: boolean): string | undefined {
  const what = `field ${q(field.name)} (${typeToString(field.type)})`;
  const where = `column ${q(column.name)} ${column.type}`;
  const unmap = explicit
    ? `remove column ${q(column.name)} from sink.clickhouse.columns`
    : 'rename the field or remove it with a `drop` transform';
  const kind = column.defaultKind.toUpperCase();
  if (kind === 'MATERIALIZED' || kind === 'ALIAS') {
    return `${what} targets ${where}, which is ${kind} (computed by ClickHouse) and cannot be inserted: ${unmap}`;
  }
  const unsupported = findUnsupported(type);
  if (unsupported) {
    return `${what} targets ${where}, and Weir cannot write ClickHouse type ${chTypeToString(unsupported)}: change the column type or ${unmap}`;
  }
  const fix = incompatibility(field.type, type);
  if (fix) return `${what} cannot go into ${where}: ${fix}`;
  const container = unwrap(type).kind;
  if (field.nullable && !isNullable(type) && container !== 'Array' && container !== 'Map') {
    return `${what} is nullable but ${where} is not: change the column to ${nullableSpelling(type)}, or make the field non-nullable with a default`;
  }
  return undefined;
}

/** " (did you mean "X"?)" for a name that differs only in case or by underscores. */
function similar(name: string, candidates: Iterable<string>): string {
  const norm = (s: string): string => s.toLowerCase().replace(/[_-]/g, '');
  for (const c of candidates)
    if (c !== name && norm(c) === norm(name)) return ` (did you mean ${q(c)}?)`;
  return '';
}

/**
 * One JSONEachRow line (ending in '\n') per row. Column names are escaped once here; per row only
 * the encoders run. Their outputs are joined into one flat string: `+=` would build a rope of
 * ~2n cons-string nodes per line (about 4× the line's size in heap), and lines live until their
 * batch is inserted, so ropes would cost old-generation GC time and a slow final join.
 */
export function makeRowSerializer(plan: readonly ColumnPlan[]): (row: Row) => string {
  const n = plan.length;
  const prefixes = plan.map((p, i) => (i === 0 ? '{' : ',') + JSON.stringify(p.column) + ':');
  const fields = plan.map((p) => p.field);
  const encoders = plan.map((p) => p.encode);
  if (n === 0) return () => '{}\n';
  // Reused for every row: [prefix0, value0, prefix1, value1, …, '}\n'].
  const parts = new Array<string>(2 * n + 1).fill('');
  for (let i = 0; i < n; i++) parts[2 * i] = prefixes[i]!;
  parts[2 * n] = '}\n';
  return (row) => {
    for (let i = 0; i < n; i++)
      parts[2 * i + 1] = (encoders[i] as Encoder)(row[fields[i] as string]);
    return parts.join('');
  };
}
