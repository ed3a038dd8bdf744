// One error hierarchy. `retriable` decides whether work is retried; `hint` tells the user the fix.
import { redact } from './redact.ts';

export interface WeirErrorOptions {
  cause?: unknown;
  retriable?: boolean;
  hint?: string;
}

export class WeirError extends Error {
  override name = 'WeirError';
  readonly retriable: boolean;
  readonly hint: string | undefined;

  constructor(message: string, opts: WeirErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retriable = opts.retriable ?? false;
    this.hint = opts.hint;
  }

  /** One line: the problem, then how to fix it. */
  describe(): string {
    return this.hint ? `${this.message} (fix: ${this.hint})` : this.message;
  }
}

/** Invalid configuration, found before anything starts. */
export class ConfigError extends WeirError {
  override name = 'ConfigError';
}

/** The services Weir connects to. */
export type Peer = 'Kafka' | 'ClickHouse' | 'NATS' | 'PostgreSQL' | 'the lookup HTTP service';

/** A peer (Kafka, ClickHouse, NATS, a lookup's source) refused or could not be reached. */
export class ConnectionError extends WeirError {
  override name = 'ConnectionError';
  /** Which peer failed, when known: a start that waits for it names it (pipeline/startup.ts). */
  readonly peer: Peer | undefined;

  constructor(message: string, opts: WeirErrorOptions & { peer?: Peer } = {}) {
    super(message, opts);
    this.peer = opts.peer;
  }
}

/** One record cannot be processed; the record goes to the dead-letter topic, the stream goes on. */
export class RecordError extends WeirError {
  override name = 'RecordError';
  readonly reason: string;
  constructor(reason: string, message: string, opts: WeirErrorOptions = {}) {
    super(message, opts);
    this.reason = reason;
  }
}

/**
 * Whether `err` may be retried: its `retriable` flag, the one thing the retry policy reads. A
 * WeirError carries it; so may errors of libraries that follow the same convention (kafkajs).
 */
export function isRetriable(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true
  );
}

/**
 * One line for logs and the CLI: a WeirError's message and fix, else the message. Redacted
 * (core/redact.ts): a library's message may quote a URL with its credentials.
 */
export function describeError(err: unknown): string {
  if (err instanceof WeirError) return redact(err.describe());
  if (err instanceof Error) return redact(err.message);
  return redact(String(err));
}
