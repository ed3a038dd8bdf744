// Safe user expressions (filter, compute) on top of filtrex: compiled once at startup, with
// field and function names checked then, so a typo is a ConfigError and not a dead letter per
// record. filtrex returns runtime errors as values; they become RecordError `expression_error`.
import { compileExpression as compileFiltrex } from 'filtrex';
import type { Operators } from 'filtrex';
import { ConfigError, RecordError } from '../core/errors.ts';
import type { Row } from '../core/record.ts';
import type { FieldRef } from './expr-scan.ts';
import { scanExpression } from './expr-scan.ts';
import { expressionFunctions } from './functions.ts';
import { operators } from './operators.ts';

/** Evaluates against a row; never returns undefined; throws RecordError `expression_error`. */
export type Expression = (row: Row) => unknown;

const constants = { true: true, false: false, null: null };

const extraFunctions = Object.fromEntries(
  Object.entries(expressionFunctions).map(([name, f]) => [name, f.fn]),
);

/** Compiles `src` against a row with the given top-level fields; throws ConfigError. */
export function compileExpression(src: string, fields: readonly string[]): Expression {
  const where = `expression \`${src}\``;
  const accessors = { plain: new Map<string, Accessor>(), quoted: new Map<string, Accessor>() };
  let evaluate: (row: Row) => unknown;
  try {
    evaluate = compileFiltrex(src, {
      extraFunctions,
      constants,
      operators: operators as unknown as Operators,
      customProp: (name, _get, obj, type) => {
        const quoted = type === 'single-quoted';
        const access =
          (quoted ? accessors.quoted : accessors.plain).get(name) ?? accessor(name, quoted);
        return access(obj);
      },
    });
  } catch (err) {
    throw new ConfigError(`invalid ${where}: ${syntaxProblem(err)}`);
  }

  const refs = scanExpression(src);
  if (refs.deprecated.length > 0) {
    throw new ConfigError(`invalid ${where}: "${refs.deprecated[0]}" is not supported`, {
      hint: 'write if <condition> then <a> else <b> instead of ?:, and a mod b instead of %',
    });
  }
  checkCalls(where, refs.calls);
  checkConstants(where, refs.textArgs);
  checkFields(where, refs.fields, fields);
  for (const ref of [...refs.fields, ...refs.properties]) {
    const map = ref.quoted ? accessors.quoted : accessors.plain;
    map.set(ref.name, accessor(ref.name, ref.quoted));
  }

  return (row) => {
    const value = evaluate(row);
    if (value instanceof Error) {
      throw new RecordError('expression_error', `${where}: ${value.message}`, { cause: value });
    }
    return value === undefined ? null : value;
  };
}

/** The names of the functions expressions may call. */
export const functionNames: readonly string[] = Object.keys(expressionFunctions);

function checkCalls(where: string, calls: readonly { name: string; args: number }[]): void {
  for (const call of calls) {
    const f = Object.hasOwn(expressionFunctions, call.name)
      ? expressionFunctions[call.name]
      : undefined;
    if (f === undefined) {
      throw new ConfigError(`${where}: unknown function ${call.name}()`, {
        hint:
          call.name === 'now'
            ? 'there is no now(): a computed value must not depend on when the record is processed; ' +
              'use a datetime field, e.g. the Kafka timestamp (from: timestamp)'
            : `use one of: ${functionNames.join(', ')}`,
      });
    }
    if (call.args < f.minArgs || call.args > f.maxArgs) {
      const expected =
        f.minArgs === f.maxArgs
          ? `${f.minArgs}`
          : f.maxArgs === Infinity
            ? `at least ${f.minArgs}`
            : `${f.minArgs} to ${f.maxArgs}`;
      throw new ConfigError(
        `${where}: ${call.name}() takes ${expected} argument(s), got ${call.args}`,
        { hint: f.usage },
      );
    }
  }
}

/** Text constants given to functions that check theirs (in_cidr's ranges): parsed once, now. */
function checkConstants(
  where: string,
  args: readonly { name: string; index: number; texts: readonly string[] }[],
): void {
  for (const arg of args) {
    const check = Object.hasOwn(expressionFunctions, arg.name)
      ? expressionFunctions[arg.name]?.checkConstant
      : undefined;
    if (!check) continue;
    for (const text of arg.texts) {
      const bad = check(text, arg.index);
      if (bad)
        throw new ConfigError(
          `${where}: ${arg.name}() argument ${arg.index + 1} "${text}" is not valid: ${bad.problem}`,
          { hint: bad.fix },
        );
    }
  }
}

function checkFields(where: string, refs: readonly FieldRef[], fields: readonly string[]): void {
  for (const ref of refs) {
    if (!ref.quoted && Object.hasOwn(constants, ref.name)) continue;
    const head = ref.quoted ? ref.name : ref.name.split('.')[0]!;
    if (!fields.includes(head)) {
      throw new ConfigError(`${where}: unknown field "${head}"`, {
        hint: `use one of the fields: ${fields.join(', ')}`,
      });
    }
  }
}

type Accessor = (obj: unknown) => unknown;

/**
 * Reads `name` (dotted unless quoted) from a value. Missing steps give null (like `?.`), and only
 * own properties are read, so an expression cannot reach `constructor` and friends.
 */
function accessor(name: string, quoted: boolean): Accessor {
  const keys = quoted ? [name] : name.split('.');
  const guarded = keys.some((k) => k in Object.prototype);
  return (obj) => {
    let current = obj;
    for (let i = 0; i < keys.length; i++) {
      if (typeof current !== 'object' || current === null) return null;
      const key = keys[i]!;
      if (guarded && !Object.hasOwn(current, key)) return null;
      current = (current as Record<string, unknown>)[key];
    }
    return current === undefined ? null : current;
  };
}

/** filtrex (Jison) reports syntax errors over several lines; keep the column and expectation. */
function syntaxProblem(err: unknown): string {
  const lines = (err instanceof Error ? err.message : String(err)).split('\n');
  const caret = lines.findIndex((l) => /^-*\^$/.test(l));
  if (caret < 0) return lines.join(' ');
  const column = lines[caret]!.length;
  const rest = lines.slice(caret + 1).join(' ');
  const kind = /lexical/i.test(lines[0] ?? '') ? 'unrecognized text' : 'syntax error';
  return `${kind} at column ${column}${rest ? `: ${rest.replace(/^Expecting/, 'expecting')}` : ''}`;
}
