// Finds what an expression refers to (fields, functions with their argument counts), so unknown
// names fail at startup instead of on every record. Runs after filtrex accepted the syntax, so it
// only needs to tell tokens apart, mirroring filtrex's lexer.

export interface FieldRef {
  /** As written: `user.id`, or the text of a quoted name `'user id'`. */
  readonly name: string;
  readonly quoted: boolean;
}

export interface CallRef {
  readonly name: string;
  readonly args: number;
}

export interface ExpressionRefs {
  readonly fields: FieldRef[];
  /** Names read with `name of x`: properties of a value, not fields of the row. */
  readonly properties: FieldRef[];
  readonly calls: CallRef[];
  /** Deprecated filtrex syntax found (`?:` ternary, `%` modulo). */
  readonly deprecated: string[];
}

type Token =
  | { kind: 'symbol'; text: string; quoted: boolean }
  | { kind: 'keyword' | 'punct' | 'literal'; text: string };

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'of', 'if', 'then', 'else', 'mod']);
const SYMBOL_START = /[a-zA-Z$_]/;
const SYMBOL_PART = /[.a-zA-Z0-9$_]/;

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      let text = '';
      for (i++; i < src.length && src[i] !== c; i++) {
        if (src[i] === '\\') i++;
        text += src[i] ?? '';
      }
      i++;
      tokens.push(c === '"' ? { kind: 'literal', text } : { kind: 'symbol', text, quoted: true });
    } else if (SYMBOL_START.test(c)) {
      const start = i;
      while (i < src.length && SYMBOL_PART.test(src[i]!)) i++;
      const text = src.slice(start, i);
      tokens.push(
        KEYWORDS.has(text) ? { kind: 'keyword', text } : { kind: 'symbol', text, quoted: false },
      );
    } else if (c >= '0' && c <= '9') {
      while (i < src.length && /[0-9.]/.test(src[i]!)) i++;
      tokens.push({ kind: 'literal', text: 'number' });
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return tokens;
}

/** Counts the arguments of the call whose `(` is at `open`. */
function countArgs(tokens: Token[], open: number): number {
  if (tokens[open + 1]?.text === ')' && tokens[open + 1]?.kind === 'punct') return 0;
  let depth = 0;
  let args = 1;
  for (let j = open; j < tokens.length; j++) {
    const t = tokens[j]!;
    if (t.kind !== 'punct') continue;
    if (t.text === '(') depth++;
    else if (t.text === ')' && --depth === 0) break;
    else if (t.text === ',' && depth === 1) args++;
  }
  return args;
}

export function scanExpression(src: string): ExpressionRefs {
  const refs: ExpressionRefs = { fields: [], properties: [], calls: [], deprecated: [] };
  const tokens = tokenize(src);
  tokens.forEach((t, i) => {
    if (t.kind === 'punct' && (t.text === '?' || t.text === ':' || t.text === '%')) {
      refs.deprecated.push(t.text);
    }
    if (t.kind !== 'symbol') return;
    const next = tokens[i + 1];
    if (next?.kind === 'punct' && next.text === '(') {
      refs.calls.push({ name: t.text, args: countArgs(tokens, i + 1) });
    } else if (next?.kind === 'keyword' && next.text === 'of') {
      refs.properties.push({ name: t.text, quoted: t.quoted });
    } else {
      refs.fields.push({ name: t.text, quoted: t.quoted });
    }
  });
  return refs;
}
