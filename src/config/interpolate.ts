// `${VAR}` and `${VAR:-default}` in string values of a parsed config, with `$${` for a literal
// `${`. Done after parsing, not on the raw text, so a variable can never change the file's
// structure and every problem can name the option it is in.
import type { ConfigProblem } from './problems.ts';
import { isPlainObject } from './values.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Interpolated {
  value: unknown;
  problems: ConfigProblem[];
  /** Paths of strings that contained a reference (their text came from the environment). */
  substituted: PropertyKey[][];
}

const reference = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const nameAndDefault = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

export function interpolateEnv(value: unknown, env: Env): Interpolated {
  const result: Interpolated = { value: undefined, problems: [], substituted: [] };
  result.value = walk(value, [], env, result);
  return result;
}

function walk(value: unknown, path: PropertyKey[], env: Env, result: Interpolated): unknown {
  if (typeof value === 'string') return substitute(value, path, env, result);
  if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, i], env, result));
  if (isPlainObject(value))
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k], env, result)]),
    );
  return value;
}

function substitute(text: string, path: PropertyKey[], env: Env, result: Interpolated): string {
  let used = false;
  const out = text.replace(reference, (match: string, inner: string | undefined) => {
    if (match === '$${') return '${';
    used = true;
    const parsed = inner === undefined ? null : nameAndDefault.exec(inner);
    if (!parsed) {
      result.problems.push({
        path,
        problem: inner === undefined ? 'unterminated "${"' : `malformed reference "\${${inner}}"`,
        fix: 'write ${NAME} or ${NAME:-default}; for a literal "${" write "$${"',
      });
      return '';
    }
    const [, name = '', fallback] = parsed;
    const set = env[name];
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
    if (set !== undefined) return set;
    result.problems.push({
      path,
      problem: `environment variable ${name} is not set`,
      fix: `set ${name}, or give a default: \${${name}:-<value>}`,
    });
    return '';
  });
  if (used) result.substituted.push(path);
  return out;
}
