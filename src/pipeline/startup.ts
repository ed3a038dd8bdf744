// Opening a pipeline while a service it needs is down. A pipeline that cannot go on pauses and says
// why rather than crash-looping: an agent started during an outage of Kafka, ClickHouse or NATS
// waits for it - the process stays up, /readyz names what it waits for, one warning per outage -
// instead of exiting for a supervisor to restart it again and again. What is waited out is decided
// by the error alone, as everywhere (core/retry.ts): each component marks an unreachable peer
// retriable. Wrong credentials, a missing table, a mapping that does not fit are config problems,
// not retriable, and still fail the start at once.
import { describeError, type Peer } from '../core/errors.ts';
import { retry, type RetryOptions } from '../core/retry.ts';
import type { Logger } from '../telemetry/logger.ts';

/**
 * Backoff between attempts: about a second at first, then at most 10 s, so a service that comes
 * back is used within 10 s while one that stays down is asked only a few times a minute.
 */
export const STARTUP_BACKOFF = { initialMs: 1000, maxMs: 10_000 };

export interface WaitOptions<T> {
  /** Aborted when the pipeline stops: the wait ends at once (an attempt under way included). */
  signal: AbortSignal;
  logger: Logger;
  /** Told why the start waits (the peer, the error and the fix); undefined once opened. */
  onWaiting: (why: string | undefined) => void;
  /** Closes what an attempt opened when it ends after the wait was aborted. */
  release: (opened: T) => Promise<void>;
  /** The backoff (and, for tests, the sleep) of core/retry; default STARTUP_BACKOFF. */
  retry?: Partial<Pick<RetryOptions, 'initialMs' | 'maxMs' | 'random' | 'sleep'>>;
}

/**
 * Runs `open` until it succeeds, retrying retriable failures for as long as it takes; a failure
 * that is not retriable is thrown. Resolves undefined when `signal` aborts first.
 */
export async function openWhenReachable<T>(
  /** Given the attempt's number, 0 for the first. */
  open: (attempt: number) => Promise<T>,
  o: WaitOptions<T>,
): Promise<T | undefined> {
  let waitingFor: string | undefined;
  try {
    const opened = await retry((attempt) => unlessAborted(open(attempt), o), {
      ...STARTUP_BACKOFF,
      ...o.retry,
      signal: o.signal,
      onRetry: (err, _retry, delayMs) => {
        const peer = peerOf(err);
        o.onWaiting(`waiting for ${peer}: ${describeError(err)}`);
        // Once per outage, not once per retry: readiness has the latest error.
        if (peer === waitingFor) return;
        waitingFor = peer;
        o.logger.warn(
          { err: describeError(err), retry_in_ms: delayMs },
          `waiting for ${peer}: the pipeline starts once it can be reached`,
        );
      },
    });
    if (waitingFor !== undefined) o.logger.info(`${waitingFor} can be reached again: starting`);
    o.onWaiting(undefined);
    return opened;
  } catch (err) {
    if (o.signal.aborted) return undefined;
    throw err;
  }
}

function peerOf(err: unknown): Peer | 'a service' {
  return (err as { peer?: Peer }).peer ?? 'a service';
}

/**
 * The attempt, or a rejection as soon as the signal aborts: a stop must not wait for an attempt
 * (kafkajs alone retries a connection for about 40 s). The attempt's parts are closed when it ends.
 */
async function unlessAborted<T>(
  attempt: Promise<T>,
  o: Pick<WaitOptions<T>, 'signal' | 'release'>,
): Promise<T> {
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('stopped while starting'));
    if (o.signal.aborted) onAbort();
    else o.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([attempt, aborted]);
  } catch (err) {
    if (o.signal.aborted) attempt.then(o.release).catch(() => undefined);
    throw err;
  } finally {
    o.signal.removeEventListener('abort', onAbort);
  }
}
