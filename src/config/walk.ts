// Reading the config schema itself: what sits at a path, its description, default and whether it
// is secret. Used for error hints, secret masking and the generated reference.
import { z } from 'zod';
import type { OptionMeta } from './schema.ts';

export type Meta = OptionMeta;

/** A schema with its wrappers (optional, default, pipe …) peeled off. */
export interface Unwrapped {
  core: z.ZodType;
  optional: boolean;
  hasDefault: boolean;
  defaultValue?: unknown;
  /** Merged from the outermost wrapper inwards; outer wins. */
  meta: Meta;
}

export function unwrap(schema: z.ZodType): Unwrapped {
  const out: Unwrapped = { core: schema, optional: false, hasDefault: false, meta: {} };
  for (let s: z.ZodType | undefined = schema; s;) {
    out.meta = { ...((z.globalRegistry.get(s) ?? {}) as Meta), ...out.meta };
    out.core = s;
    if (s instanceof z.ZodOptional) {
      out.optional = true;
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault) {
      if (!out.hasDefault) out.defaultValue = s.def.defaultValue;
      out.hasDefault = true;
      s = s.def.innerType as z.ZodType;
    } else if (s instanceof z.ZodNullable || s instanceof z.ZodReadonly) {
      s = s.def.innerType as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      // `.transform()` after a schema: the input side is what users write.
      s = (s.def.in instanceof z.ZodTransform ? s.def.out : s.def.in) as z.ZodType;
    } else {
      s = undefined;
    }
  }
  return out;
}

/** The schema of `key` inside `schema` (object property, list element, record value). */
export function childOf(schema: z.ZodType, key: PropertyKey): z.ZodType | undefined {
  const { core } = unwrap(schema);
  if (core instanceof z.ZodObject) {
    const shape = core.shape as Record<string, z.ZodType>;
    return typeof key === 'string' && Object.hasOwn(shape, key) ? shape[key] : undefined;
  }
  if (core instanceof z.ZodArray)
    return typeof key === 'number' ? (core.element as z.ZodType) : undefined;
  if (core instanceof z.ZodRecord) return core.valueType as z.ZodType;
  if (core instanceof z.ZodUnion) {
    for (const option of core.options as z.ZodType[]) {
      const child = childOf(option, key);
      if (child) return child;
    }
  }
  return undefined;
}

export function schemaAt(root: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = root;
  for (const key of path) s = s && childOf(s, key);
  return s;
}

/** The keys an object at `schema` accepts (for a union: of every object form). */
export function knownKeys(schema: z.ZodType): string[] {
  const { core } = unwrap(schema);
  if (core instanceof z.ZodObject) return Object.keys(core.shape);
  if (core instanceof z.ZodUnion)
    return [...new Set((core.options as z.ZodType[]).flatMap(knownKeys))];
  return [];
}

export function isSecretAt(root: z.ZodType, path: readonly PropertyKey[]): boolean {
  const s = schemaAt(root, path);
  return s !== undefined && unwrap(s).meta.secret === true;
}

/**
 * Calls `visit` for every option under `schema`, depth first, with its documented path
 * (`pipelines[].sink.clickhouse.batch.max_rows`, `schema.fields.<field>.type`). List items and
 * union forms that are objects are not options themselves: their keys are.
 */
export function walkOptions(
  schema: z.ZodType,
  visit: (path: string, schema: z.ZodType, info: Unwrapped) => void,
  path = '',
  self = path !== '',
): void {
  const info = unwrap(schema);
  if (self) visit(path, schema, info);
  const { core } = info;
  const at = (key: string) => (path ? `${path}.${key}` : key);
  if (core instanceof z.ZodObject) {
    const shape: Record<string, z.ZodType> = core.shape;
    for (const [key, child] of Object.entries(shape)) walkOptions(child, visit, at(key));
  } else if (core instanceof z.ZodArray) {
    const element = core.element as z.ZodType;
    walkOptions(element, visit, `${path}[]`, unwrap(element).core instanceof z.ZodUnion);
  } else if (core instanceof z.ZodRecord) {
    walkOptions(core.valueType as z.ZodType, visit, at(`<${recordKeyName(path)}>`));
  } else if (core instanceof z.ZodUnion) {
    for (const option of core.options as z.ZodType[])
      if (unwrap(option).core instanceof z.ZodObject) walkOptions(option, visit, path, false);
  }
}

/** What the keys of a record stand for, for paths like `columns.<column>`. */
function recordKeyName(path: string): string {
  const last = path.slice(path.lastIndexOf('.') + 1);
  const names: Record<string, string> = {
    fields: 'field',
    rename: 'old name',
    convert: 'field',
    compute: 'field',
    columns: 'column',
    settings: 'setting',
  };
  return names[last] ?? 'name';
}

/** Paths of every secret option, e.g. `pipelines[].sink.clickhouse.password`. */
export function secretPathsOf(schema: z.ZodType): string[] {
  const out: string[] = [];
  walkOptions(schema, (path, _s, info) => {
    if (info.meta.secret) out.push(path);
  });
  return out;
}
