// Turns zod issues into config problems a person can act on: the option's path, what is wrong,
// and how to fix it; secrets never shown.
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import type { ProblemParams } from './rules.ts';
import { weirConfigSchema } from './schema.ts';
import { closest } from './suggest.ts';
import { describeValue, isPlainObject, quoteList } from './values.ts';
import { isSecretAt, knownKeys, schemaAt, unwrap } from './walk.ts';

export interface ConfigProblem {
  /** Where, as keys and indexes from the top of the file. */
  path: PropertyKey[];
  /** Shown instead of the path when the problem is not in an option (e.g. `line 3, column 5`). */
  location?: string;
  problem: string;
  fix?: string;
  didYouMean?: string;
}

/** `pipelines[0].sink.clickhouse.batch.max_rows`; odd keys quoted: `fields["order-id"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path
    .map((seg, i) => {
      if (typeof seg === 'number') return `[${seg}]`;
      const key = String(seg);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `[${JSON.stringify(key)}]`;
      return i === 0 ? key : `.${key}`;
    })
    .join('');
}

/** One line: `<path>: <problem> (fix: <hint>)`, or `(did you mean "x"?)` for a near miss. */
export function formatProblem(p: ConfigProblem): string {
  const tail = p.fix
    ? ` (fix: ${p.fix})`
    : p.didYouMean !== undefined
      ? ` (did you mean "${p.didYouMean}"?)`
      : '';
  return `${p.location ?? formatPath(p.path)}: ${p.problem}${tail}`;
}

/** A ConfigError listing every problem, one per line, after a heading naming the source. */
export class InvalidConfigError extends ConfigError {
  override name = 'InvalidConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(source: string, problems: readonly ConfigProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super([`invalid config ${source} (${count}):`, ...problems.map(formatProblem)].join('\n'));
    this.problems = problems;
  }
}

const expectedLabels: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of keys to values',
  record: 'a mapping of names to values',
};

const lastKey = (path: readonly PropertyKey[]) =>
  String([...path].reverse().find((seg) => typeof seg === 'string') ?? 'value');

const firstSentence = (text = '') => text.split(/(?<=\.)\s/)[0]?.replace(/\.$/, '') ?? '';

export interface ProblemOptions {
  root?: z.ZodType;
  /** Paths whose values must not be shown besides secrets (e.g. read from the environment). */
  hidden?: readonly (readonly PropertyKey[])[];
}

export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  options: ProblemOptions = {},
  base: readonly PropertyKey[] = [],
): ConfigProblem[] {
  const out = issues.flatMap((issue) => problemsOf(issue, [...base, ...issue.path], options));
  const seen = new Set<string>();
  return out.filter((p) => {
    const line = formatProblem(p);
    return seen.has(line) ? false : (seen.add(line), true);
  });
}

function problemsOf(
  issue: z.core.$ZodIssue,
  path: PropertyKey[],
  options: ProblemOptions,
): ConfigProblem[] {
  const root = options.root ?? weirConfigSchema;
  const secret = isHidden(path, options);
  const got = describeValue(issue.input, secret);
  const option = schemaAt(root, path);
  const info = option && unwrap(option);
  const key = lastKey(path);

  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) {
        const label = expectedLabels[issue.expected] ?? issue.expected;
        const what = firstSentence(info?.meta.description);
        return [
          {
            path,
            problem: 'missing required option',
            fix: `add ${key}: <${label}>${what ? ` — ${what}` : ''}`,
          },
        ];
      }
      if (issue.input === null) {
        const optional = info && (info.optional || info.hasDefault);
        return [
          {
            path,
            problem: `has no value (expected ${expectedLabels[issue.expected] ?? issue.expected})`,
            fix: optional ? `give a value, or remove ${key} to use its default` : 'give a value',
          },
        ];
      }
      return [
        {
          path,
          problem: `expected ${expectedLabels[issue.expected] ?? issue.expected}, got ${got}`,
          fix: typeFix(issue.expected, issue.input, key, info?.defaultValue, secret),
        },
      ];
    }
    case 'too_small':
    case 'too_big':
      return [{ path, ...rangeProblem(issue, got, info?.hasDefault ?? false) }];
    case 'invalid_value': {
      const near =
        typeof issue.input === 'string' && !secret
          ? closest(issue.input, issue.values.map(String))
          : undefined;
      const expected =
        issue.values.length > 2 ? `one of ${quoteList(issue.values)}` : quoteList(issue.values);
      return [
        {
          path,
          problem: `expected ${expected}, got ${got}`,
          ...(near ? { didYouMean: near } : { fix: `use ${expected}` }),
        },
      ];
    }
    case 'unrecognized_keys': {
      const known = option ? knownKeys(option) : [];
      return issue.keys.map((k) => {
        const near = closest(k, known);
        return near
          ? { path, problem: `unknown key "${k}"`, didYouMean: near }
          : {
              path,
              problem: `unknown key "${k}"`,
              fix: `remove it${known.length ? `; valid keys here: ${known.join(', ')}` : ''}`,
            };
      });
    }
    case 'invalid_key': {
      const inner = issue.issues[0];
      const params = (inner?.code === 'custom' ? inner.params : undefined) as
        ProblemParams | undefined;
      return [
        {
          path,
          problem:
            inner?.code === 'custom' ? inner.message : `invalid name "${String(issue.input)}"`,
          ...(params?.fix ? { fix: params.fix } : {}),
        },
      ];
    }
    case 'invalid_union':
      return unionProblems(issue, path, options);
    case 'custom': {
      const params = (issue.params ?? {}) as ProblemParams;
      return [{ path, problem: issue.message, ...params }];
    }
    default:
      return [
        { path, problem: `${issue.message}, got ${got}`, fix: 'see docs/config-reference.md' },
      ];
  }
}

