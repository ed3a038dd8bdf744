// Parser of ClickHouse type strings as DESCRIBE TABLE prints them (any whitespace, quoted enum
// names with escapes, named tuples over several lines). Anything not understood becomes an
// `Unknown` node instead of an exception.
import type { ChType, EnumValue, IntName, TupleElement } from './types.ts';

const intNames: readonly IntName[] = [
  'Int8',
  'Int16',
  'Int32',
  'Int64',
  'Int128',
  'Int256',
  'UInt8',
  'UInt16',
  'UInt32',
  'UInt64',
  'UInt128',
  'UInt256',
];

const decimalPrecision: Record<string, number> = {
  Decimal32: 9,
  Decimal64: 18,
  Decimal128: 38,
  Decimal256: 76,
};

class ParseFailure extends Error {}

/** A small recursive-descent reader over one type string. */
class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  peek(): string {
    this.skipSpace();
    return this.text[this.pos] ?? '';
  }

  eat(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.pos++;
    return true;
  }

  expect(ch: string): void {
    if (!this.eat(ch)) throw new ParseFailure(`expected '${ch}' at ${this.pos}`);
  }

  identifier(): string {
    this.skipSpace();
    if (this.text[this.pos] === '`' || this.text[this.pos] === '"')
      return this.quoted(this.text[this.pos] ?? '');
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    if (!m) throw new ParseFailure(`expected a name at ${this.pos}`);
    this.pos += m[0].length;
    return m[0];
  }

  /** A quoted literal with backslash escapes or doubled quotes. */
  quoted(quote: string): string {
    this.skipSpace();
    if (this.text[this.pos] !== quote) throw new ParseFailure(`expected ${quote} at ${this.pos}`);
    this.pos++;
    let out = '';
    for (;;) {
      const ch = this.text[this.pos++];
      if (ch === undefined) throw new ParseFailure('unterminated quoted text');
      if (ch === '\\') {
        const next = this.text[this.pos++];
        if (next === undefined) throw new ParseFailure('unterminated escape');
        out += unescapeChar(next);
      } else if (ch === quote) {
        if (this.text[this.pos] === quote) {
          out += quote;
          this.pos++;
        } else {
          return out;
        }
      } else {
        out += ch;
      }
    }
  }

  integer(): number {
    this.skipSpace();
    const m = /^-?\d+/.exec(this.text.slice(this.pos));
    if (!m) throw new ParseFailure(`expected a number at ${this.pos}`);
    this.pos += m[0].length;
    return Number(m[0]);
  }

  /** Skips a balanced parenthesised argument list, for types whose arguments we do not use. */
  skipArguments(): void {
    let depth = 0;
    do {
      const ch = this.text[this.pos];
      if (ch === undefined) throw new ParseFailure('unbalanced parentheses');
      if (ch === "'" || ch === '`' || ch === '"') {
        this.quoted(ch);
        continue;
      }
      if (ch === '(') depth++;
      else if (ch === ')') depth--;
      this.pos++;
    } while (depth > 0);
  }
}

function unescapeChar(ch: string): string {
  switch (ch) {
    case 'n':
      return '\n';
    case 't':
      return '\t';
    case 'r':
      return '\r';
    case '0':
      return '\0';
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    default:
      return ch;
  }
}

