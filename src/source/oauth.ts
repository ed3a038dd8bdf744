// SASL OAUTHBEARER: the access token comes from a file or an environment variable that something
// else keeps fresh (a sidecar, a projected Kubernetes service-account token, a cron job). Weir
// never fetches tokens itself; it reads the current one at every authentication, so a rewritten
// file takes effect on the next (re)authentication without a restart.
import { readFileSync } from 'node:fs';
import { ConnectionError } from '../core/errors.ts';
import { registerSecrets } from '../core/redact.ts';

export interface TokenSource {
  token_file?: string;
  token_env?: string;
}

export interface OauthToken {
  value: string;
}

const where = (s: TokenSource): string =>
  s.token_file !== undefined ? `file ${s.token_file}` : `environment variable ${s.token_env}`;

const fix = (s: TokenSource): string =>
  s.token_file !== undefined
    ? 'check source.sasl.token_file and that the process that writes the token is running'
    : `set ${s.token_env} to a current access token, or use source.sasl.token_file for tokens that are refreshed`;

/** The `exp` claim of a JWT (seconds since the epoch), when the token is one and has it. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof claims.exp === 'number' ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the token now. Errors name where the token was looked for and the fix, never the token:
 * a missing or empty token, or a JWT whose `exp` has passed (the broker would only say
 * "authentication failed").
 */
export function readToken(s: TokenSource, now: () => number = Date.now): OauthToken {
  let raw: string | undefined;
  if (s.token_file !== undefined) {
    try {
      raw = readFileSync(s.token_file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConnectionError(`cannot read the OAuth token ${where(s)} (${code})`, {
        hint: fix(s),
      });
    }
  } else raw = process.env[s.token_env ?? ''];
  const token = raw?.trim() ?? '';
  if (token === '')
    throw new ConnectionError(`no OAuth token in ${where(s)}: it is empty or unset`, {
      hint: fix(s),
    });
  // Masked in whatever Weir prints from now on (a rotated token is a new secret).
  registerSecrets([token]);
  const exp = jwtExpiry(token);
  if (exp !== undefined && exp * 1000 <= now())
    throw new ConnectionError(
      `the OAuth token in ${where(s)} expired at ${new Date(exp * 1000).toISOString()}`,
      { hint: `${fix(s)}; the token must be refreshed before it expires` },
    );
  return { value: token };
}

/** kafkajs's `oauthBearerProvider`: the current token at every (re)authentication. */
export function tokenProvider(
  s: TokenSource,
  now: () => number = Date.now,
): () => Promise<OauthToken> {
  return () => Promise.resolve().then(() => readToken(s, now));
}
