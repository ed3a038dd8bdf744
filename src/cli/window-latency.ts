// What each pipeline's windows add to the latency of a record, for `weir validate`: a join holds a
// left event until no right event that could match it can still arrive, i.e. until the right
// side's event time has moved `within + allowed_lateness` past it; dedup decides at once.
import { formatDuration } from '../config/duration.ts';
import type { WeirConfig } from '../config/schema.ts';

export function windowLatencyLines(cfg: WeirConfig): string[] {
  const lines: string[] = [];
  for (const p of cfg.pipelines) {
    const j = p.join;
    if (j) {
      const late =
        j.type === 'left'
          ? `later left events land unmatched at once${j.late_left === 'dead_letter' ? ' (to the dead-letter topic)' : ''}`
          : 'later left events are dropped (counted, logged)';
      lines.push(
        `  ${p.name}: the ${j.type} join adds up to ${formatDuration(j.within + j.allowed_lateness)} of event time (within ${formatDuration(j.within)} + allowed_lateness ${formatDuration(j.allowed_lateness)}; up to idle_timeout ${formatDuration(j.idle_timeout)} more while a right partition is idle); ${late}`,
      );
    }
    const a = p.aggregate;
    if (a) {
      const size = 'tumbling' in a.window ? a.window.tumbling : a.window.hopping.size;
      lines.push(
        `  ${p.name}: the aggregation emits a window's rows up to ${formatDuration(size + a.allowed_lateness)} of ${'field' in a.time ? 'event time' : 'Kafka record time'} after its first record (window ${formatDuration(size)} + allowed_lateness ${formatDuration(a.allowed_lateness)}), once a later record of the same partition moves the watermark past its end${a.idle_timeout === undefined ? ' (no idle_timeout: a quiet partition keeps its last windows open)' : ` or the partition is idle for ${formatDuration(a.idle_timeout)}`}; later records are ${a.late === 'dead_letter' ? 'dead-lettered' : 'dropped'} (counted, logged)`,
      );
    }
    const d = p.dedup;
    if (d && d.time !== 'arrival')
      lines.push(
        `  ${p.name}: dedup adds no delay (decided at once); records more than ${formatDuration(d.window)} behind their partition's newest time are late: ${d.late === 'keep' ? 'kept, unremembered (counted, logged)' : 'dropped (counted, logged)'}`,
      );
  }
  return lines;
}
