// A pipeline's readiness checks: connected to Kafka, ClickHouse answering (and inserts not
// failing), the table still fitting the fields, in the consumer group, and not stalled. Components with more peers (NATS for dedup
// and join state) register their own check with the same HealthChecks.
import type { Clock } from '../core/clock.ts';
import type { Check, CheckResult } from '../telemetry/health.ts';

/** What the checks read from a running pipeline. */
export interface PipelineView {
  readonly state: string;
  readonly kafkaConnected: boolean;
  /** Lag refreshes that failed in a row, with the last error (the brokers did not answer). */
  readonly brokerFailures: { inARow: number; lastError: string | undefined };
  readonly groupJoined: boolean;
  readonly assignedPartitions: number;
  readonly sinkFailing: boolean;
  /** Why the sink holds its batches back, with the fix; undefined while it inserts normally. */
  readonly sinkPaused: { reason: string; message: string; hint: string } | undefined;
  readonly table: string;
  readonly inFlight: number;
  readonly lastProgressAt: number;
}

/** How often ClickHouse is pinged, so an outage shows well within the stall timeout. */
export function probeTiming(stallTimeoutMs: number): { intervalMs: number; timeoutMs: number } {
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)));
  return {
    intervalMs: clamp(stallTimeoutMs / 4, 250, 5000),
    timeoutMs: clamp(stallTimeoutMs / 2, 500, 5000),
  };
}

export function pipelineChecks(
  /** A fresh view of the pipeline's state, read by each check. */
  state: () => PipelineView,
  clickhousePing: () => CheckResult,
  clock: Clock,
  stallTimeoutMs: number,
): Record<'kafka' | 'clickhouse' | 'table_mapping' | 'partitions' | 'progress', Check> {
  return {
    kafka: () => {
      const view = state();
      if (!view.kafkaConnected)
        return { ok: false, reason: 'the consumer is not connected to Kafka' };
      const { inARow, lastError } = view.brokerFailures;
      if (inARow >= 2)
        return {
          ok: false,
          reason: `the brokers did not answer ${inARow} times in a row: ${lastError ?? 'unknown error'}`,
        };
      return { ok: true };
    },
    clickhouse: () => {
      const view = state();
      const ping = clickhousePing();
      if (!ping.ok) return ping;
      const paused = view.sinkPaused;
      if (paused?.reason === 'clickhouse_error')
        return { ok: false, reason: `paused: ${paused.message} (fix: ${paused.hint})` };
      if (view.sinkFailing)
        return { ok: false, reason: `ClickHouse inserts into ${view.table} are failing; retrying` };
      return { ok: true };
    },
    table_mapping: () => {
      const paused = state().sinkPaused;
      if (paused?.reason === 'table_mapping')
        return { ok: false, reason: `paused: ${paused.message} (fix: ${paused.hint})` };
      return { ok: true };
    },
    partitions: () => {
      const view = state();
      return view.groupJoined
        ? { ok: true, reason: `${view.assignedPartitions} partition(s) assigned` }
        : { ok: false, reason: 'has not joined the consumer group yet (no partitions assigned)' };
    },
    progress: () => {
      const view = state();
      if (view.state !== 'running') return { ok: false, reason: `the pipeline is ${view.state}` };
      const idleMs = clock.now() - view.lastProgressAt;
      if (view.inFlight > 0 && idleMs > stallTimeoutMs)
        return {
          ok: false,
          reason: `stalled: no batch acknowledged for ${Math.round(idleMs / 1000)} s with ${view.inFlight} records in flight`,
        };
      return { ok: true };
    },
  };
}
