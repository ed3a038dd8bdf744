// Consumer lag per partition from the broker's high-water marks and the group's committed
// offsets. It runs on its own timer, so lag keeps growing in the metrics while the agent stalls.
import type { Admin, Kafka } from 'kafkajs';
import { describeError } from '../core/errors.ts';
import { LogLimiter } from '../telemetry/log-limit.ts';
import { logLimited, type Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';

export class LagMonitor {
  private admin: Admin;
  private connected: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly committed = new Map<string, bigint>();
  private readonly limiter = new LogLimiter();
  /** Latest lag per partition, for the API. */
  readonly lag = new Map<string, number>();
  /** Refreshes that failed in a row (the brokers did not answer); 0 after a success. */
  failuresInARow = 0;
  lastError: string | undefined;

  constructor(
    kafka: Kafka,
    private readonly groupId: string,
    private readonly topics: string[],
    private readonly pipeline: string,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly intervalMs = 5000,
  ) {
    this.admin = kafka.admin();
  }

  noteCommitted(topic: string, partition: number, offset: string): void {
    this.committed.set(`${topic}/${partition}`, BigInt(offset));
  }

  start(): void {
    const tick = async () => {
      if (this.running) return;
      this.running = true;
      try {
        await this.refresh();
        if (this.failuresInARow > 0) this.logger.info('consumer lag is readable again');
        this.failuresInARow = 0;
        this.lastError = undefined;
        this.limiter.reset('lag');
      } catch (err) {
        this.failuresInARow++;
        this.lastError = describeError(err);
        logLimited(
          this.logger,
          this.limiter,
          'warn',
          'lag',
          { err: this.lastError, failures_in_a_row: this.failuresInARow },
          'could not read consumer lag from the brokers',
        );
      } finally {
        this.running = false;
      }
    };
    void tick();
    this.timer = setInterval(() => void tick(), this.intervalMs);
    this.timer.unref();
  }

  async refresh(): Promise<void> {
    this.connected ??= this.admin.connect();
    await this.connected;
    const groupOffsets = await this.admin.fetchOffsets({
      groupId: this.groupId,
      topics: this.topics,
    });
    for (const topic of this.topics) {
      const highs = await this.admin.fetchTopicOffsets(topic);
      const committedInGroup = groupOffsets.find((g) => g.topic === topic)?.partitions ?? [];
      for (const h of highs) {
        const key = `${topic}/${h.partition}`;
        const fromGroup = committedInGroup.find((p) => p.partition === h.partition)?.offset ?? '-1';
        let committed = BigInt(fromGroup);
        const local = this.committed.get(key);
        if (local !== undefined && local > committed) committed = local;
        // Nothing committed yet: everything from the log start is still to do.
        if (committed < 0n) committed = BigInt(h.low);
        const lag = Number(BigInt(h.high) - committed);
        this.lag.set(key, Math.max(0, lag));
        this.metrics.consumerLag.set(
          { pipeline: this.pipeline, topic, partition: String(h.partition) },
          Math.max(0, lag),
        );
      }
    }
    this.metrics.lagRefreshed.set({ pipeline: this.pipeline }, Date.now() / 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async close(): Promise<void> {
    this.stop();
    if (this.connected) await this.admin.disconnect().catch(() => undefined);
  }
}
