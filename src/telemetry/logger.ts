// Structured JSON logs (pino). Secrets are redacted by key wherever they appear.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  '*.*.*.password',
  'sasl.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
];

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
    },
    opts.destination ?? process.stdout,
  );
}
