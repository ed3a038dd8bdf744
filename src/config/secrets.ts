// Secret options (passwords) are marked in the schema with `.meta({ secret: true })`; this is the
// one place that turns that mark into masking for anything that prints a config.
import type { z } from 'zod';
import { weirConfigSchema, type WeirConfig } from './schema.ts';
import { isPlainObject } from './values.ts';
import { childOf, isSecretAt, secretPathsOf, unwrap } from './walk.ts';

export const MASK = '********';

/** Every secret option, e.g. `pipelines[].sink.clickhouse.password`. */
export const secretPaths: readonly string[] = secretPathsOf(weirConfigSchema);

/** Whether the option at a concrete path (e.g. `['pipelines', 0, 'source', 'sasl', 'password']`) is secret. */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  return isSecretAt(weirConfigSchema, path);
}

/** A copy of `value` safe to print: every non-empty secret replaced by a mask. */
export function redact<T>(value: T, schema: z.ZodType = weirConfigSchema): T {
  return redactAt(value, schema) as T;
}

export function redactConfig(config: WeirConfig): WeirConfig {
  return redact(config);
}

function redactAt(value: unknown, schema: z.ZodType | undefined): unknown {
  if (schema && unwrap(schema).meta.secret) return value === '' || value == null ? value : MASK;
  if (Array.isArray(value))
    return value.map((item, i) => redactAt(item, schema && childOf(schema, i)));
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, redactAt(v, schema && childOf(schema, k))]),
    );
  }
  return value;
}
