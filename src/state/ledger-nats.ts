// The batch ledger's store in NATS KV. Transient NATS errors (a restart, a disconnect) are retried
// with backoff until they pass, so a NATS outage pauses the pipeline instead of failing it; a
// compare-and-set conflict is passed on at once (it means another agent owns the partition).
import type { KV } from 'nats';
import { backoffDelay } from '../core/retry.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { RevisionedStore } from './ledger.ts';
import { isTransientNatsError, isWrongLastSequence } from './nats.ts';

export class NatsLedgerStore implements RevisionedStore {
  private closed = false;

  constructor(
    private readonly kv: KV,
    private readonly deps: { pipeline: string; metrics: Metrics; logger: Logger },
  ) {}

  private async withRetry<T>(op: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      try {
        const v = await fn();
        this.deps.metrics.stateOpDuration.observe(
          { pipeline: this.deps.pipeline, op: `ledger_${op}` },
          (performance.now() - t0) / 1000,
        );
        return v;
      } catch (err) {
        if (this.closed || isWrongLastSequence(err) || !isRetriable(err)) throw err;
        const delay = backoffDelay(Math.min(attempt, 10), { initialMs: 100, maxMs: 5000 });
        if (attempt % 10 === 0)
          this.deps.logger.warn(
            {
              op: `ledger_${op}`,
              attempt: attempt + 1,
              retry_in_ms: delay,
              err: (err as Error).message,
            },
            'NATS ledger operation failed; retrying',
          );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
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

  close(): void {
    this.closed = true;
  }
}

function isRetriable(err: unknown): boolean {
  if (isTransientNatsError(err)) return true;
  // During a server restart the client reports the connection state in other words too.
  const code = (err as { code?: string }).code;
  return code === 'RECONNECTING' || code === 'CONNECTION_DRAINING' || code === 'NO_RESPONDERS';
}
