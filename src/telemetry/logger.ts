// Structured JSON logs (pino). Every line carries the trace and span ids of the active span (so a
// log line leads to its batch's trace), secrets are redacted by key wherever they appear, each
// written line is redacted once more as text (URL user info, the config's secret values: see
// core/redact.ts), and repeated failures go through a LogLimiter (logLimited) instead of flooding
// the log.
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { redact } from '../core/redact.ts';
import type { LogLimiter } from './log-limit.ts';

export type { Logger };

const SECRET_KEYS = ['password', 'authorization', 'token', 'secret', 'api_key', 'cookie'];

export const REDACT_PATHS = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]),
  'sasl.password',
  'headers.authorization',
  'headers.cookie',
];

/** trace_id / span_id of the active span, when there is a valid one. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

export function createLogger(
  opts: { level?: LevelWithSilent; destination?: NodeJS.WritableStream } = {},
): Logger {
  const level = opts.level ?? (process.env.WEIR_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info';
  return pino(
    {
      level,
      base: { service: 'weir' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: traceFields,
      // The last line of defence: whatever a field or message holds (a library's error text, a
      // URL), the line written carries no credentials.
      hooks: { streamWrite: redact },
    },
    opts.destination ?? process.stdout,
  );
}

/**
 * Writes a line unless one with the same key was written within the limiter's interval; the
 * line that is written carries `suppressed`, the number held back since the previous one.
 */
export function logLimited(
  logger: Logger,
  limiter: LogLimiter,
  level: 'warn' | 'error' | 'info',
  key: string,
  fields: Record<string, unknown>,
  message: string,
): void {
  const suppressed = limiter.take(key);
  if (suppressed === undefined) return;
  logger[level](suppressed > 0 ? { ...fields, suppressed } : fields, message);
}
