// Helpers for the aggregation's unit tests: envelopes, settings, and a model of a lane that cuts
// one batch per fetched chunk, processes the next chunk before flushing the previous one (as a
// lane does while a batch is being inserted), and can "crash" at any step of a flush.
import type { Envelope, Row, StageOutput } from '../core/record.ts';
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
 * inserted one. Batches are numbered in the order they are flushed, over all starts. With
 * `idleAfter`, the partition goes quiet after those offsets (a fetch ends there; the clock moves
 * past the idle timeout and the stage's timer runs). A batch is flushed only once the stage holds
 * none of its records, its rows in offset order (as a lane does with a stage that holds records);
 * one still held at the end is left unflushed (as at a shutdown).
 */
export async function runLane(
  s: AggregateSettings,
  records: readonly Envelope[],
  o: {
    chunk: number | number[];
    crash?: { batch: number; phase: Phase }[];
    snapshotEvery?: number;
    idleAfter?: readonly number[];
    /** Quiet moments only after a restart (a replay's fetches pause where the first run's did not). */
    idleOnReplay?: readonly number[];
  },
  store = new MemoryKeyedStore(),
): Promise<LaneRun> {
  const run: LaneRun = { batches: new Map(), mismatches: [] };
  const crashes = [...(o.crash ?? [])];
  const idleAfter = new Set(o.idleAfter ?? []);
  let from = 0; // first offset to process after a (re)start
  let pendingTo: number | undefined; // the pending batch's end, re-cut exactly
  let flushed = 0;
  let now = 1_000_000;
  const clock = { now: () => now };
  for (let start = 0; ; start++) {
    if (start === 1) for (const i of o.idleOnReplay ?? []) idleAfter.add(i);
    const size =
      typeof o.chunk === 'number' ? o.chunk : o.chunk[Math.min(start, o.chunk.length - 1)]!;
    const chunks: Envelope[][] = [];
    const cut = (to: number) => {
      // Fetches end where the producer paused (the idle points).
      let chunk: Envelope[] = [];
      for (let i = from; i < to; i++) {
        chunk.push(records[i]!);
        const inPending = pendingTo !== undefined && i < pendingTo;
        if (
          (chunk.length >= size && !inPending) ||
          idleAfter.has(i) ||
          i === pendingTo ||
          i === to - 1
        ) {
          chunks.push(chunk);
          chunk = [];
        }
      }
    };
    cut(records.length);
    const lastOf = (c: Envelope[]) => Number(c.at(-1)!.source.offset);
    /** Rows by chunk, with their record's offset. */
    const rowsOf = chunks.map(() => [] as { o: number; row: Row }[]);
    const route = (out: StageOutput) => {
      for (const e of out.out) {
        const offset = Number(e.source.offset);
        const i = chunks.findIndex((c) => lastOf(c) >= offset);
        rowsOf[i]!.push({ o: offset, row: e.row });
      }
    };
    const engine = new AggregateEngine(s, {
      store,
      clock,
      snapshotEvery: o.snapshotEvery ?? 1000,
    });
    await engine.onAssign('t', 0);
    engine.setRelease('t', 0, route);
    const take = async (b: number) => {
      const c = chunks[b];
      if (!c) return;
      now += 1;
      route(await engine.process(c));
      if (idleAfter.has(lastOf(c)) && s.idleMs !== undefined) {
        now += s.idleMs + 1;
        engine.tick();
      }
    };
    let crashed = false;
    await take(0);
    for (let b = 0; b < chunks.length; b++) {
      await take(b + 1);
      const first = Number(chunks[b]![0]!.source.offset);
      const last = lastOf(chunks[b]!);
      const held = engine.heldFrom('t', 0);
      if (held !== undefined && Number(held) <= last) break; // still held: not flushed
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
      const rows = rowsOf[b]!.map((x, i) => ({ ...x, i }))
        .sort((x, y) => x.o - y.o || x.i - y.i)
        .map((x) => x.row);
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
