// Builds kafkajs clients from the source config, with errors that say what to fix.
import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { ConnectionError } from '../core/errors.ts';
import { LogLimiter } from '../telemetry/log-limit.ts';
import { logLimited, type Logger } from '../telemetry/logger.ts';
import type { SaslConfig } from '../config/schema.ts';
import { explainTlsFailure, loadTlsFiles } from '../tls/tls.ts';
import { registerCodecs } from './codecs/index.ts';
import { tokenProvider } from './oauth.ts';

export interface KafkaConnectionConfig {
  brokers: string[];
  client_id: string;
  connection_timeout_ms: number;
  sasl?: SaslConfig;
  tls?: {
    enabled: boolean;
    ca_file?: string;
    cert_file?: string;
    key_file?: string;
    reject_unauthorized: boolean;
  };
}

export interface KafkaClientOptions {
  /** Appended to `client_id`. */
  clientSuffix?: string;
  /**
   * While true, kafkajs errors are logged at debug level: a graceful stop disconnects under
   * requests in flight, and kafkajs reports those as errors; a check throws its own.
   */
  quiet?: () => boolean;
  /** How often kafkajs retries a failed request (about 40 s in all at the default, 8). */
  retries?: number;
}

/**
 * kafkajs log lines go through Weir's logger at a quieter level (kafkajs is chatty on retries);
 * a broker that stays down repeats the same error, so errors are rate-limited per message.
 */
function logCreator(logger: Logger, quiet: () => boolean) {
  const limiter = new LogLimiter();
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...extra } = log;
      const fields = {
        component: 'kafkajs',
        broker: extra.broker as unknown,
        error: extra.error as unknown,
      };
      if (level === logLevel.ERROR && !quiet())
        logLimited(logger, limiter, 'warn', `kafkajs:${message}`, fields, message);
      else if (level <= logLevel.WARN) logger.debug(fields, message);
    };
}

/**
 * kafkajs's TLS options (passed to tls.connect) for source.tls; undefined for plaintext. The files
 * are read and checked here: a problem is a ConfigError naming the option.
 */
export function kafkaSsl(cfg: KafkaConnectionConfig): ConnectionOptions | undefined {
  if (!cfg.tls?.enabled) return undefined;
  return {
    rejectUnauthorized: cfg.tls.reject_unauthorized,
    ...loadTlsFiles(cfg.tls, 'source.tls'),
  };
}

export function createKafka(
  cfg: KafkaConnectionConfig,
  logger: Logger,
  opts: KafkaClientOptions = {},
): Kafka {
  registerCodecs();
  const kcfg: KafkaConfig = {
    clientId: `${cfg.client_id}${opts.clientSuffix ?? ''}`,
    brokers: cfg.brokers,
    connectionTimeout: cfg.connection_timeout_ms,
    requestTimeout: 30_000,
    logLevel: logLevel.WARN,
    logCreator: logCreator(logger, opts.quiet ?? (() => false)),
    retry: { initialRetryTime: 300, retries: opts.retries ?? 8, maxRetryTime: 10_000 },
  };
  const ssl = kafkaSsl(cfg);
  if (ssl) kcfg.ssl = ssl;
  if (cfg.sasl) kcfg.sasl = saslOptions(cfg.sasl);
  return new Kafka(kcfg);
}

function saslOptions(sasl: SaslConfig): SASLOptions {
  if (sasl.mechanism === 'oauthbearer')
    return { mechanism: 'oauthbearer', oauthBearerProvider: tokenProvider(sasl) };
  // The config check guarantees both for plain and scram.
  return {
    mechanism: sasl.mechanism,
    username: sasl.username ?? '',
    password: sasl.password ?? '',
  };
}

/** Who authenticates, for errors: the user, or where the OAuth token comes from. */
function principal(sasl: SaslConfig | undefined): string {
  if (!sasl) return 'no SASL';
  if (sasl.mechanism !== 'oauthbearer') return `user '${sasl.username ?? '?'}', ${sasl.mechanism}`;
  const from = sasl.token_file !== undefined ? `file ${sasl.token_file}` : `$${sasl.token_env}`;
  return `oauthbearer token from ${from}`;
}

/** kafkajs's error for a broker that closed the connection (given up after retries or not). */
function closedAtOnce(err: unknown): boolean {
  for (let c: unknown = err; c instanceof Error; c = c.cause)
    if (c.name === 'KafkaJSConnectionClosedError') return true;
  return false;
}

/** Turns a kafkajs connection failure into one line naming the brokers and the fix. */
export function explainKafkaError(err: unknown, cfg: KafkaConnectionConfig): ConnectionError {
  const e = err as { name?: string; message?: string; type?: string; cause?: unknown };
  const msg = e.message ?? String(err);
  const brokers = cfg.brokers.join(',');
  // An OAuth token that cannot be read (or has expired) is explained where it is read.
  for (let c: unknown = err; c instanceof Error; c = c.cause)
    if (c instanceof ConnectionError) return c;
  if (cfg.tls?.enabled) {
    const tls = explainTlsFailure(err, {
      peer: 'Kafka',
      where: brokers,
      section: 'source.tls',
      tls: cfg.tls,
    });
    if (tls) return tls;
  }
  if (e.name === 'KafkaJSSASLAuthenticationError' || /SASL|authentication/i.test(msg)) {
    return new ConnectionError(
      `Kafka at ${brokers} rejected the credentials (${principal(cfg.sasl)})`,
      {
        cause: err,
        hint:
          cfg.sasl?.mechanism === 'oauthbearer'
            ? 'check that the token is current and that the brokers accept its issuer and audience (source.sasl.token_file / token_env)'
            : 'check source.sasl.username, source.sasl.password and source.sasl.mechanism',
      },
    );
  }
  if (
    /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|Connection timeout|ETIMEDOUT|connect/i.test(msg) ||
    e.name === 'KafkaJSNumberOfRetriesExceeded' ||
    e.name === 'KafkaJSConnectionError'
  ) {
    return new ConnectionError(`cannot reach Kafka at ${brokers}: ${msg}`, {
      cause: err,
      retriable: true,
      peer: 'Kafka',
      hint:
        !cfg.tls?.enabled && closedAtOnce(err)
          ? 'check source.brokers and that the broker is running; a listener that closes the connection at once may want TLS (source.tls) or SASL (source.sasl)'
          : 'check source.brokers and that the broker is running and reachable',
    });
  }
  return new ConnectionError(`Kafka at ${brokers} failed: ${msg}`, { cause: err });
}
