// The batch ledger's store in NATS KV. Transient NATS errors (a restart, a disconnect) are retried
// with backoff until they pass, so a NATS outage pauses the pipeline instead of failing it; a
// compare-and-set conflict is passed on at once (it means another agent owns the partition).
import type { KV } from 'nats';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { RevisionedStore } from './ledger.ts';
import { retryNats } from './nats.ts';

/** First retry after up to 100 ms (retryNats caps the delay at 5 s). */
const RETRY_INITIAL_MS = 100;

export class NatsLedgerStore implements RevisionedStore {
  private readonly abort = new AbortController();

  constructor(
    private readonly kv: KV,
    private readonly deps: { pipeline: string; metrics: Metrics; logger: Logger },
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
    return this.withRetry('get', async () => {
      const e = await this.kv.get(key);
      return e && e.operation === 'PUT' ? { value: e.value, revision: e.revision } : null;
    });
  }

  create(key: string, value: Uint8Array) {
    return this.withRetry('write', () => this.kv.create(key, value));
  }

  update(key: string, value: Uint8Array, revision: number) {
    return this.withRetry('write', () => this.kv.update(key, value, revision));
  }

  /** Stops retries: an operation waiting out an outage rejects now with its last error. */
  close(): void {
    this.abort.abort();
  }
}