function typeFix(
  expected: string,
  input: unknown,
  key: string,
  fallback: unknown,
  secret: boolean,
): string {
  const shown = secret ? '' : `: "${String(input)}"`;
  switch (expected) {
    case 'number':
    case 'int':
      if (typeof input === 'string' && input.trim() !== '' && !Number.isNaN(Number(input)))
        return 'write the number without quotes';
      if (typeof input === 'number') return 'use a whole number';
      return `write a number${typeof fallback === 'number' ? `, e.g. ${key}: ${fallback}` : ''}`;
    case 'boolean':
      return 'write true or false, without quotes';
    case 'string':
      return `put the value in quotes${typeof input === 'object' ? '' : shown}`;
    case 'array':
      return typeof input === 'string' && !secret
        ? `write a list, e.g. ${key}: [${JSON.stringify(input)}]`
        : 'write a list: [a, b] or one "- item" per line';
    case 'object':
    case 'record':
      return `write ${key} as indented "key: value" lines`;
    default:
      return `use ${expectedLabels[expected] ?? expected}`;
  }
}

function rangeProblem(
  issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig,
  got: string,
  hasDefault: boolean,
): Omit<ConfigProblem, 'path'> {
  const small = issue.code === 'too_small';
  const bound = Number(small ? issue.minimum : issue.maximum);
  if (issue.origin === 'array')
    return small
      ? {
          problem: bound === 1 ? 'must not be an empty list' : `needs at least ${bound} items`,
          fix: 'add at least one item',
        }
      : { problem: `has more than ${bound} items`, fix: `keep at most ${bound}` };
  if (issue.origin === 'string')
    return small
      ? {
          problem: 'must not be empty',
          fix: hasDefault
            ? 'give a value, or remove the option to use its default'
            : 'give a value',
        }
      : { problem: `is longer than ${bound} characters`, fix: `shorten it to ${bound}` };
  const inclusive = issue.inclusive !== false;
  const limit = small
    ? inclusive
      ? `at least ${bound}`
      : `greater than ${bound}`
    : inclusive
      ? `at most ${bound}`
      : `less than ${bound}`;
  return { problem: `must be ${limit}, got ${got}`, fix: `use a number ${limit}` };
}

/**
 * A union failed every form. Report the form that was meant (the one the value's shape fits) in
 * detail; when none fits, say what the forms are.
 */
function unionProblems(
  issue: z.core.$ZodIssueInvalidUnion,
  path: PropertyKey[],
  options: ProblemOptions,
): ConfigProblem[] {
  const root = options.root ?? weirConfigSchema;
  const input = issue.input;
  const wrongForm = (i: z.core.$ZodIssue) =>
    (i.path.length === 0 &&
      (i.code === 'invalid_type' ||
        i.code === 'unrecognized_keys' ||
        (i.code === 'invalid_value' && !i.values.some((v) => typeof v === typeof input)))) ||
    (i.path.length === 1 && i.code === 'invalid_type' && i.input === undefined);
  const ranked = issue.errors
    .map((errors) => ({ errors, score: errors.filter(wrongForm).length }))
    .sort((a, b) => a.score - b.score);
  const best = ranked[0];
  if (best && best.score === 0) return problemsFromIssues(best.errors, options, path);

  const union = schemaAt(root, path);
  const fix = union ? unwrap(union).meta.hint : undefined;
  const fixPart = fix ? { fix } : { fix: 'see docs/config-reference.md' };
  const known = union ? knownKeys(union) : [];
  if (isPlainObject(input) && known.length) {
    const unknown = Object.keys(input).filter((k) => !known.includes(k));
    if (unknown.length)
      return unknown.map((k) => {
        const near = closest(k, known);
        return { path, problem: `unknown key "${k}"`, ...(near ? { didYouMean: near } : fixPart) };
      });
    const keys = Object.keys(input);
    return [
      {
        path,
        problem: `does not match any accepted form (got ${keys.length ? `keys ${keys.join(', ')}` : 'an empty mapping'})`,
        ...fixPart,
      },
    ];
  }
  const forms = union ? formsOf(union) : [];
  return [
    {
      path,
      problem: `expected ${forms.length ? listOf(forms) : 'another value'}, got ${describeValue(input, isHidden(path, options))}`,
      ...fixPart,
    },
  ];
}

function formsOf(union: z.ZodType): string[] {
  const { core } = unwrap(union);
  if (!(core instanceof z.ZodUnion)) return [];
  const labels = (core.options as z.ZodType[]).map((o) => {
    const c = unwrap(o).core;
    if (c instanceof z.ZodEnum) return `a name (${(c.options as string[]).join(', ')})`;
    if (c instanceof z.ZodObject) return 'a mapping';
    if (c instanceof z.ZodString) return 'a string';
    if (c instanceof z.ZodNumber) return 'a number';
    if (c instanceof z.ZodBoolean) return 'true/false';
    return 'another form';
  });
  return [...new Set(labels)];
}

const listOf = (items: readonly string[]) =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;

function isHidden(path: readonly PropertyKey[], options: ProblemOptions): boolean {
  const same = (h: readonly PropertyKey[]) =>
    h.length === path.length && h.every((seg, i) => seg === path[i]);
  return isSecretAt(options.root ?? weirConfigSchema, path) || (options.hidden ?? []).some(same);
}
