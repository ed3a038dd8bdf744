// Bearer-token authentication of the HTTP API: where the token comes from (WEIR_API_TOKEN or
// agent.http.token), how a request's token is checked, and what the start-up log says about it.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { InvalidConfigError } from '../config/problems.ts';
import { apiTokenProblem, type WeirConfig } from '../config/schema.ts';

/** The environment variable holding the API token; it wins over agent.http.token. */
export const apiTokenEnv = 'WEIR_API_TOKEN';

/**
 * The config with agent.http.token set from WEIR_API_TOKEN when that is set and not empty (the
 * deployment's environment overrides the file, as OTEL_* variables do), or cleared when neither
 * holds a token. A bad token in the environment is a config error naming the variable.
 */
export function withApiToken(
  cfg: WeirConfig,
  env: Readonly<Record<string, string | undefined>>,
  source: string,
): WeirConfig {
  const fromEnv = env[apiTokenEnv];
  if (fromEnv) {
    const p = apiTokenProblem(fromEnv);
    if (p) throw new InvalidConfigError(source, [{ path: [], location: apiTokenEnv, ...p }]);
  }
  const token = fromEnv || cfg.agent.http.token || undefined;
  return { ...cfg, agent: { ...cfg.agent, http: { ...cfg.agent.http, token } } };
}

// Hashing first makes both sides 32 bytes, so neither the comparison's time nor an early length
// check tells an attacker how long the token is or how much of it they got right.
const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Compares a presented token with the expected one in constant time. */
export function tokensMatch(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The credentials of an `Authorization: Bearer <token>` header; the scheme is case-insensitive. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header ?? '');
  return m?.[1];
}

export type Access = 'open' | 'granted' | 'denied';

/** Whether a request may see everything: no token configured, the right one sent, or neither. */
export function accessOf(c: Context, token: string | undefined): Access {
  if (token === undefined) return 'open';
  const presented = bearerToken(c.req.header('authorization'));
  return presented !== undefined && tokensMatch(presented, token) ? 'granted' : 'denied';
}

/**
 * Requires the token on every path except `open` ones (the liveness probe, and /readyz, which
 * hides its detail itself). 401 with `WWW-Authenticate: Bearer` (RFC 6750) and a short JSON body.
 */
export function requireToken(
  token: string | undefined,
  open: readonly string[] = [],
): MiddlewareHandler {
  return async (c, next) => {
    if (open.includes(c.req.path) || accessOf(c, token) !== 'denied') return next();
    const sent = c.req.header('authorization') !== undefined;
    c.header(
      'WWW-Authenticate',
      sent ? 'Bearer realm="weir", error="invalid_token"' : 'Bearer realm="weir"',
    );
    return c.json(
      {
        error: 'unauthorized',
        reason: sent ? 'the bearer token is not valid' : 'send Authorization: Bearer <token>',
      },
      401,
    );
  };
}

/** Whether a bind address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** The start-up warning of an API without a token; undefined when a token is set. */
export function openApiWarning(host: string, token: string | undefined): string | undefined {
  if (token !== undefined) return undefined;
  const fix = `set ${apiTokenEnv} (or agent.http.token) to require a bearer token on /metrics and the /readyz detail`;
  return isLoopback(host)
    ? `the HTTP API has no authentication (reachable from this machine only); ${fix}`
    : `the HTTP API has no authentication and listens on ${host}, reachable from the network: anyone who reaches it reads /metrics and the /readyz detail (addresses, error texts); ${fix}, or bind agent.http.host to 127.0.0.1`;
}
