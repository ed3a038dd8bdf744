// The field-shaping transforms: rename, convert, compute, drop. Each checks its field names
// against the fields planned so far, so mistakes fail at startup. rename/drop build a new row in a
// fixed key order (deleting keys would push V8 objects into slow dictionary mode); convert and
// compute update the row in place.
import { ConfigError, RecordError } from '../core/errors.ts';
import type { FieldInfo } from '../core/fields.ts';
import { scalarTypes } from '../core/fields.ts';
import type { Row } from '../core/record.ts';
import type { Converter } from './convert.ts';
import { converter, converterFrom } from './convert.ts';
import { compileExpression } from './expr.ts';
import type { ComputeSpec, ConvertTarget, FieldTypeName, TimeFormat } from './options.ts';
import { inContext, requireField } from './plan-errors.ts';
import type { Stage, StagePlan } from './stage.ts';
import { recordStage } from './stage.ts';

/** `rename: { old: new }`; fields keep their position. */
export function createRename(
  name: string,
  mapping: Record<string, string>,
  input: readonly FieldInfo[],
): StagePlan {
  for (const [from, to] of Object.entries(mapping)) {
    requireField(name, input, from);
    if (to === '') throw new ConfigError(`${name}: the new name for "${from}" is empty`);
  }
  const fields = input.map((f) =>
    Object.hasOwn(mapping, f.name) ? { ...f, name: mapping[f.name]! } : f,
  );
  assertUnique(name, fields);
  const stage = reshape(
    name,
    'rename',
    fields.map((f) => f.name),
    input.map((f) => f.name),
  );
  return { stage, fields };
}

/** `drop: [field, …]`. */
export function createDrop(
  name: string,
  drop: readonly string[],
  input: readonly FieldInfo[],
): StagePlan {
  for (const field of drop) requireField(name, input, field);
  const fields = input.filter((f) => !drop.includes(f.name));
  if (fields.length === 0) {
    throw new ConfigError(`${name}: dropping every field leaves nothing to insert`);
  }
  const kept = fields.map((f) => f.name);
  return { stage: reshape(name, 'drop', kept, kept), fields };
}

/**
 * `ingest_time: field`: the field gets the record's ingest time (epoch ms, a datetime), which the
 * lane sets per fetch and, with exactly-once, records with the pending batch for its replay.
 */
export function createIngestTime(
  name: string,
  field: string,
  input: readonly FieldInfo[],
): StagePlan {
  const info: FieldInfo = { name: field, type: { kind: 'datetime' }, nullable: false };
  const at = input.findIndex((f) => f.name === field);
  const fields = at >= 0 ? input.map((f, i) => (i === at ? info : f)) : [...input, info];
  const stage = recordStage(name, 'ingest_time', (env) => {
    env.row[field] = env.ingestedAt ?? Date.now();
    return env;
  });
  return { stage: { ...stage, usesIngestTime: true }, fields };
}

/** `convert: { field: type | { to, format } }`; null stays null. */
export function createConvert(
  name: string,
  targets: Record<string, ConvertTarget>,
  input: readonly FieldInfo[],
): StagePlan {
  const converts = new Map<string, { to: FieldTypeName; convert: Converter }>();
  for (const [field, target] of Object.entries(targets)) {
    const from = requireField(name, input, field).type;
    const to = typeof target === 'string' ? target : target.to;
    const format: TimeFormat = typeof target === 'string' ? 'auto' : (target.format ?? 'auto');
    checkScalar(name, field, to);
    converts.set(field, { to, convert: converterFrom(from, to, field, format) });
  }
  const fields = input.map((f) => {
    const c = converts.get(f.name);
    return c ? { ...f, type: { kind: c.to } } : f;
  });
  const names = [...converts.keys()];
  const fns = [...converts.values()].map((c) => c.convert);
  const stage = recordStage(name, 'convert', (env) => {
    const row = env.row;
    for (let i = 0; i < names.length; i++) {
      const field = names[i]!;
      const value = row[field];
      if (value !== null) row[field] = fns[i]!(value);
    }
    return env;
  });
  return { stage, fields };
}

/**
 * `compute: { field: expr | { expr, type, nullable } }`, in order: each expression sees the
 * fields computed before it. A field that exists is replaced, a new one is appended.
 */
export function createCompute(
  name: string,
  computes: Record<string, ComputeSpec>,
  input: readonly FieldInfo[],
): StagePlan {
  const fields = [...input];
  const names: string[] = [];
  const steps: Array<(row: Row) => unknown> = [];
  for (const [field, spec] of Object.entries(computes)) {
    const { expr, type, nullable = false } = typeof spec === 'string' ? { expr: spec } : spec;
    if (type !== undefined) checkScalar(name, field, type);
    const evaluate = inContext(`${name}.${field}`, () =>
      compileExpression(
        expr,
        fields.map((f) => f.name),
      ),
    );
    steps.push(finisher(field, expr, evaluate, type, nullable));
    names.push(field);
    const info: FieldInfo = { name: field, type: { kind: type ?? 'any' }, nullable };
    const at = fields.findIndex((f) => f.name === field);
    if (at >= 0) fields[at] = info;
    else fields.push(info);
  }
  const stage = recordStage(name, 'compute', (env) => {
    const row = env.row;
    for (let i = 0; i < steps.length; i++) row[names[i]!] = steps[i]!(row);
    return env;
  });
  return { stage, fields };
}

function finisher(
  field: string,
  expr: string,
  evaluate: (row: Row) => unknown,
  type: FieldTypeName | undefined,
  nullable: boolean,
): (row: Row) => unknown {
  // Row date-times are epoch ms, so numbers an expression returns for them are ms too.
  const convert: Converter =
    type === undefined ? finiteOnly(field, expr) : converter({ kind: type }, field, 'epoch_ms');
  return (row) => {
    const value = evaluate(row);
    if (value !== null) return convert(value);
    if (nullable) return null;
    throw new RecordError(
      'null_field',
      `field "${field}" computed null from expression \`${expr}\` but is not nullable`,
    );
  };
}

function finiteOnly(field: string, expr: string): Converter {
  return (value) => {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new RecordError(
        'expression_error',
        `field "${field}": expression \`${expr}\` gave ${value}, not a finite number`,
      );
    }
    return value;
  };
}

/** A stage that rebuilds each row as `{ [to[i]]: row[from[i]] }`, keys always in one order. */
function reshape(
  name: string,
  kind: string,
  to: readonly string[],
  from: readonly string[],
): Stage {
  const count = to.length;
  return recordStage(name, kind, (env) => {
    const row = env.row;
    const next: Row = {};
    for (let i = 0; i < count; i++) next[to[i]!] = row[from[i]!];
    env.row = next;
    return env;
  });
}

function checkScalar(name: string, field: string, type: unknown): void {
  if (!(scalarTypes as readonly unknown[]).includes(type)) {
    throw new ConfigError(
      `${name}: field "${field}": type must be one of ${scalarTypes.join(', ')}, got ${String(type)}`,
    );
  }
}

function assertUnique(name: string, fields: readonly FieldInfo[]): void {
  const seen = new Set<string>();
  for (const f of fields) {
    if (seen.has(f.name)) throw new ConfigError(`${name}: field "${f.name}" would exist twice`);
    seen.add(f.name);
  }
}
