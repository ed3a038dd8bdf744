// Secret options (passwords) are marked in the schema with `.meta({ secret: true })`; this is the
// one place that turns that mark into masking for anything that prints a config, and that lists
// every secret value of a loaded config (those options, credentials inside URLs, OTLP headers)
// so core/redact.ts can mask them in whatever is printed later.
import type { z } from 'zod';
import { decodeOrKeep, urlSecrets } from '../core/redact.ts';
import type { Env } from './interpolate.ts';
import { weirConfigSchema, type WeirConfig } from './schema.ts';
import { isPlainObject } from './values.ts';
import { childOf, isSecretAt, secretPathsOf, unwrap } from './walk.ts';

export const MASK = '********';

/** Every secret option, e.g. `pipelines[].sink.clickhouse.password`. */
export const secretPaths: readonly string[] = secretPathsOf(weirConfigSchema);

/** Whether the option at a concrete path (e.g. `['pipelines', 0, 'source', 'sasl', 'password']`) is secret. */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  return isSecretAt(weirConfigSchema, path);
}

/** A copy of `value` safe to print: every non-empty secret replaced by a mask. */
export function redact<T>(value: T, schema: z.ZodType = weirConfigSchema): T {
  return mapSecrets(value, schema, (v) => (v === '' || v == null ? v : MASK)) as T;
}

export function redactConfig(config: WeirConfig): WeirConfig {
  return redact(config);
}

/** Variables whose whole value is a secret: the HTTP API token (api/auth.ts reads it). */
const SECRET_VARS = ['WEIR_API_TOKEN'];
/** The OTel variables whose values are sent to the collector as request headers (API keys). */
const OTLP_HEADER_VARS = ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'];
const OTLP_ENDPOINT_VARS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];

/**
 * Every secret value a loaded config brings: the secret options, the passwords in
 * sink.clickhouse.url, in lookup URLs and in NATS servers (and a lone NATS `token@`), and from the environment
 * WEIR_API_TOKEN, the OTLP header values (`key=value,...`) and any password in an OTLP endpoint URL.
 * (OAuth tokens for Kafka are read at every authentication and registered then: source/oauth.ts.)
 */
export function secretValues(config: WeirConfig, env: Env = {}): string[] {
  const out: string[] = [];
  mapSecrets(config, weirConfigSchema, (v) => {
    if (typeof v === 'string') out.push(v);
    return v;
  });
  for (const p of config.pipelines) {
    out.push(...urlSecrets(p.sink.clickhouse.url, false));
    for (const t of p.transforms) {
      if (!('lookup' in t)) continue;
      const from = t.lookup.from;
      for (const url of [from.postgres?.url, from.clickhouse?.url, from.http?.url])
        if (url !== undefined) out.push(...urlSecrets(url, false));
    }
    for (const nats of [p.dedup?.nats, p.join?.nats, p.sink.clickhouse.exactly_once.nats])
      for (const server of nats?.servers ?? []) out.push(...urlSecrets(server, true));
  }
  for (const name of SECRET_VARS) out.push(env[name]?.trim() ?? '');
  for (const name of OTLP_HEADER_VARS)
    for (const pair of (env[name] ?? '').split(',')) {
      const value = pair.slice(pair.indexOf('=') + 1).trim();
      if (pair.includes('=') && value !== '') out.push(value, decodeOrKeep(value));
    }
  for (const name of OTLP_ENDPOINT_VARS) out.push(...urlSecrets(env[name] ?? '', false));
  return out;
}

/** A copy of `value` with `onSecret` applied to the value of every secret option. */
function mapSecrets(
  value: unknown,
  schema: z.ZodType | undefined,
  onSecret: (v: unknown) => unknown,
): unknown {
  if (schema && unwrap(schema).meta.secret) return onSecret(value);
  if (Array.isArray(value))
    return value.map((item, i) => mapSecrets(item, schema && childOf(schema, i), onSecret));
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        mapSecrets(v, schema && childOf(schema, k), onSecret),
      ]),
    );
  }
  return value;
}
