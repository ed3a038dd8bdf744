// Rules within one option group: a field's spec, TLS files, retry bounds.
import { typeToString, type FieldType } from '../core/fields.ts';
import { fieldTypeOf, metadataType } from './output-fields.ts';
import { addProblem, type Ctx } from './rules.ts';
import type { FieldObjectSpec, RetryConfig, SaslConfig, TlsFilesConfig } from './schema.ts';
import { describeValue, isPlainObject } from './values.ts';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a literal (a field's `default`) is a valid value of a type. */
export function valueFits(type: FieldType, v: unknown): boolean {
  switch (type.kind) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return Number.isSafeInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'datetime':
    case 'date':
      return (
        (typeof v === 'number' && Number.isFinite(v)) ||
        (typeof v === 'string' && !Number.isNaN(Date.parse(v)))
      );
    case 'uuid':
      return typeof v === 'string' && uuidPattern.test(v);
    case 'json':
    case 'any':
      return v !== undefined;
    case 'array':
      return Array.isArray(v) && v.every((item) => valueFits(type.items, item));
    case 'map':
      return isPlainObject(v) && Object.values(v).every((item) => valueFits(type.values, item));
  }
}

function onlyWith(
  ctx: Ctx,
  key: string,
  present: boolean,
  wanted: boolean,
  condition: string,
  example: string,
) {
  if (wanted && !present)
    addProblem(ctx, [key], `missing ${key}: required when ${condition}`, { fix: `add ${example}` });
  if (!wanted && present)
    addProblem(ctx, [key], `${key} is only allowed when ${condition}`, {
      fix: `remove ${key}, or make ${condition}`,
    });
}

export function checkFieldSpec(spec: FieldObjectSpec, ctx: Ctx): void {
  onlyWith(
    ctx,
    'items',
    spec.items !== undefined,
    spec.type === 'array',
    'type is array',
    'items: <type>, e.g. items: string',
  );
  onlyWith(
    ctx,
    'values',
    spec.values !== undefined,
    spec.type === 'map',
    'type is map',
    'values: <type>, e.g. values: string',
  );
  onlyWith(
    ctx,
    'header',
    spec.header !== undefined,
    spec.from === 'header',
    'from is header',
    'header: <header name>',
  );
  if (spec.path !== undefined && spec.from !== 'value')
    addProblem(
      ctx,
      ['path'],
      `path is only allowed with from: value (this field is from: ${spec.from})`,
      {
        fix: 'remove path',
      },
    );

  const fixed = metadataType(spec.from);
  if (fixed && spec.type !== fixed)
    addProblem(ctx, ['type'], `from: ${spec.from} always gives ${fixed}, not ${spec.type}`, {
      fix: `set type: ${fixed}, and add a convert transform if you need another type`,
    });

  const timeTyped = [spec.type, spec.items, spec.values].some(
    (t) => t === 'datetime' || t === 'date',
  );
  if (spec.format !== 'auto' && !timeTyped)
    addProblem(ctx, ['format'], `format ${spec.format} applies only to datetime and date fields`, {
      fix: 'remove format',
    });

  if (spec.default === undefined) return;
  if (spec.default === null) {
    if (!spec.nullable)
      addProblem(ctx, ['default'], 'default is null but the field is not nullable', {
        fix: 'set nullable: true, or give a non-null default',
      });
    return;
  }
  const type = fieldTypeOf(spec);
  if (!valueFits(type, spec.default))
    addProblem(
      ctx,
      ['default'],
      `default ${describeValue(spec.default)} is not a valid ${typeToString(type)}`,
      {
        fix: `give a value of type ${typeToString(type)}, or remove default`,
      },
    );
}

export function checkTls(tls: TlsFilesConfig, ctx: Ctx): void {
  if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
    const missing = tls.cert_file === undefined ? 'cert_file' : 'key_file';
    addProblem(ctx, [missing], `missing ${missing}: cert_file and key_file go together`, {
      fix: `add ${missing}, or remove the other one`,
    });
  }
}

/** ClickHouse's tls section configures an https connection: with an http:// url it would be ignored. */
export function checkClickHouseTls(sink: { url: string; tls?: TlsFilesConfig }, ctx: Ctx): void {
  if (sink.tls && !/^https:/i.test(sink.url))
    addProblem(ctx, ['tls'], 'tls applies only to an https:// url', {
      fix: 'write the url as https://host:port (the server\u2019s HTTPS port, often 8443), or remove tls',
    });
}

/** plain and scram take a user and a password; oauthbearer takes a token from one place. */
export function checkSasl(sasl: SaslConfig, ctx: Ctx): void {
  if (sasl.mechanism === 'oauthbearer') {
    for (const key of ['username', 'password'] as const)
      if (sasl[key] !== undefined)
        addProblem(ctx, [key], `${key} does not apply to oauthbearer`, {
          fix: `remove ${key}: the token from token_file or token_env authenticates`,
        });
    if ((sasl.token_file === undefined) === (sasl.token_env === undefined))
      addProblem(
        ctx,
        ['token_file'],
        sasl.token_file === undefined
          ? 'oauthbearer needs a token: set token_file or token_env'
          : 'set token_file or token_env, not both',
        { fix: 'keep one of token_file (a file the token provider rewrites) or token_env' },
      );
    return;
  }
  for (const key of ['username', 'password'] as const)
    if (sasl[key] === undefined)
      addProblem(ctx, [key], `missing ${key}: ${sasl.mechanism} needs a user name and a password`, {
        fix: `add ${key}`,
      });
  for (const key of ['token_file', 'token_env'] as const)
    if (sasl[key] !== undefined)
      addProblem(ctx, [key], `${key} applies only to oauthbearer`, {
        fix: `remove ${key}, or set mechanism: oauthbearer`,
      });
}

export function checkRetry(retry: RetryConfig, ctx: Ctx): void {
  if (retry.max_ms < retry.initial_ms)
    addProblem(
      ctx,
      ['max_ms'],
      `max_ms (${retry.max_ms}) is below initial_ms (${retry.initial_ms})`,
      {
        fix: 'make max_ms at least initial_ms',
      },
    );
}
