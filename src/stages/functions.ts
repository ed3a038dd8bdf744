// The functions and operators available to expressions. Null in, null out (SQL-like), except
// coalesce/exists/empty; wrong types throw a TypeError that the expression turns into an
// `expression_error` dead letter. Deliberately no clock: a record must always compute the same.
import { isIP } from 'node:net';
import { converter, describeValue, numericText } from './convert.ts';
import { inCidr, rememberConstantRange } from './ip.ts';

export interface ExpressionFunction {
  readonly fn: (...args: unknown[]) => unknown;
  readonly minArgs: number;
  readonly maxArgs: number;
  /** One line for the docs and error hints. */
  readonly usage: string;
  /**
   * Checks, when the expression is compiled, an argument written as a text literal (or each text
   * of a list literal) at position `index`; returns the problem and its fix, if any.
   */
  readonly checkConstant?: (
    value: string,
    index: number,
  ) => { problem: string; fix: string } | undefined;
}

function text(name: string, v: unknown): string {
  if (typeof v === 'string') return v;
  throw new TypeError(`${name}() expects text, got ${describeValue(v)}`);
}

function num(name: string, v: unknown): number {
  if (typeof v === 'number') return v;
  throw new TypeError(`${name}() expects a number, got ${describeValue(v)}`);
}

function int(name: string, v: unknown): number {
  if (Number.isInteger(v)) return v as number;
  throw new TypeError(`${name}() expects an integer, got ${describeValue(v)}`);
}

const isNull = (v: unknown): v is null | undefined => v === null || v === undefined;

function stringFn(name: string, f: (s: string) => unknown, usage: string): ExpressionFunction {
  return { fn: (s) => (isNull(s) ? null : f(text(name, s))), minArgs: 1, maxArgs: 1, usage };
}

function mathFn(name: string, f: (n: number) => number, usage: string): ExpressionFunction {
  return { fn: (n) => (isNull(n) ? null : f(num(name, n))), minArgs: 1, maxArgs: 1, usage };
}

function extremum(name: string, pick: (a: number, b: number) => number): ExpressionFunction {
  return {
    fn: (...values) => {
      let best = NaN;
      for (const v of values) {
        if (isNull(v)) return null;
        const n = num(name, v);
        best = Number.isNaN(best) ? n : pick(best, n);
      }
      return best;
    },
    minArgs: 1,
    maxArgs: Infinity,
    usage: `${name}(a, b, …): the ${name === 'min' ? 'smallest' : 'largest'} number`,
  };
}

function round(x: unknown, digits: unknown = 0): number | null {
  if (isNull(x) || isNull(digits)) return null;
  const n = num('round', x);
  const scale = 10 ** int('round', digits);
  // Halves away from zero; the epsilon nudge makes round(1.005, 2) 1.01, not 1 (1.005 * 100 is
  // 100.49999… in binary).
  const rounded = (Math.sign(n) * Math.round(Math.abs(n) * scale * (1 + Number.EPSILON))) / scale;
  return rounded === 0 ? 0 : rounded; // no -0
}

function substr(s: unknown, start: unknown, length?: unknown): string | null {
  if (isNull(s) || isNull(start) || length === null) return null;
  const str = text('substr', s);
  const from = int('substr', start);
  const begin = from < 0 ? Math.max(str.length + from, 0) : Math.min(from, str.length);
  if (length === undefined) return str.slice(begin);
  return str.slice(begin, begin + Math.max(int('substr', length), 0));
}

function concat(...parts: unknown[]): string | null {
  let out = '';
  for (const part of parts) {
    if (isNull(part)) return null;
    if (typeof part === 'string') out += part;
    else if (typeof part === 'number' || typeof part === 'boolean') out += String(part);
    else
      throw new TypeError(`concat() expects text, numbers or booleans, got ${describeValue(part)}`);
  }
  return out;
}

function len(v: unknown): number | null {
  if (isNull(v)) return null;
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  throw new TypeError(`len() expects text or an array, got ${describeValue(v)}`);
}

function contains(haystack: unknown, needle: unknown): boolean | null {
  if (isNull(haystack) || isNull(needle)) return null;
  if (Array.isArray(haystack)) return haystack.includes(needle);
  return text('contains', haystack).includes(text('contains', needle));
}

function toNumber(v: unknown): number | null {
  if (isNull(v)) return null;
  const n =
    typeof v === 'number'
      ? v
      : typeof v === 'string'
        ? numericText(v)
        : typeof v === 'boolean'
          ? +v
          : NaN;
  if (Number.isFinite(n)) return n;
  throw new TypeError(`to_number() cannot read ${describeValue(v)} as a number`);
}

