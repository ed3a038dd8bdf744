// Operator semantics for expressions, replacing filtrex's defaults: null operands propagate
// (arithmetic gives null, comparisons give false) instead of failing the record, and `~=` compiles
// each pattern once instead of once per record.
import { describeValue } from './convert.ts';

type Binary = (a: unknown, b: unknown) => unknown;

const isNull = (v: unknown): v is null | undefined => v === null || v === undefined;

function operandError(op: string, expected: string, a: unknown, b?: unknown): TypeError {
  const got = b === undefined ? describeValue(a) : `${describeValue(a)} and ${describeValue(b)}`;
  return new TypeError(`operator ${op} expects ${expected}, got ${got}`);
}

function arithmetic(op: string, f: (a: number, b: number) => number): Binary {
  return (a, b) => {
    if (isNull(a) || isNull(b)) return null;
    if (typeof a === 'number' && typeof b === 'number') return f(a, b);
    throw operandError(op, 'numbers', a, b);
  };
}

function comparison(op: string, f: (a: number | string, b: number | string) => boolean): Binary {
  return (a, b) => {
    if (isNull(a) || isNull(b)) return false;
    if (
      (typeof a === 'number' && typeof b === 'number') ||
      (typeof a === 'string' && typeof b === 'string')
    ) {
      return f(a, b);
    }
    throw operandError(op, 'two numbers or two texts', a, b);
  };
}

const subtract = arithmetic('-', (a, b) => a - b);

const patterns = new Map<string, RegExp>();
const MAX_PATTERNS = 256;

function pattern(source: string): RegExp {
  let re = patterns.get(source);
  if (re === undefined) {
    re = new RegExp(source);
    // Patterns normally are literals in the config; the cap only guards computed ones.
    if (patterns.size < MAX_PATTERNS) patterns.set(source, re);
  }
  return re;
}

export const operators: Record<string, Binary> = {
  '+': (a, b) => {
    if (isNull(a) || isNull(b)) return null;
    if (typeof a === 'number' && typeof b === 'number') return a + b;
    if (
      (typeof a === 'string' || typeof a === 'number') &&
      (typeof b === 'string' || typeof b === 'number')
    ) {
      return String(a) + String(b);
    }
    throw operandError('+', 'numbers or text', a, b);
  },
  // filtrex calls ops['-'](x) for unary minus; row values are never undefined, so b === undefined
  // means unary.
  '-': (a, b) => {
    if (b === undefined) {
      if (isNull(a)) return null;
      if (typeof a === 'number') return -a;
      throw operandError('-', 'a number', a);
    }
    return subtract(a, b);
  },
  '*': arithmetic('*', (a, b) => a * b),
  '/': arithmetic('/', (a, b) => a / b),
  '^': arithmetic('^', (a, b) => a ** b),
  mod: arithmetic('mod', (a, b) => ((a % b) + b) % b),
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': comparison('<', (a, b) => a < b),
  '<=': comparison('<=', (a, b) => a <= b),
  '>': comparison('>', (a, b) => a > b),
  '>=': comparison('>=', (a, b) => a >= b),
  '~=': (a, b) => {
    if (isNull(a) || isNull(b)) return false;
    if (typeof a !== 'string' || typeof b !== 'string') throw operandError('~=', 'texts', a, b);
    return pattern(b).test(a);
  },
};
