// Runs a chain of stages over one batch and emits the standard per-stage counters, so every stage
// reports received / emitted / dropped-by-reason without doing anything itself.
import type { DeadLetter, Dropped, Envelope } from '../core/record.ts';
import type { Stage } from '../stages/stage.ts';
import { preciseNow, type StageTiming } from '../telemetry/batch-trace.ts';
import type { Metrics } from '../telemetry/metrics.ts';

export interface ChainResult {
  out: Envelope[];
  dropped: Dropped[];
  dead: DeadLetter[];
}

export async function runChain(
  stages: readonly Stage[],
  input: Envelope[],
  metrics: Metrics,
  pipeline: string,
  /** When given, one timing per stage run is appended (for the batch trace's stage spans). */
  timings?: StageTiming[],
): Promise<ChainResult> {
  let current = input;
  const dropped: Dropped[] = [];
  const dead: DeadLetter[] = [];
  for (const stage of stages) {
    const labels = { pipeline, stage: stage.name };
    metrics.stageReceived.inc(labels, current.length);
    const start = timings ? preciseNow() : 0;
    const res = await stage.process(current);
    metrics.stageEmitted.inc(labels, res.out.length);
    timings?.push({
      stage: stage.name,
      start,
      end: preciseNow(),
      received: current.length,
      emitted: res.out.length,
      dropped: res.dropped.length,
      dead: res.dead.length,
      ...(res.spans && { spans: res.spans }),
    });
    countReasons(metrics, pipeline, stage.name, res.dropped, res.dead);
    dropped.push(...res.dropped);
    dead.push(...res.dead);
    current = res.out;
    if (current.length === 0) break;
  }
  return { out: current, dropped, dead };
}

export function countReasons(
  metrics: Metrics,
  pipeline: string,
  stage: string,
  dropped: readonly Dropped[],
  dead: readonly DeadLetter[],
): void {
  if (dropped.length === 0 && dead.length === 0) return;
  const counts = new Map<string, number>();
  for (const d of dropped) counts.set(d.reason, (counts.get(d.reason) ?? 0) + 1);
  for (const d of dead) counts.set(d.reason, (counts.get(d.reason) ?? 0) + 1);
  for (const [reason, n] of counts) metrics.stageDropped.inc({ pipeline, stage, reason }, n);
  const errors = dead.length;
  if (errors > 0) metrics.stageErrors.inc({ pipeline, stage, class: 'record' }, errors);
}
