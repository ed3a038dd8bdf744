// How values are shown in messages: short, typed, and never the content of a secret.

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** e.g. `string "ten"`, `number 3`, `a list`; a secret shows only its kind. */
export function describeValue(v: unknown, secret = false): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (secret) return `a ${typeof v} (value hidden)`;
  if (typeof v === 'string') {
    const shown = v.length > 60 ? `${v.slice(0, 57)}...` : v;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  return typeof v;
}

/** "a", "b" and "c" */
export function quoteList(items: readonly unknown[], last = 'or'): string {
  const quoted = items.map((i) => JSON.stringify(i));
  if (quoted.length <= 1) return quoted.join('');
  return `${quoted.slice(0, -1).join(', ')} ${last} ${quoted.at(-1)}`;
}
