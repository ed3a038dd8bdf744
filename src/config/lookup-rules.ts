// Rules within one lookup transform: one source, table or query, defaults that fit on_miss.
import { typeToString } from '../core/fields.ts';
import { valueFits } from './field-rules.ts';
import { addProblem, type Ctx } from './rules.ts';
import type { LookupConfig, LookupFieldSpec } from './schema.ts';
import { describeValue } from './values.ts';

/** The type of a lookup output field. */
export const lookupFieldType = (spec: LookupFieldSpec) =>
  typeof spec === 'string' ? spec : spec.type;

/** The dimension column a lookup output field comes from. */
export const lookupFieldColumn = (name: string, spec: LookupFieldSpec) =>
  typeof spec === 'string' ? name : (spec.column ?? name);

/** The record field and the key column of a lookup. */
export function lookupKey(key: LookupConfig['key']): { field: string; column: string } {
  return typeof key === 'string'
    ? { field: key, column: key }
    : { field: key.field, column: key.column ?? key.field };
}

export function checkLookup(l: LookupConfig, ctx: Ctx): void {
  const http = l.from.http !== undefined;
  if (http) {
    for (const k of ['table', 'query'] as const)
      if (l[k] !== undefined)
        addProblem(ctx, [k], `${k} does not apply to an http lookup`, {
          fix: `remove ${k}: the service answers for the keys it is sent`,
        });
  } else if ((l.table === undefined) === (l.query === undefined))
    addProblem(
      ctx,
      [],
      l.table === undefined ? 'neither table nor query given' : 'both table and query given',
      { fix: 'give exactly one: table: <name>, or query: "SELECT ..."' },
    );
  if (l.query !== undefined && l.table === undefined && l.preload === undefined) {
    if (l.from.postgres && !l.query.includes('$1'))
      addProblem(ctx, ['query'], 'the query does not use the keys ($1)', {
        fix: 'filter by the key array, e.g. WHERE id = ANY($1), or add preload to read the whole result',
      });
    if (l.from.clickhouse && !l.query.includes('{keys}'))
      addProblem(ctx, ['query'], 'the query does not use the keys ({keys})', {
        fix: 'filter by the key list, e.g. WHERE id IN {keys}, or add preload to read the whole result',
      });
  }
  if (l.query !== undefined && l.preload !== undefined) {
    const placeholder = l.from.postgres ? '$1' : '{keys}';
    if (l.query.includes(placeholder))
      addProblem(
        ctx,
        ['query'],
        `with preload the query reads every row, but it uses the keys (${placeholder})`,
        {
          fix: 'remove the key condition from the query, or remove preload',
        },
      );
  }
  const fields = Object.entries(l.fields);
  if (l.on_miss === 'default') {
    if (l.defaults === undefined)
      addProblem(ctx, ['defaults'], 'on_miss is default but no defaults are given', {
        fix: `add defaults: { ${fields.map(([n]) => `${n}: <value>`).join(', ')} }, or choose another on_miss`,
      });
  } else if (l.defaults !== undefined)
    addProblem(
      ctx,
      ['defaults'],
      `defaults only apply with on_miss: default (it is ${l.on_miss})`,
      {
        fix: 'remove defaults, or set on_miss: default',
      },
    );
  if (l.defaults === undefined || l.on_miss !== 'default') return;
  for (const [name, spec] of fields) {
    const type = { kind: lookupFieldType(spec) };
    if (!Object.hasOwn(l.defaults, name))
      addProblem(ctx, ['defaults'], `no default for field "${name}"`, {
        fix: `add ${name}: <a ${typeToString(type)}> to defaults`,
      });
    else if (l.defaults[name] !== null && !valueFits(type, l.defaults[name]))
      addProblem(
        ctx,
        ['defaults', name],
        `default ${describeValue(l.defaults[name])} of field "${name}" is not a valid ${typeToString(type)}`,
        { fix: `give a value of type ${typeToString(type)}` },
      );
  }
  for (const name of Object.keys(l.defaults))
    if (!Object.hasOwn(l.fields, name))
      addProblem(ctx, ['defaults', name], `default for "${name}", which is not a lookup field`, {
        fix: `remove it, or declare ${name} in fields`,
      });
}
