// Keeps secrets out of everything Weir prints: logs, error output, /readyz, span attributes.
// Two layers: URLs lose their user info (`nats://user:pass@host` -> `nats://***@host`) wherever
// they are printed, and the secret values of the loaded config (passwords, tokens, credentials in
// URLs, OTLP headers) are registered once and masked in any text as a last line of defence, so a
// library message quoting a password is caught too.

export const MASK = '***';

// The user info of a URL in free text: after `scheme://`, up to the last `@` before the host.
// Characters that cannot be in a URL's user info (`"`, spaces, backslash, brackets, `/?#`) stop
// it, so a URL inside JSON or a sentence is cut at its end; `,` `;` `'` can be in user info, so a
// list of URLs may lose a host to the mask - showing too little is the safe side.
const USER_INFO_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s"`\\<>{}|^/?#]*@/gi;

// The user info at the start of one URL, with or without a scheme (NATS takes `user:pass@host`).
const USER_INFO = /^([a-z][a-z0-9+.-]*:\/\/)?([^/?#\s]*)@/i;

function replaceUserInfo(url: string, by: string): string {
  const m = USER_INFO.exec(url);
  return m ? `${m[1] ?? ''}${by}${url.slice(m[0].length)}` : url;
}

/**
 * A URL fit to print: its user info (`user:password@`, or a lone `token@`) replaced by `***@`.
 * Host, port and path stay, so a message still says where; the URL is not normalized.
 */
export function redactUrl(url: string): string {
  return replaceUserInfo(url, `${MASK}@`);
}

/** A list of servers (`a,b`) fit to print. */
export function redactUrls(urls: readonly string[]): string {
  return urls.map(redactUrl).join(',');
}

/** Text with the user info of every `scheme://user:pass@host` in it masked. */
export function redactUrlsIn(text: string): string {
  return text.replace(USER_INFO_IN_TEXT, `$1${MASK}@`);
}

export interface UrlCredentials {
  /** The URL without its user info. */
  url: string;
  /** Decoded from the URL, when it has them. */
  username?: string;
  password?: string;
}

/**
 * Splits the credentials out of a URL (`http://user:pa%40ss@host:8123`, also NATS's
 * `user:pass@host:4222` without a scheme), decoded, so they can be sent as credentials rather than
 * in a URL that libraries may print (or, like nats.js, ignore).
 */
export function splitCredentials(url: string): UrlCredentials {
  const info = USER_INFO.exec(url)?.[2];
  if (info === undefined) return { url };
  const out: UrlCredentials = { url: replaceUserInfo(url, '') };
  const colon = info.indexOf(':');
  const user = colon >= 0 ? info.slice(0, colon) : info;
  const password = colon >= 0 ? info.slice(colon + 1) : '';
  if (user !== '') out.username = decodeOrKeep(user);
  if (password !== '') out.password = decodeOrKeep(password);
  return out;
}

/**
 * The secret inside a URL's user info, decoded: the password, or a lone user part when
 * `loneUserIsSecret` (`nats://TOKEN@host` is a NATS token; `http://weir@host` only a user name).
 * The encoded form in the URL itself is masked by redactUrlsIn.
 */
export function urlSecrets(url: string, loneUserIsSecret: boolean): string[] {
  const c = splitCredentials(url);
  const secret = c.password ?? (loneUserIsSecret ? c.username : undefined);
  return secret === undefined ? [] : [secret];
}

/** Percent-decoded text, or the text as it is when it is not valid percent-encoding. */
export function decodeOrKeep(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Shorter values are not masked: a 1-3 character password is no secret worth the name, and
 * masking it everywhere (`"a"`, `"on"`) would make every log line unreadable.
 */
export const MIN_SECRET_LENGTH = 4;

const known = new Set<string>();
let pattern: RegExp | undefined;

/**
 * Adds secret values to be masked in everything printed from now on. Each is also masked in the
 * forms it takes inside JSON (escaped) and URLs (percent-encoded).
 */
export function registerSecrets(values: Iterable<string | undefined>): void {
  const before = known.size;
  for (const v of values) {
    if (v === undefined || v.length < MIN_SECRET_LENGTH) continue;
    for (const form of [v, JSON.stringify(v).slice(1, -1), encodeURIComponent(v)]) known.add(form);
  }
  // Called again at every OAuth authentication, mostly with a token already known.
  if (known.size === before) return;
  // Longest first, so a secret containing another is masked whole.
  const sorted = [...known].sort((a, b) => b.length - a.length);
  pattern = new RegExp(sorted.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
}

/** Forgets every registered secret (tests). */
export function clearSecrets(): void {
  known.clear();
  pattern = undefined;
}

/** Text with every registered secret value masked. */
export function maskSecrets(text: string): string {
  return pattern ? text.replace(pattern, MASK) : text;
}

/** Text fit to print: URL user info and registered secrets masked. */
export function redact(text: string): string {
  return maskSecrets(redactUrlsIn(text));
}
