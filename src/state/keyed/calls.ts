// The one wrapper a stateful stage puts around its state store calls: transient NATS errors are
// retried (with backoff, for as long as it takes, until the stage stops) and every call that
// succeeds is timed into `state_op_duration_seconds{op}`. Snapshots are the exception, tried once:
// retrying one whose manifest write timed out but landed would find the manifest changed, take it
// for another agent's and purge the snapshot it had just made. A failed snapshot costs nothing
// (its deltas stay) and is tried again after the partition's next write.
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../telemetry/logger.ts';
import type { Metrics } from '../../telemetry/metrics.ts';
import { retryNats } from '../nats.ts';
import type { KeyedStore, LoadedPartition } from './store.ts';

export interface StateCallsOptions {
  pipeline: string;
  metrics: Metrics;
  logger: Logger;
  /** First retry delay (then doubling up to 5 s); default 200 ms. */
  retryInitialMs?: number;
}

export class StateCalls {
  private readonly abort = new AbortController();

  constructor(private readonly o: StateCallsOptions) {}

  /** Runs `fn` through transient NATS errors (`what` goes in the retry warning), timed as `op`. */
  retry<T>(op: string, what: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    return retryNats(fn, {
      what,
      logger: this.o.logger,
      signal: this.abort.signal,
      initialMs: this.o.retryInitialMs,
    }).then((v) => this.timed(op, started, v));
  }

  /** Runs `fn` once, timed as `op` if it succeeds. */
  once<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    return fn().then((v) => this.timed(op, started, v));
  }

  /**
   * `inner` with its calls made through here, timed as `<stage>_load`, `<stage>_persist` and
   * `<stage>_snapshot` (e.g. `dedup_persist`).
   */
  store(inner: KeyedStore, stage: string): KeyedStore {
    return {
      maxEntryBytes: inner.maxEntryBytes,
      load: (topic: string, partition: number): Promise<LoadedPartition> =>
        this.retry(`${stage}_load`, `read the ${stage} state`, () => inner.load(topic, partition)),
      append: (topic: string, partition: number, entries: Uint8Array[]) =>
        this.retry(`${stage}_persist`, `persist the ${stage} state`, () =>
          inner.append(topic, partition, entries),
        ),
      coverage: (topic: string, partition: number) => inner.coverage(topic, partition),
      snapshot: (topic: string, partition: number, chunks: Uint8Array[], coverage: number) =>
        this.once(`${stage}_snapshot`, () => inner.snapshot(topic, partition, chunks, coverage)),
    };
  }

  /** Ends the retries still waiting (they reject): the stage is closing. */
  stop(): void {
    this.abort.abort();
  }

  private timed<T>(op: string, started: number, value: T): T {
    this.o.metrics.stateOpDuration.observe(
      { pipeline: this.o.pipeline, op },
      (performance.now() - started) / 1000,
    );
    return value;
  }
}