function readType(r: Reader): ChType {
  const start = r.pos;
  const name = r.identifier();
  const hasArgs = r.peek() === '(';
  const unknown = (): ChType => {
    r.pos = start;
    r.skipSpace();
    const from = r.pos;
    r.identifier();
    if (r.peek() === '(') r.skipArguments();
    return { kind: 'Unknown', text: r.text.slice(from, r.pos).trim() };
  };

  if (!hasArgs) {
    if ((intNames as readonly string[]).includes(name)) return intType(name as IntName);
    switch (name) {
      case 'String':
        return { kind: 'String' };
      case 'Float32':
        return { kind: 'Float', bits: 32 };
      case 'Float64':
        return { kind: 'Float', bits: 64 };
      case 'Bool':
      case 'Boolean':
        return { kind: 'Bool' };
      case 'UUID':
        return { kind: 'UUID' };
      case 'Date':
        return { kind: 'Date' };
      case 'Date32':
        return { kind: 'Date32' };
      case 'DateTime':
        return { kind: 'DateTime' };
      case 'IPv4':
        return { kind: 'IPv4' };
      case 'IPv6':
        return { kind: 'IPv6' };
      case 'Nothing':
        return { kind: 'Nothing' };
      case 'JSON':
        return { kind: 'JSON', spelling: 'JSON' };
      default:
        return unknown();
    }
  }

  r.expect('(');
  let t: ChType;
  switch (name) {
    case 'FixedString':
      t = { kind: 'FixedString', length: r.integer() };
      break;
    case 'Decimal': {
      const precision = r.integer();
      const scale = r.eat(',') ? r.integer() : 0;
      t = { kind: 'Decimal', precision, scale };
      break;
    }
    case 'Decimal32':
    case 'Decimal64':
    case 'Decimal128':
    case 'Decimal256':
      t = { kind: 'Decimal', precision: decimalPrecision[name] ?? 0, scale: r.integer() };
      break;
    case 'DateTime':
      t = { kind: 'DateTime', timezone: r.quoted("'") };
      break;
    case 'DateTime64': {
      const precision = r.integer();
      t = r.eat(',')
        ? { kind: 'DateTime64', precision, timezone: r.quoted("'") }
        : { kind: 'DateTime64', precision };
      break;
    }
    case 'Enum8':
    case 'Enum16': {
      const values: EnumValue[] = [];
      do {
        const valueName = r.quoted("'");
        r.expect('=');
        values.push({ name: valueName, value: r.integer() });
      } while (r.eat(','));
      t = { kind: 'Enum', bits: name === 'Enum8' ? 8 : 16, values };
      break;
    }
    case 'Nullable':
      t = { kind: 'Nullable', inner: readType(r) };
      break;
    case 'LowCardinality':
      t = { kind: 'LowCardinality', inner: readType(r) };
      break;
    case 'Array':
      t = { kind: 'Array', element: readType(r) };
      break;
    case 'Map': {
      const key = readType(r);
      r.expect(',');
      t = { kind: 'Map', key, value: readType(r) };
      break;
    }
    case 'Tuple': {
      const elements: TupleElement[] = [];
      do elements.push(readTupleElement(r));
      while (r.eat(','));
      t = { kind: 'Tuple', elements };
      break;
    }
    case 'SimpleAggregateFunction': {
      // Inserted as plain values of its argument type.
      r.skipSpace();
      r.identifier();
      if (r.peek() === '(') r.skipArguments();
      r.expect(',');
      t = readType(r);
      break;
    }
    case 'Object':
    case 'JSON': {
      const open = r.pos - 1;
      r.pos = open;
      r.skipArguments();
      const spelling = name + r.text.slice(open, r.pos);
      if (name === 'Object' && !/^Object\(\s*'json'\s*\)$/i.test(spelling))
        return { kind: 'Unknown', text: spelling };
      return { kind: 'JSON', spelling };
    }
    default:
      return unknown();
  }
  r.expect(')');
  return t;
}

function readTupleElement(r: Reader): TupleElement {
  const save = r.pos;
  const first = r.identifier();
  const next = r.peek();
  // `Tuple(a Int32)` names its element; `Tuple(Int32)` or `Tuple(Array(..))` does not.
  if (next !== '(' && next !== ',' && next !== ')') return { name: first, type: readType(r) };
  r.pos = save;
  return { type: readType(r) };
}

function intType(name: IntName): ChType {
  const signed = !name.startsWith('U');
  return { kind: 'Int', name, bits: Number(name.slice(signed ? 3 : 4)), signed };
}

/** Parses a type string; never throws (unparseable text becomes an `Unknown` node). */
export function parseChType(s: string): ChType {
  const r = new Reader(s);
  try {
    const t = readType(r);
    r.skipSpace();
    if (r.pos !== s.length) return { kind: 'Unknown', text: s.trim() };
    return t;
  } catch (err) {
    if (err instanceof ParseFailure) return { kind: 'Unknown', text: s.trim() };
    throw err;
  }
}
