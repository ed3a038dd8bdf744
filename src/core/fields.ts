// The declared field types of a pipeline's records. The parse stage produces values of these
// types; transforms change them; the ClickHouse sink checks them against the table's columns.

export const scalarTypes = [
  'string',
  'integer',
  'number',
  'boolean',
  /** Epoch milliseconds (a JS number, may carry a fraction for sub-ms precision). */
  'datetime',
  /** Epoch milliseconds at UTC midnight. */
  'date',
  'uuid',
  /** Any JSON value kept as is (objects, arrays); lands in String columns as JSON text. */
  'json',
] as const;
export type ScalarType = (typeof scalarTypes)[number];

export type FieldType =
  | { kind: ScalarType }
  | { kind: 'array'; items: FieldType }
  | { kind: 'map'; values: FieldType }
  /** Type not known statically (e.g. an untyped computed field); checked per record. */
  | { kind: 'any' };

export interface FieldInfo {
  name: string;
  type: FieldType;
  /** Whether the value can be null at the sink. */
  nullable: boolean;
}

export function typeToString(t: FieldType): string {
  switch (t.kind) {
    case 'array':
      return `array<${typeToString(t.items)}>`;
    case 'map':
      return `map<${typeToString(t.values)}>`;
    default:
      return t.kind;
  }
}
