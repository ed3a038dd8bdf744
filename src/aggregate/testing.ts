// Helpers for the aggregation's unit tests: envelopes, settings, and a model of a lane that cuts
// one batch per fetched chunk, processes the next chunk before flushing the previous one (as a
// lane does while a batch is being inserted), and can "crash" at any step of a flush.
import type { Envelope, Row } from '../core/record.ts';
import { MemoryKeyedStore } from '../state/keyed/memory-store.ts';
import { AggregateEngine, type AggregateSettings } from './engine.ts';
import { parseMeasure, type MeasureSpec } from './measures.ts';

export function env(offset: number, row: Row, timestamp = 0, partition = 0): Envelope {
  return {
    source: {
      topic: 't',
      partition,
      offset: String(offset),
      key: null,
      value: null,
      headers: {},
      timestamp,
    },
    row,
  };
}

export function measures(m: Record<string, string>): MeasureSpec[] {
  return Object.entries(m).map(([name, text]) => {
    const spec = parseMeasure(name, text);
    if (typeof spec === 'string') throw new Error(spec);
    return spec;
  });
}

export function settings(o: Partial<AggregateSettings> = {}): AggregateSettings {
  return {
    sizeMs: 10,
    hopMs: o.sizeMs ?? 10,
    timeField: 'ts',
    groupBy: ['g'],
    measures: measures({ n: 'count()' }),
    windowStart: 'window_start',
    windowEnd: 'window_end',
    latenessMs: 0,
    late: 'count',
    maxStateBytes: 1 << 30,
    ...o,
  };
}

export type Phase = 'before_checkpoint' | 'after_checkpoint' | 'after_insert' | 'after_commit';

export interface LaneRun {
  /** Rows per batch, by "first-last" offsets, as inserted (first attempt). */
  batches: Map<string, Row[]>;
  /** Batches inserted twice with different rows (must stay empty). */
  mismatches: string[];
}

/**
 * Runs `records` (one partition, offsets 0…n-1) through engines over `store`, one batch per chunk
 * of `chunk` records (per start: a list gives each restart its own size, as fetches differ); with
 * `crash`, the engine is dropped at that phase of that batch's flush and a new one (same store)
 * resumes where a restarted lane would: re-cutting the pending batch exactly, or after the last
 * inserted one. Batches are numbered in the order they are flushed, over all starts.
 */
export async function runLane(
  s: AggregateSettings,
  records: readonly Envelope[],
  o: {
    chunk: number | number[];
    crash?: { batch: number; phase: Phase }[];
    snapshotEvery?: number;
  },
  store = new MemoryKeyedStore(),
): Promise<LaneRun> {
  const run: LaneRun = { batches: new Map(), mismatches: [] };
  const crashes = [...(o.crash ?? [])];
  let from = 0; // first offset to process after a (re)start
  let pendingTo: number | undefined; // the pending batch's end, re-cut exactly
  let flushed = 0;
  for (let start = 0; ; start++) {
    const size =
      typeof o.chunk === 'number' ? o.chunk : o.chunk[Math.min(start, o.chunk.length - 1)]!;
    const chunks: Envelope[][] = [];
    let i = from;
    if (pendingTo !== undefined) {
      chunks.push(records.slice(i, pendingTo + 1));
      i = pendingTo + 1;
    }
    for (; i < records.length; i += size) chunks.push(records.slice(i, i + size));
    const engine = new AggregateEngine(s, { store, snapshotEvery: o.snapshotEvery ?? 1000 });
    await engine.onAssign('t', 0);
    let crashed = false;
    // Output of the chunk processed but not flushed yet (the open batch).
    let pending = await engine.process(chunks[0] ?? []);
    for (let b = 0; b < chunks.length; b++) {
      const next = b + 1 < chunks.length ? await engine.process(chunks[b + 1]!) : undefined;
      const chunkRecs = chunks[b]!;
      const first = Number(chunkRecs[0]!.source.offset);
      const last = Number(chunkRecs.at(-1)!.source.offset);
      const id = `${first}-${last}`;
      const crash = crashes.find((c) => c.batch === flushed);
      flushed++;
      const crashNow = (phase: Phase) => {
        if (crash?.phase !== phase) return false;
        crashes.splice(crashes.indexOf(crash), 1);
        return true;
      };
      if (crashNow('before_checkpoint')) {
        [from, pendingTo, crashed] = [first, last, true];
        break;
      }
      await engine.checkpoint({ topic: 't', partition: 0, last: String(last) });
      await Promise.all(engine.pending());
      if (crashNow('after_checkpoint')) {
        [from, pendingTo, crashed] = [first, last, true];
        break;
      }
      const rows = pending.out.map((e) => e.row);
      const had = run.batches.get(id);
      if (had && JSON.stringify(had) !== JSON.stringify(rows)) run.mismatches.push(id);
      if (!had) run.batches.set(id, rows);
      // From here the ledger's high-water mark covers the batch: a restarted lane skips it.
      if (crashNow('after_insert')) {
        [from, pendingTo, crashed] = [last + 1, undefined, true];
        break;
      }
      engine.onCommit('t', 0, String(last + 1));
      if (crashNow('after_commit')) {
        [from, pendingTo, crashed] = [last + 1, undefined, true];
        break;
      }
      if (next) pending = next;
    }
    if (!crashed) return run;
  }
}

/** Every row inserted, in offset order of the batches. */
export function allRows(run: LaneRun): Row[] {
  return [...run.batches.entries()]
    .sort((a, b) => Number(a[0].split('-')[0]) - Number(b[0].split('-')[0]))
    .flatMap(([, rows]) => rows);
}
