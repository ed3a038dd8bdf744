// The key of a row (dedup key, join key, …) as one canonical string: the value itself for a single
// string field (the common case, no allocation), JSON otherwise, so `1` and `"1"` never meet. A row
// whose key is entirely null has no key (dedup passes it through unchecked).
import { ConfigError } from '../../core/errors.ts';
import type { FieldInfo } from '../../core/fields.ts';
import type { Row } from '../../core/record.ts';
import { compileExpression } from '../../stages/expr.ts';
import { inContext, requireField } from '../../stages/plan-errors.ts';

/** `key: field`, `key: [field, …]` or `key: { expr }` of the config. */
export type KeySpec = string | readonly string[] | { expr: string };

/** The canonical key of a row, or null when it has none. Throws RecordError for expression errors. */
export type KeyOf = (row: Row) => string | null;

const STRING_KINDS = new Set(['string', 'uuid']);

/** `where` is the key's config path (e.g. `join.left.key`), which startup errors name. */
export function planKey(spec: KeySpec, fields: readonly FieldInfo[], where = 'key'): KeyOf {
  if (typeof spec === 'object' && !Array.isArray(spec)) {
    const { expr } = spec as { expr: string };
    const evaluate = inContext(where, () =>
      compileExpression(
        expr,
        fields.map((f) => f.name),
      ),
    );
    return (row) => {
      const v = evaluate(row);
      return v === null ? null : JSON.stringify(v);
    };
  }
  const names: readonly string[] = typeof spec === 'string' ? [spec] : (spec as readonly string[]);
  if (names.length === 0) throw new ConfigError(`${where} names no field`);
  const infos = names.map((n) => requireField(where, fields, n));
  if (infos.length === 1) {
    const name = infos[0]!.name;
    if (STRING_KINDS.has(infos[0]!.type.kind))
      return (row) => {
        const v = row[name];
        if (typeof v === 'string') return v;
        return v === null || v === undefined ? null : JSON.stringify(v);
      };
    return (row) => {
      const v = row[name];
      return v === null || v === undefined ? null : JSON.stringify(v);
    };
  }
  return (row) => {
    const values = new Array<unknown>(names.length);
    let present = false;
    for (let i = 0; i < names.length; i++) {
      const v = row[names[i]!];
      values[i] = v === undefined ? null : v;
      if (v !== null && v !== undefined) present = true;
    }
    return present ? JSON.stringify(values) : null;
  };
}
