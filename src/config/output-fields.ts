// The fields of a pipeline's records and their types, as declared and after each transform.
// The same stepping validates transforms (reporting unknown fields) and computes what reaches
// the sink, so the two can never disagree.
import type { FieldInfo, FieldType, ScalarType } from '../core/fields.ts';
import { measureType, parseMeasure, type MeasureSpec } from '../aggregate/measures.ts';
import { typeToString } from '../core/fields.ts';
import { lookupFieldType, lookupKey } from './lookup-rules.ts';
import type { LookupConfig } from './schema.ts';
import type { FieldSpec, PipelineConfig, TransformConfig } from './schema.ts';
import { closest as closestName } from './suggest.ts';

const metadataTypes = {
  key: 'string',
  topic: 'string',
  header: 'string',
  partition: 'integer',
  offset: 'string',
  timestamp: 'datetime',
} as const satisfies Record<string, ScalarType>;

export type MetadataSource = keyof typeof metadataTypes;

/** The type a metadata source (`from: partition` …) always produces, or undefined for `value`. */
export function metadataType(from: string): ScalarType | undefined {
  return Object.hasOwn(metadataTypes, from) ? metadataTypes[from as MetadataSource] : undefined;
}

/** The type of a declared field as the parse stage produces it. */
export function fieldTypeOf(spec: FieldSpec): FieldType {
  if (typeof spec === 'string') return { kind: spec };
  const fixed = metadataType(spec.from);
  if (fixed) return { kind: fixed };
  if (spec.type === 'array') return { kind: 'array', items: { kind: spec.items ?? 'json' } };
  if (spec.type === 'map') return { kind: 'map', values: { kind: spec.values ?? 'json' } };
  return { kind: spec.type };
}

/** The fields as parsed, in declaration order. */
export function declaredFields(fields: Record<string, FieldSpec>): FieldInfo[] {
  return Object.entries(fields).map(([name, spec]) => ({
    name,
    type: fieldTypeOf(spec),
    nullable: typeof spec === 'string' ? false : spec.nullable,
  }));
}

/** The field types a lookup key may have ('any': a computed field, checked per record). */
const lookupKeyTypes: readonly string[] = ['string', 'integer', 'number', 'uuid', 'any'];

/**
 * Whether a lookup output field may be null: on a miss with on_miss null, or with a null default.
 * Values a dimension row holds as null are dead-lettered for a non-nullable field.
 */
export function lookupNullable(
  l: Pick<LookupConfig, 'on_miss' | 'defaults'>,
  field: string,
): boolean {
  return l.on_miss === 'null' || (l.on_miss === 'default' && l.defaults?.[field] === null);
}

/** Receives a problem found while stepping; `path` is relative to the transform. */
export type TransformReporter = (path: (string | number)[], problem: string, fix: string) => void;

const ignore: TransformReporter = () => undefined;

/** The fields after one transform. Unknown or colliding names are reported and skipped. */
export function applyTransform(
  fields: readonly FieldInfo[],
  transform: TransformConfig,
  report: TransformReporter = ignore,
): FieldInfo[] {
  const out = [...fields];
  const indexOf = (name: string) => out.findIndex((f) => f.name === name);
  const unknown = (path: (string | number)[], verb: string, name: string) =>
    report(path, `${verb} unknown field "${name}"`, knownFieldsHint(name, out));

  if ('rename' in transform) {
    for (const [from, to] of Object.entries(transform.rename)) {
      const at = indexOf(from);
      const field = out[at];
      if (!field) unknown(['rename', from], 'renames', from);
      else if (to !== from && indexOf(to) >= 0)
        report(
          ['rename', from],
          `renames "${from}" to "${to}", which already exists`,
          `drop "${to}" first or pick another name`,
        );
      else out[at] = { ...field, name: to };
    }
  } else if ('convert' in transform) {
    for (const [name, target] of Object.entries(transform.convert)) {
      const at = indexOf(name);
      const field = out[at];
      if (!field) unknown(['convert', name], 'converts', name);
      else out[at] = { ...field, type: { kind: typeof target === 'string' ? target : target.to } };
    }
  } else if ('compute' in transform) {
    for (const [name, spec] of Object.entries(transform.compute)) {
      const computed: FieldInfo = {
        name,
        type: typeof spec === 'object' && spec.type ? { kind: spec.type } : { kind: 'any' },
        nullable: typeof spec === 'object' ? (spec.nullable ?? false) : false,
      };
      const at = indexOf(name);
      if (at >= 0) out[at] = computed;
      else out.push(computed);
    }
  } else if ('lookup' in transform) {
    const l = transform.lookup;
    const { field: keyField } = lookupKey(l.key);
    const key = out[indexOf(keyField)];
    const keyPath = typeof l.key === 'string' ? ['lookup', 'key'] : ['lookup', 'key', 'field'];
    if (!key) unknown(keyPath, 'looks up by', keyField);
    else if (!lookupKeyTypes.includes(key.type.kind))
      report(
        keyPath,
        `looks up by "${keyField}", a ${typeToString(key.type)} field; a key must be a string, integer, number or uuid`,
        'look up by a scalar field, or compute one (e.g. with toString)',
      );
    for (const [name, spec] of Object.entries(l.fields)) {
      if (indexOf(name) >= 0) {
        report(
          ['lookup', 'fields', name],
          `adds field "${name}", which already exists`,
          `give the lookup field another name, e.g. ${l.name ?? 'dim'}_${name}, or drop "${name}" first`,
        );
        continue;
      }
      out.push({ name, type: { kind: lookupFieldType(spec) }, nullable: lookupNullable(l, name) });
    }
  } else if ('drop' in transform) {
    transform.drop.forEach((name, i) => {
      const at = indexOf(name);
      if (at < 0) unknown(['drop', i], 'drops', name);
      else out.splice(at, 1);
    });
  } else if ('ingest_time' in transform) {
    const field: FieldInfo = {
      name: transform.ingest_time,
      type: { kind: 'datetime' },
      nullable: false,
    };
    const at = indexOf(field.name);
    if (at >= 0) out[at] = field;
    else out.push(field);
  }
  return out;
}

