// Reading a config file: syntax, then `${VAR}` interpolation, then the schema. Every problem found
// is reported at once, one per line, in an InvalidConfigError (a ConfigError).
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../core/errors.ts';
import { registerSecrets } from '../core/redact.ts';
import { interpolateEnv, type Env } from './interpolate.ts';
import { InvalidConfigError, problemsFromIssues, type ConfigProblem } from './problems.ts';
import { weirConfigSchema, type WeirConfig } from './schema.ts';
import { secretValues } from './secrets.ts';
import { isPlainObject } from './values.ts';

export type ConfigFormat = 'yaml' | 'json';

const formats: Record<string, ConfigFormat> = { '.yaml': 'yaml', '.yml': 'yaml', '.json': 'json' };

export function formatOf(path: string): ConfigFormat {
  const format = formats[extname(path).toLowerCase()];
  if (!format)
    throw new ConfigError(`cannot tell the format of config file "${path}"`, {
      hint: 'name it *.yaml, *.yml or *.json',
    });
  return format;
}

/** Reads, interpolates and validates a config file, filling every default. */
export function loadConfig(path: string, env: Env = process.env): WeirConfig {
  const format = formatOf(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw unreadable(path, err);
  }
  const config = parseConfigText(text, format, env, path);
  // From here on, whatever Weir prints is checked for these values (core/redact.ts).
  registerSecrets(secretValues(config, env));
  return config;
}

/** Like loadConfig, from text; `source` names it in the error. */
export function parseConfigText(
  text: string,
  format: ConfigFormat,
  env: Env = process.env,
  source = `(${format} text)`,
): WeirConfig {
  const syntax = format === 'yaml' ? parseYaml(text) : parseJson(text);
  if ('problems' in syntax) throw new InvalidConfigError(source, syntax.problems);
  const interpolated = interpolateEnv(syntax.value, env);
  // A value that could not be interpolated would only add a confusing follow-on problem.
  const unresolved = interpolated.problems.map((p) => p.path);
  const validated = validate(interpolated.value, interpolated.substituted);
  const problems = [
    ...interpolated.problems,
    ...('problems' in validated ? validated.problems : []).filter(
      (p) => !unresolved.some((u) => startsWith(p.path, u)),
    ),
  ];
  if (problems.length || !('config' in validated)) throw new InvalidConfigError(source, problems);
  return validated.config;
}

/** Validates an already parsed (and interpolated) value against the schema. */
export function validateConfig(value: unknown, source = '(value)'): WeirConfig {
  const result = validate(value, []);
  if ('problems' in result) throw new InvalidConfigError(source, result.problems);
  return result.config;
}

type Validated = { config: WeirConfig } | { problems: ConfigProblem[] };

function validate(value: unknown, substituted: readonly PropertyKey[][]): Validated {
  if (value === null || value === undefined)
    return {
      problems: [{ path: [], problem: 'the config is empty', fix: 'declare at least pipelines:' }],
    };
  let result = weirConfigSchema.safeParse(value, { reportInput: true });
  if (!result.success && substituted.length) {
    const coerced = coerceSubstituted(value, result.error.issues, substituted);
    if (coerced !== value) result = weirConfigSchema.safeParse(coerced, { reportInput: true });
  }
  return result.success
    ? { config: result.data }
    : { problems: problemsFromIssues(result.error.issues, { hidden: substituted }) };
}

/**
 * Values from the environment are text. Where the schema wants a number or a boolean and the
 * interpolated text is one (`port: ${PORT}`), use it as such, as if it had been written there.
 */
function coerceSubstituted(
  value: unknown,
  issues: readonly { code: string; path: PropertyKey[]; input?: unknown; expected?: string }[],
  substituted: readonly PropertyKey[][],
): unknown {
  let out = value;
  for (const issue of issues) {
    if (issue.code !== 'invalid_type' || typeof issue.input !== 'string') continue;
    if (!substituted.some((p) => samePath(p, issue.path))) continue;
    const text = issue.input.trim();
    const typed =
      (issue.expected === 'number' || issue.expected === 'int') &&
      /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)
        ? Number(text)
        : issue.expected === 'boolean' && (text === 'true' || text === 'false')
          ? text === 'true'
          : undefined;
    if (typed !== undefined) out = setAt(out, issue.path, typed);
  }
  return out;
}

