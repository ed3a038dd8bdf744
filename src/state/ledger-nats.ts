// The batch ledger's store in NATS KV. Transient NATS errors (a restart, a disconnect) are retried
// with backoff until they pass, so a NATS outage pauses the pipeline instead of failing it; a
// compare-and-set conflict is passed on at once (it means another agent owns the partition).
//
// One exception: a write that timed out may have been applied, its answer lost. Its retry then
// meets a conflict with itself. So once an attempt has failed without an answer, a conflict is
// judged by reading the key back: our exact bytes stored (values name their writer, ledger.ts)
// mean the write succeeded; anything else is a real conflict.
import type { KV } from 'nats';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { RevisionedStore } from './ledger.ts';
import { isTransientNatsError, isWrongLastSequence, retryNats } from './nats.ts';

/** First retry after up to 100 ms (retryNats caps the delay at 5 s). */
const RETRY_INITIAL_MS = 100;

export class NatsLedgerStore implements RevisionedStore {
  private readonly abort = new AbortController();

  constructor(
    private readonly kv: KV,
    private readonly deps: { pipeline: string; metrics: Metrics; logger: Logger },
    /** The bucket's max value size (the ledger sizes its memo parts by it). */
    readonly maxValueBytes?: number,
  ) {}

  /** Runs one ledger operation through retries; the metric times the attempt that succeeded. */
  private withRetry<T>(op: 'get' | 'write', fn: () => Promise<T>): Promise<T> {
    const timed = async () => {
      const t0 = performance.now();
      const v = await fn();
      this.deps.metrics.stateOpDuration.observe(
        { pipeline: this.deps.pipeline, op: `ledger_${op}` },
        (performance.now() - t0) / 1000,
      );
      return v;
    };
    return retryNats(timed, {
      what: op === 'get' ? 'read the batch ledger' : 'write the batch ledger',
      logger: this.deps.logger,
      signal: this.abort.signal,
      initialMs: RETRY_INITIAL_MS,
    });
  }

  get(key: string) {
    return this.withRetry('get', () => this.read(key));
  }

  create(key: string, value: Uint8Array) {
    return this.write(key, value, () => this.kv.create(key, value));
  }

  update(key: string, value: Uint8Array, revision: number) {
    return this.write(key, value, () => this.kv.update(key, value, revision));
  }

  private async read(key: string) {
    const e = await this.kv.get(key);
    return e && e.operation === 'PUT' ? { value: e.value, revision: e.revision } : null;
  }

  /** `attempt` through retries; a conflict after an unanswered attempt is read back first. */
  private write(key: string, value: Uint8Array, attempt: () => Promise<number>): Promise<number> {
    let outcomeUnknown = false;
    return this.withRetry('write', async () => {
      try {
        return await attempt();
      } catch (err) {
        if (outcomeUnknown && isWrongLastSequence(err)) {
          const stored = await this.read(key);
          if (stored && sameBytes(stored.value, value)) {
            this.deps.logger.info(
              { key, revision: stored.revision },
              'a batch ledger write whose answer was lost had been applied; going on',
            );
            return stored.revision;
          }
        }
        if (isTransientNatsError(err)) outcomeUnknown = true;
        throw err;
      }
    });
  }

  delete(key: string): Promise<void> {
    return this.withRetry('write', () => this.kv.purge(key));
  }

  /** Stops retries: an operation waiting out an outage rejects now with its last error. */
  close(): void {
    this.abort.abort();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