function toText(v: unknown): string | null {
  if (isNull(v)) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

const datetimeReaders = {
  auto: converter({ kind: 'datetime' }, 'value', 'auto'),
  epoch_ms: converter({ kind: 'datetime' }, 'value', 'epoch_ms'),
  epoch_s: converter({ kind: 'datetime' }, 'value', 'epoch_s'),
  iso: converter({ kind: 'datetime' }, 'value', 'iso'),
};

function toDatetime(v: unknown, format: unknown = 'auto'): unknown {
  if (isNull(v)) return null;
  if (typeof format !== 'string' || !Object.hasOwn(datetimeReaders, format)) {
    throw new TypeError(`to_datetime() format must be auto, epoch_ms, epoch_s or iso`);
  }
  try {
    return datetimeReaders[format as keyof typeof datetimeReaders](v);
  } catch {
    throw new TypeError(`to_datetime() cannot read ${describeValue(v)} as a date-time`);
  }
}

const binary = (
  name: string,
  f: (s: string, t: string) => unknown,
  usage: string,
): ExpressionFunction => ({
  fn: (a, b) => (isNull(a) || isNull(b) ? null : f(text(name, a), text(name, b))),
  minArgs: 2,
  maxArgs: 2,
  usage,
});

export const expressionFunctions: Readonly<Record<string, ExpressionFunction>> = {
  lower: stringFn('lower', (s) => s.toLowerCase(), 'lower(s): lower-case text'),
  upper: stringFn('upper', (s) => s.toUpperCase(), 'upper(s): upper-case text'),
  trim: stringFn('trim', (s) => s.trim(), 'trim(s): text without surrounding whitespace'),
  len: { fn: len, minArgs: 1, maxArgs: 1, usage: 'len(x): length of text or an array' },
  concat: { fn: concat, minArgs: 1, maxArgs: Infinity, usage: 'concat(a, b, …): joined text' },
  substr: {
    fn: substr,
    minArgs: 2,
    maxArgs: 3,
    usage: 'substr(s, start, length?): part of text; start counts from 0, negative from the end',
  },
  replace: {
    fn: (s, from, to) =>
      isNull(s) || isNull(from) || isNull(to)
        ? null
        : text('replace', s).replaceAll(text('replace', from), text('replace', to)),
    minArgs: 3,
    maxArgs: 3,
    usage: 'replace(s, find, with): every occurrence of find replaced (plain text, no regex)',
  },
  starts_with: binary('starts_with', (s, t) => s.startsWith(t), 'starts_with(s, prefix)'),
  ends_with: binary('ends_with', (s, t) => s.endsWith(t), 'ends_with(s, suffix)'),
  contains: {
    fn: contains,
    minArgs: 2,
    maxArgs: 2,
    usage: 'contains(s, part) or contains(array, value)',
  },
  abs: mathFn('abs', Math.abs, 'abs(x)'),
  floor: mathFn('floor', Math.floor, 'floor(x)'),
  ceil: mathFn('ceil', Math.ceil, 'ceil(x)'),
  sqrt: mathFn('sqrt', Math.sqrt, 'sqrt(x)'),
  log: mathFn('log', Math.log, 'log(x): natural logarithm'),
  log2: mathFn('log2', Math.log2, 'log2(x)'),
  log10: mathFn('log10', Math.log10, 'log10(x)'),
  round: {
    fn: round,
    minArgs: 1,
    maxArgs: 2,
    usage: 'round(x, digits?): nearest number with that many decimals; halves away from zero',
  },
  min: extremum('min', Math.min),
  max: extremum('max', Math.max),
  coalesce: {
    fn: (...values) => {
      for (const v of values) if (!isNull(v)) return v;
      return null;
    },
    minArgs: 1,
    maxArgs: Infinity,
    usage: 'coalesce(a, b, …): the first non-null argument',
  },
  exists: { fn: (v) => !isNull(v), minArgs: 1, maxArgs: 1, usage: 'exists(x): x is not null' },
  empty: {
    fn: (v) => isNull(v) || v === '' || (Array.isArray(v) && v.length === 0),
    minArgs: 1,
    maxArgs: 1,
    usage: 'empty(x): x is null, "" or []',
  },
  to_number: {
    fn: toNumber,
    minArgs: 1,
    maxArgs: 1,
    usage: 'to_number(x): number from text/boolean',
  },
  to_string: { fn: toText, minArgs: 1, maxArgs: 1, usage: 'to_string(x): text; objects as JSON' },
  to_datetime: {
    fn: toDatetime,
    minArgs: 1,
    maxArgs: 2,
    usage: 'to_datetime(x, format?): epoch ms from ISO text or epoch s/ms',
  },
  is_ipv4: {
    fn: (v) => (isNull(v) ? null : typeof v === 'string' && isIP(v) === 4),
    minArgs: 1,
    maxArgs: 1,
    usage: 'is_ipv4(x): x is IPv4 text such as "192.168.1.7"; false for anything else',
  },
  is_ipv6: {
    fn: (v) => (isNull(v) ? null : typeof v === 'string' && isIP(v) === 6),
    minArgs: 1,
    maxArgs: 1,
    usage: 'is_ipv6(x): x is IPv6 text such as "2001:db8::7" or "::ffff:1.2.3.4"; false otherwise',
  },
  in_cidr: {
    fn: inCidr,
    minArgs: 2,
    maxArgs: Infinity,
    usage:
      'in_cidr(ip, range, …): ip lies in one of the CIDR ranges, each text such as "10.0.0.0/8" or "2001:db8::/32" or a list ("10.0.0.0/8", "192.168.0.0/16"); false when ip is not an address',
    checkConstant: (value, index) => {
      if (index === 0) return undefined;
      const parsed = rememberConstantRange(value);
      return parsed.ok ? undefined : { problem: parsed.problem, fix: parsed.fix };
    },
  },
};