function setAt(value: unknown, path: readonly PropertyKey[], replacement: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return replacement;
  if (Array.isArray(value) && typeof head === 'number')
    return (value as unknown[]).map((item, i) =>
      i === head ? setAt(item, rest, replacement) : item,
    );
  if (isPlainObject(value) && typeof head === 'string')
    return { ...value, [head]: setAt(value[head], rest, replacement) };
  return value;
}

const samePath = (a: readonly PropertyKey[], b: readonly PropertyKey[]) =>
  a.length === b.length && startsWith(a, b);
const startsWith = (path: readonly PropertyKey[], prefix: readonly PropertyKey[]) =>
  prefix.every((seg, i) => path[i] === seg);

// ---------------------------------------------------------------- syntax

type Parsed = { value: unknown } | { problems: ConfigProblem[] };

const yamlFixes: Record<string, string> = {
  BAD_INDENT: 'align this line with its siblings (spaces, not tabs)',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  DUPLICATE_KEY: 'remove or rename one of the two keys',
  MISSING_CHAR: 'add the missing closing character',
  BLOCK_AS_IMPLICIT_KEY: 'put each key on its own line, or quote a value containing ": "',
  MULTILINE_IMPLICIT_KEY: 'put each key on its own line, or quote a value containing ": "',
  MULTIPLE_DOCS: 'keep one YAML document (remove the extra "---")',
};

function parseYaml(text: string): Parsed {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  // After the first syntax error the parser often reports every following token; keep the first,
  // and only independent later ones (duplicate keys).
  const errors = doc.errors.filter((e, i) => i === 0 || e.code === 'DUPLICATE_KEY');
  if (errors.length === 0) return { value: doc.toJS() as unknown };
  const lines = text.split('\n');
  return {
    problems: errors.map((e) => {
      const pos = e.linePos?.[0];
      const line = pos ? (lines[pos.line - 1] ?? '') : '';
      return {
        path: [],
        location: at(pos),
        // The library's message ends with a copy of the line, which may hold a secret: cut it.
        problem: e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, ''),
        fix: /[{[][^}\]]*\$\{/.test(line)
          ? 'inside { } or [ ], put a value containing ${...} in quotes: "${VAR}"'
          : (yamlFixes[e.code] ?? 'check indentation, colons and quotes on this line'),
      };
    }),
  };
}

function parseJson(text: string): Parsed {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const position = /at position (\d+)/.exec(message)?.[1];
    // V8 may quote part of the text in its message (it may hold a secret): keep only the reason.
    const reason = message
      .replace(/ in JSON at position[\s\S]*$/, '')
      .replace(/,\s*(\.\.\.)?"[\s\S]*$/, '');
    const location =
      position !== undefined
        ? lineColumn(text, Number(position))
        : YAML.parseDocument(text, { schema: 'json' }).errors[0]?.linePos?.[0];
    return {
      problems: [
        {
          path: [],
          location: at(location),
          problem: reason,
          fix: 'check commas, quotes and brackets near there',
        },
      ],
    };
  }
}

function lineColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, col: (before.at(-1)?.length ?? 0) + 1 };
}

const at = (pos: { line: number; col: number } | undefined) =>
  pos ? `line ${pos.line}, column ${pos.col}` : 'syntax';

function unreadable(path: string, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const full = resolve(path);
  const [what, hint] =
    code === 'ENOENT'
      ? [
          `config file not found: ${full}`,
          'check the path (relative paths start from the working directory)',
        ]
      : code === 'EISDIR'
        ? [
            `config path is a directory, not a file: ${full}`,
            'point to the .yaml or .json file inside it',
          ]
        : code === 'EACCES'
          ? [`no permission to read config file ${full}`, 'make the file readable by this user']
          : [
              `cannot read config file ${full}: ${err instanceof Error ? err.message : String(err)}`,
              'check the path',
            ];
  return new ConfigError(what, { cause: err, hint });
}
