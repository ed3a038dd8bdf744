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

/** A call's argument written as a text literal, or a list of text literals: known at startup. */
export interface TextArgRef {
  readonly name: string;
  /** The argument's position, from 0. */
  readonly index: number;
  readonly texts: readonly string[];
}

export interface ExpressionRefs {
  readonly fields: FieldRef[];
  /** Names read with `name of x`: properties of a value, not fields of the row. */
  readonly properties: FieldRef[];
  readonly calls: CallRef[];
  readonly textArgs: TextArgRef[];
  /** Deprecated filtrex syntax found (`?:` ternary, `%` modulo). */
  readonly deprecated: string[];
}

type Token =
  | { kind: 'symbol'; text: string; quoted: boolean }
  | { kind: 'literal'; text: string; isText: boolean }
  | { kind: 'keyword' | 'punct'; text: string };

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
      tokens.push(
        c === '"'
          ? { kind: 'literal', text, isText: true }
          : { kind: 'symbol', text, quoted: true },
      );
    } else if (SYMBOL_START.test(c)) {
      const start = i;
      while (i < src.length && SYMBOL_PART.test(src[i]!)) i++;
      const text = src.slice(start, i);
      tokens.push(
        KEYWORDS.has(text) ? { kind: 'keyword', text } : { kind: 'symbol', text, quoted: false },
      );
    } else if (c >= '0' && c <= '9') {
      while (i < src.length && /[0-9.]/.test(src[i]!)) i++;
      tokens.push({ kind: 'literal', text: 'number', isText: false });
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

const isPunct = (t: Token | undefined, text: string): boolean =>
  t?.kind === 'punct' && t.text === text;

/** The tokens of each argument of the call whose `(` is at `open`. */
function argSpans(tokens: Token[], open: number): Token[][] {
  const spans: Token[][] = [[]];
  let depth = 0;
  for (let j = open; j < tokens.length; j++) {
    const t = tokens[j]!;
    if (isPunct(t, '(') && ++depth === 1) continue;
    if (isPunct(t, ')') && --depth === 0) break;
    if (isPunct(t, ',') && depth === 1) {
      spans.push([]);
      continue;
    }
    spans.at(-1)!.push(t);
  }
  return spans;
}

/** `"a"` or `("a", "b", …)`: the texts; anything else (a field, a call, a number): undefined. */
function literalTexts(span: Token[]): string[] | undefined {
  const text = (t: Token | undefined) => (t?.kind === 'literal' && t.isText ? t.text : undefined);
  if (span.length === 1) {
    const t = text(span[0]);
    return t === undefined ? undefined : [t];
  }
  if (span.length < 3 || !isPunct(span[0], '(') || !isPunct(span.at(-1), ')')) return undefined;
  const texts: string[] = [];
  const inner = span.slice(1, -1);
  for (let i = 0; i < inner.length; i++) {
    if (i % 2 === 1) {
      if (!isPunct(inner[i], ',')) return undefined;
      continue;
    }
    const t = text(inner[i]);
    if (t === undefined) return undefined;
    texts.push(t);
  }
  return inner.length % 2 === 1 ? texts : undefined;
}

export function scanExpression(src: string): ExpressionRefs {
  const refs: ExpressionRefs = {
    fields: [],
    properties: [],
    calls: [],
    textArgs: [],
    deprecated: [],
  };
  const tokens = tokenize(src);
  tokens.forEach((t, i) => {
    if (t.kind === 'punct' && (t.text === '?' || t.text === ':' || t.text === '%')) {
      refs.deprecated.push(t.text);
    }
    if (t.kind !== 'symbol') return;
    const next = tokens[i + 1];
    if (next?.kind === 'punct' && next.text === '(') {
      refs.calls.push({ name: t.text, args: countArgs(tokens, i + 1) });
      argSpans(tokens, i + 1).forEach((span, index) => {
        const texts = literalTexts(span);
        if (texts) refs.textArgs.push({ name: t.text, index, texts });
      });
    } else if (next?.kind === 'keyword' && next.text === 'of') {
      refs.properties.push({ name: t.text, quoted: t.quoted });
    } else {
      refs.fields.push({ name: t.text, quoted: t.quoted });
    }
  });
  return refs;
}