/** The fields and their types as they reach the sink, after every transform. */
export function outputFields(p: Pick<PipelineConfig, 'schema' | 'transforms'>): FieldInfo[] {
  return p.transforms.reduce<FieldInfo[]>(
    (fields, t) => applyTransform(fields, t),
    declaredFields(p.schema.fields),
  );
}

/** One output field of a join: its name and where it comes from. */
export interface JoinOutput {
  name: string;
  side: 'left' | 'right';
  field: string;
}

type JoinShape = Pick<NonNullable<PipelineConfig['join']>, 'type' | 'fields' | 'right'>;

/**
 * What a join emits: `fields` as listed, or every left field then every right field. Right fields
 * are nullable in a left join (an unmatched left event has none). Names that are missing on their
 * side, or on both sides by default, are left out here and reported by the config rule.
 */
export function joinOutputs(join: JoinShape, left: readonly FieldInfo[]): JoinOutput[] {
  const right = declaredFields(join.right.schema.fields);
  if (join.fields)
    return Object.entries(join.fields).map(([name, ref]) => {
      const [side, field] = ref.split('.') as ['left' | 'right', string];
      return { name, side, field };
    });
  return [
    ...left.map((f) => ({ name: f.name, side: 'left' as const, field: f.name })),
    ...right.map((f) => ({ name: f.name, side: 'right' as const, field: f.name })),
  ];
}

export function joinFields(join: JoinShape, left: readonly FieldInfo[]): FieldInfo[] {
  const right = declaredFields(join.right.schema.fields);
  const out: FieldInfo[] = [];
  for (const o of joinOutputs(join, left)) {
    const f = (o.side === 'left' ? left : right).find((x) => x.name === o.field);
    if (!f) continue;
    out.push({
      name: o.name,
      type: f.type,
      nullable: f.nullable || (o.side === 'right' && join.type === 'left'),
    });
  }
  return out;
}

type AggregateShape = Pick<
  NonNullable<PipelineConfig['aggregate']>,
  'group_by' | 'measures' | 'window_start' | 'window_end'
>;

/** The measures of an aggregation, parsed; invalid ones are left out (the config rule reports them). */
export function aggregateMeasures(agg: Pick<AggregateShape, 'measures'>): MeasureSpec[] {
  const out: MeasureSpec[] = [];
  for (const [name, text] of Object.entries(agg.measures)) {
    const m = parseMeasure(name, text);
    if (typeof m !== 'string') out.push(m);
  }
  return out;
}

/**
 * What an aggregation emits: the group fields (as typed where it runs), the window bounds
 * (datetime) and the measures. Unknown fields are left out here and reported by the config rule.
 */
export function aggregateFields(agg: AggregateShape, input: readonly FieldInfo[]): FieldInfo[] {
  const out: FieldInfo[] = [];
  for (const name of agg.group_by) {
    const f = input.find((x) => x.name === name);
    if (f) out.push(f);
  }
  out.push({ name: agg.window_start, type: { kind: 'datetime' }, nullable: false });
  out.push({ name: agg.window_end, type: { kind: 'datetime' }, nullable: false });
  for (const m of aggregateMeasures(agg)) {
    const f = m.field === undefined ? undefined : input.find((x) => x.name === m.field);
    if (m.field !== undefined && !f) continue;
    out.push({ name: m.name, ...measureType(m.fn, f) });
  }
  return out;
}

/**
 * The fields as they reach the sink: after the transforms, then after the join or the
 * aggregation if there is one.
 */
export function sinkFields(
  p: Pick<PipelineConfig, 'schema' | 'transforms'> & {
    join?: JoinShape | undefined;
    aggregate?: AggregateShape | undefined;
  },
): FieldInfo[] {
  const fields = outputFields(p);
  if (p.aggregate) return aggregateFields(p.aggregate, fields);
  return p.join ? joinFields(p.join, fields) : fields;
}

export function knownFieldsHint(name: string, fields: readonly FieldInfo[]): string {
  const names = fields.map((f) => f.name);
  const near =
    names.find((n) => n.toLowerCase() === name.toLowerCase()) ?? closestName(name, names);
  const list = names.length ? names.join(', ') : 'none';
  return near
    ? `did you mean "${near}"? fields at this point: ${list}`
    : `fields at this point: ${list}`;
}
