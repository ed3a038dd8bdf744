// Startup errors of a transform carry the transform's name, e.g. `transform[2].rename: …`.
import { ConfigError } from '../core/errors.ts';
import type { FieldInfo } from '../core/fields.ts';

export function inContext<T>(name: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(`${name}: ${err.message}`, { hint: err.hint, cause: err });
  }
}

/** The field named `field`, or a ConfigError listing the fields there are. */
export function requireField(name: string, fields: readonly FieldInfo[], field: string): FieldInfo {
  const found = fields.find((f) => f.name === field);
  if (found) return found;
  throw new ConfigError(`${name}: unknown field "${field}"`, {
    hint: `use one of the fields: ${fields.map((f) => f.name).join(', ')}`,
  });
}
