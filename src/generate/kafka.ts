// The generator's Kafka client, and the one place its Kafka failures are classified into
// messages that name the broker and the fix (never the password).
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { ConnectionError, WeirError } from '../core/errors.ts';
import type { ResolvedGeneratorOptions } from './options.ts';

export type KafkaTarget = Pick<
  ResolvedGeneratorOptions,
  'brokers' | 'clientId' | 'ssl' | 'sasl' | 'connectionTimeoutMs' | 'retries'
>;

export function createGeneratorKafka(o: KafkaTarget): Kafka {
  const cfg: KafkaConfig = {
    clientId: o.clientId,
    brokers: o.brokers,
    ssl: o.ssl,
    connectionTimeout: o.connectionTimeoutMs,
    requestTimeout: 30_000,
    // Failures surface once, explained, through explainKafkaError; kafkajs's own lines would
    // repeat each retry on stderr.
    logLevel: logLevel.NOTHING,
    retry: { retries: o.retries, initialRetryTime: 200, maxRetryTime: 5000 },
  };
  if (o.sasl) cfg.sasl = { ...o.sasl } as SASLOptions;
  return new Kafka(cfg);
}

interface KafkaJsLikeError {
  name?: string;
  message?: string;
  type?: string;
  broker?: string;
  cause?: unknown;
}

/** The error and its causes, outermost first (kafkajs wraps retried failures). */
function chain(err: unknown): KafkaJsLikeError[] {
  const out: KafkaJsLikeError[] = [];
  let cur: unknown = err;
  while (typeof cur === 'object' && cur !== null && out.length < 10) {
    out.push(cur);
    cur = (cur as KafkaJsLikeError).cause;
  }
  return out;
}

function redact(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('***') : text;
}

const BROKERS_HINT =
  'check --brokers (host:port of a listener the broker advertises) and that Kafka is running';
const SECURITY_HINT =
  'the listener may need SASL or TLS: pass --sasl-mechanism and --sasl-username (password in WEIR_SASL_PASSWORD) or --ssl, or use a PLAINTEXT listener';

/** Turns a kafkajs failure into one line that names the brokers (or topic) and how to fix it. */
export function explainKafkaError(err: unknown, o: KafkaTarget, topic?: string): WeirError {
  if (err instanceof WeirError) return err;
  const errors = chain(err);
  const find = (pred: (e: KafkaJsLikeError) => boolean) => errors.find(pred);
  const password = o.sasl?.password;
  const detail = (e: KafkaJsLikeError | undefined) =>
    redact(e?.message ?? (errors.length === 0 ? String(err) : 'unknown error'), password);
  const brokers = o.brokers.join(',');
  const opts = (hint: string, retriable = false) => ({ cause: err, hint, retriable });

  const auth = find((e) => e.name === 'KafkaJSSASLAuthenticationError');
  if (auth) {
    const who = o.sasl ? `user "${o.sasl.username}" (${o.sasl.mechanism})` : 'the client';
    return new ConnectionError(
      `Kafka at ${brokers} rejected the SASL credentials of ${who}: ${detail(auth)}`,
      opts(
        'check --sasl-username, the password in WEIR_SASL_PASSWORD, and that --sasl-mechanism is enabled for this user on the broker',
      ),
    );
  }
  const protocol = find((e) => e.name === 'KafkaJSProtocolError' || typeof e.type === 'string');
  switch (protocol?.type) {
    case 'ILLEGAL_SASL_STATE':
      return new ConnectionError(
        `Kafka at ${brokers} does not expect SASL on this listener: ${detail(protocol)}`,
        opts(
          'point --brokers at the SASL listener, or drop the --sasl-* flags for a PLAINTEXT listener',
        ),
      );
    case 'UNSUPPORTED_SASL_MECHANISM':
      return new ConnectionError(
        `Kafka at ${brokers} does not enable SASL mechanism ${o.sasl?.mechanism ?? '?'}`,
        opts(`use a --sasl-mechanism the listener enables (plain, scram-sha-256 or scram-sha-512)`),
      );
    case 'TOPIC_AUTHORIZATION_FAILED':
    case 'CLUSTER_AUTHORIZATION_FAILED':
      return new ConnectionError(
        `Kafka at ${brokers} refused access${topic ? ` to topic ${topic}` : ''}: ${detail(protocol)}`,
        opts('grant the user Create and Write on the topic (or create the topic beforehand)'),
      );
    case 'INVALID_PARTITIONS':
    case 'INVALID_REPLICATION_FACTOR':
    case 'POLICY_VIOLATION':
      return new WeirError(
        `Kafka at ${brokers} refused to create topic ${topic ?? ''}: ${detail(protocol)}`,
        opts('create the topic beforehand, or change --partitions'),
      );
    case 'UNKNOWN_TOPIC_OR_PARTITION':
      return new WeirError(
        `topic ${topic ?? ''} does not exist on ${brokers}: ${detail(protocol)}`,
        opts('create the topic, or let the generator create it (it needs the Create permission)'),
      );
    default:
      break;
  }
  const closed = find((e) => e.name === 'KafkaJSConnectionClosedError');
  if (closed && !o.sasl && !o.ssl) {
    return new ConnectionError(
      `Kafka at ${closed.broker ?? brokers} closed the connection during the handshake`,
      opts(SECURITY_HINT, true),
    );
  }
  const unreachable = find((e) =>
    [
      'KafkaJSConnectionError',
      'KafkaJSConnectionClosedError',
      'KafkaJSRequestTimeoutError',
      'KafkaJSBrokerNotFound',
      'KafkaJSNoBrokerAvailableError',
    ].includes(e.name ?? ''),
  );
  if (unreachable) {
    return new ConnectionError(
      `cannot reach Kafka broker ${unreachable.broker ?? brokers}: ${detail(unreachable)}`,
      opts(BROKERS_HINT, true),
    );
  }
  return new WeirError(`Kafka at ${brokers} failed: ${detail(errors[0])}`, opts(BROKERS_HINT));
}
