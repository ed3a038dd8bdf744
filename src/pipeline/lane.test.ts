import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../core/clock.ts';
import { RecordError } from '../core/errors.ts';
import type { DeadLetter, Row, SourceRecord } from '../core/record.ts';
import { createParser } from '../stages/parse.ts';
import { recordStage, type Stage } from '../stages/stage.ts';
import { sourceRecord } from '../stages/testkit.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import type { InsertBatch } from '../sink/clickhouse/sink.ts';
import { PartitionLedger } from '../state/ledger.ts';
import { MemoryStore } from '../state/memory-store.ts';
import { PartitionLane, type LaneDeps, type LaneSink } from './lane.ts';

const rec = (offset: number, value: unknown): SourceRecord =>
  sourceRecord(value, { topic: 't', partition: 0, offset: String(offset) });

/** A sink that records what it was asked to insert and can be made to hold or reject rows. */
class FakeSink implements LaneSink {
  batches: string[][] = [];
  tokens: (string | undefined)[] = [];
  hold: Promise<void> | undefined;
  rejectIf: (line: string) => boolean = () => false;
  serialize(row: Row): string {
    if (row.id === 'unencodable') throw new RecordError('out_of_range', 'id cannot be encoded');
    return `${JSON.stringify(row)}\n`;
  }
  async insert(batch: InsertBatch, token?: string): Promise<DeadLetter[]> {
    if (this.hold) await this.hold;
    this.tokens.push(token);
    const dead: DeadLetter[] = [];
    const ok: string[] = [];
    batch.lines.forEach((l, i) => {
      if (this.rejectIf(l))
        dead.push({
          source: batch.sources[i]!,
          stage: 'sink',
          reason: 'rejected_by_clickhouse',
          detail: 'no',
        });
      else ok.push(l);
    });
    this.batches.push(ok);
    return dead;
  }
}

function setup(over: Partial<LaneDeps> = {}) {
  const sink = new FakeSink();
  const letters: DeadLetter[] = [];
  const commits: string[] = [];
  const events: string[] = [];
  const metrics = createMetrics(new Registry(), { defaults: false });
  let settled = 0;
  const stages: Stage[] = [
    createParser({ id: 'string' }),
    recordStage('transform[0].filter', 'filter', (env) =>
      env.row.id === 'skip' ? { drop: 'filtered' } : env,
    ),
  ];
  const deps: LaneDeps = {
    pipeline: 'p',
    topic: 't',
    partition: 0,
    stages,
    sink,
    deadLetters: {
      write: (l) => {
        letters.push(...l);
        events.push(`dlq:${l.length}`);
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    },
    commit: (_t, _p, offset) => {
      commits.push(offset);
      events.push(`commit:${offset}`);
      return Promise.resolve();
    },
    limits: { max_rows: 3, max_bytes: 1_000_000, max_delay_ms: 10_000 },
    metrics,
    logger: createLogger({ level: 'silent' }),
    clock: new FakeClock(1000),
    onAccepted: () => undefined,
    onSettled: (n) => (settled += n),
    onFatal: (err) => {
      throw err;
    },
    ...over,
  };
  return {
    lane: new PartitionLane(deps),
    sink,
    letters,
    commits,
    events,
    metrics,
    settled: () => settled,
  };
}

describe('PartitionLane', () => {
  it('reports the bytes of the records it takes and releases them batch by batch', async () => {
    let accepted = 0;
    const released: number[] = [];
    const t = setup({
      onAccepted: (_n, bytes) => (accepted += bytes),
      onSettled: (_n, bytes) => released.push(bytes),
    });
    const first = [rec(0, { id: 'a' }), rec(1, { id: 'bb' }), rec(2, 'not json')];
    const second = [rec(3, { id: 'skip' }), rec(4, { id: 'c'.repeat(100) })];
    const size = (rs: SourceRecord[]) =>
      rs.reduce((n, r) => n + (r.value?.length ?? 0) + (r.key?.length ?? 0), 0);
    await t.lane.accept(first);
    t.lane.seal();
    await t.lane.accept(second);
    await t.lane.drain();
    assert.equal(accepted, size(first) + size(second));
    // One release per flushed batch, each the size of the records it covered (also the
    // dead-lettered and the filtered ones: they were held until the batch committed).
    assert.deepEqual(released, [size(first), size(second)]);
  });

  it('releases the bytes still in flight when the partition is revoked', async () => {
    let held = 0;
    const t = setup({
      onAccepted: (_n, bytes) => (held += bytes),
      onSettled: (_n, bytes) => (held -= bytes),
    });
    await t.lane.accept([rec(0, { id: 'a' }), rec(1, { id: 'b' })]);
    assert.ok(held > 0);
    t.lane.discard();
    assert.equal(held, 0);
  });

  it('cuts batches by rows and commits the offset after the last record of each', async () => {
    const t = setup();
    await t.lane.accept([
      rec(0, { id: 'a' }),
      rec(1, { id: 'b' }),
      rec(2, { id: 'c' }),
      rec(3, { id: 'd' }),
    ]);
    await t.lane.drain();
    assert.deepEqual(
      t.sink.batches.map((b) => b.length),
      [4],
    );
    assert.deepEqual(t.commits, ['4']);
    assert.equal(t.settled(), 4);
  });

  it('counts filtered and dead-lettered records as handled, and writes dead letters before committing', async () => {
    const t = setup();
    await t.lane.accept([
      rec(10, { id: 'a' }),
      rec(11, 'not json'),
      rec(12, { id: 'skip' }),
      rec(13, { id: 'unencodable' }),
    ]);
    await t.lane.drain();
    assert.deepEqual(t.sink.batches, [[`{"id":"a"}\n`]]);
    assert.deepEqual(
      t.letters.map((l) => [l.source.offset, l.stage, l.reason]),
      [
        ['11', 'parse', 'invalid_json'],
        ['13', 'sink', 'out_of_range'],
      ],
    );
    assert.deepEqual(t.events, ['dlq:2', 'commit:14']);
  });

  it('dead-letters rows the sink rejects and still commits past them', async () => {
    const t = setup();
    t.sink.rejectIf = (l) => l.includes('"b"');
    await t.lane.accept([rec(0, { id: 'a' }), rec(1, { id: 'b' })]);
    await t.lane.drain();
    assert.deepEqual(
      t.letters.map((l) => l.source.offset),
      ['1'],
    );
    assert.deepEqual(t.commits, ['2']);
  });

  it('never commits an offset whose batch has not been inserted, and keeps batch order', async () => {
    const t = setup({ limits: { max_rows: 2, max_bytes: 1_000_000, max_delay_ms: 10_000 } });
    let release!: () => void;
    t.sink.hold = new Promise((r) => (release = r));
    await t.lane.accept([rec(0, { id: 'a' }), rec(1, { id: 'b' })]); // sealed by rows, held
    await t.lane.accept([rec(2, { id: 'c' }), rec(3, { id: 'd' })]); // sealed, queued behind
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(t.commits, []);
    assert.equal(t.lane.inFlight, 4);
    release();
    t.sink.hold = undefined;
    await t.lane.drain();
    assert.deepEqual(t.commits, ['2', '4']);
    assert.equal(t.lane.inFlight, 0);
  });

  it('skips records redelivered after a rebalance that kept the partition', async () => {
    const t = setup();
    await t.lane.accept([rec(0, { id: 'a' }), rec(1, { id: 'b' })]);
    await t.lane.accept([rec(0, { id: 'a' }), rec(1, { id: 'b' }), rec(2, { id: 'c' })]);
    await t.lane.drain();
    assert.deepEqual(t.sink.batches.flat(), ['{"id":"a"}\n', '{"id":"b"}\n', '{"id":"c"}\n']);
    assert.deepEqual(t.commits, ['3']);
  });

  it("awaits stateful stages' checkpoint before committing", async () => {
    const events: string[] = [];
    const stateful: Stage = {
      name: 'dedup',
      kind: 'dedup',
      process: (batch) => ({ out: batch, dropped: [], dead: [] }),
      checkpoint: async () => {
        await new Promise((r) => setTimeout(r, 5));
        events.push('checkpoint');
      },
    };
    const t = setup({
      stages: [createParser({ id: 'string' }), stateful],
      commit: (_t, _p, o) => {
        events.push(`commit:${o}`);
        return Promise.resolve();
      },
    });
    await t.lane.accept([rec(0, { id: 'a' })]);
    await t.lane.drain();
    assert.deepEqual(events, ['checkpoint', 'commit:1']);
  });

  it('abandons unflushed work when the partition is revoked', async () => {
    const t = setup({ limits: { max_rows: 100, max_bytes: 1_000_000, max_delay_ms: 10_000 } });
    await t.lane.accept([rec(0, { id: 'a' })]);
    t.lane.discard();
    await t.lane.drain();
    assert.deepEqual(t.sink.batches, []);
    assert.deepEqual(t.commits, []);
    assert.equal(t.settled(), 1);
  });

  it('emits balanced stage counters', async () => {
    const t = setup();
    await t.lane.accept([
      rec(0, { id: 'a' }),
      rec(1, '{'),
      rec(2, { id: 'skip' }),
      rec(3, { id: 'unencodable' }),
    ]);
    await t.lane.drain();
    const metrics = await t.metrics.registry.getMetricsAsJSON();
    const sum = (name: string, stage: string) =>
      metrics
        .find((m) => m.name === name)!
        .values.filter((v) => v.labels.stage === stage)
        .reduce((s, v) => s + v.value, 0);
    for (const stage of ['parse', 'transform[0].filter', 'sink']) {
      const received = sum('weir_stage_records_received_total', stage);
      const emitted = sum('weir_stage_records_emitted_total', stage);
      const dropped = sum('weir_stage_records_dropped_total', stage);
      assert.equal(
        received,
        emitted + dropped,
        `stage ${stage}: ${received} != ${emitted} + ${dropped}`,
      );
    }
    assert.equal(sum('weir_stage_records_received_total', 'parse'), 4);
    assert.equal(sum('weir_stage_records_emitted_total', 'sink'), 1);
  });

  it('owns its pause: fetching is paused and resumed once through the source', () => {
    const calls: string[] = [];
    const { lane } = setup({
      pauseFetch: () => calls.push('pause'),
      resumeFetch: () => calls.push('resume'),
    });
    assert.equal(lane.isPaused, false);
    assert.equal(lane.pause(), true);
    assert.equal(lane.pause(), false, 'already paused');
    assert.equal(lane.isPaused, true);
    lane.resume();
    lane.resume();
    assert.equal(lane.isPaused, false);
    assert.deepEqual(calls, ['pause', 'resume']);
  });

  describe('with the batch ledger', () => {
    const withLedger = async (store: MemoryStore, over: Partial<LaneDeps> = {}) => {
      const ledger = new PartitionLedger(store, 'k');
      await ledger.load();
      return setup({ ledger, tokenFor: (a, b) => `tok:${a}-${b}`, ...over });
    };

    it('records each batch before writing it and moves the high-water mark after', async () => {
      const store = new MemoryStore();
      const t = await withLedger(store);
      await t.lane.accept([rec(0, { id: 'a' }), rec(1, { id: 'b' })]);
      await t.lane.drain();
      assert.deepEqual(t.sink.tokens, ['tok:0-1']);
      const after = new PartitionLedger(store, 'k');
      assert.deepEqual(await after.load(), { hw: '1', pending: null });
    });

    it('after a crash, re-cuts the pending batch exactly and skips what is below the mark', async () => {
      const store = new MemoryStore();
      const before = new PartitionLedger(store, 'k');
      await before.load();
      await before.complete('4'); // offsets 0..4 landed earlier
      await before.begin('5', '7', 'tok:5-7'); // 5..7 was in flight at the crash
      await before.markDeadLettersWritten();
      const t = await withLedger(store, {
        limits: { max_rows: 100, max_bytes: 1_000_000, max_delay_ms: 10_000 },
      });
      // Kafka replays from the last committed offset (say 3), in one fetch past the old cut.
      await t.lane.accept(
        [3, 4, 5, 6, 7, 8, 9].map((o) => rec(o, o === 6 ? 'bad json' : { id: `r${o}` })),
      );
      await t.lane.drain();
      assert.deepEqual(t.sink.tokens, ['tok:5-7', 'tok:8-9']);
      assert.deepEqual(t.sink.batches, [
        ['{"id":"r5"}\n', '{"id":"r7"}\n'],
        ['{"id":"r8"}\n', '{"id":"r9"}\n'],
      ]);
      // The replayed batch's dead letter (offset 6) was acknowledged before the crash.
      assert.deepEqual(t.letters, []);
      assert.deepEqual(t.commits, ['8', '10']);
    });
  });
});

describe('PartitionLane past offsets kafkajs passes over (aborted transactions, markers)', () => {
  it('commits past the markers after its records once those are flushed', async () => {
    const t = setup();
    await t.lane.accept([rec(0, { id: 'a' }), rec(1, { id: 'b' })]);
    t.lane.passOver('1', '4'); // the fetch went on to offset 4: an abort marker, say
    await t.lane.drain();
    assert.deepEqual(t.commits, ['2', '5']);
  });

  it('commits at once past a fetch of nothing but markers when everything is flushed', async () => {
    const t = setup();
    await t.lane.accept([rec(0, { id: 'a' })]);
    await t.lane.drain();
    t.lane.passOver('1', '3');
    await t.lane.drain();
    assert.deepEqual(t.commits, ['1', '4']);
  });

  it('still flushes a batch sealed while it commits past markers', async () => {
    const t = setup();
    await t.lane.accept([rec(0, { id: 'a' })]);
    await t.lane.drain();
    t.lane.passOver('1', '3');
    await t.lane.accept([rec(4, { id: 'b' })]);
    await t.lane.drain();
    assert.deepEqual(t.commits, ['1', '4', '5']);
    assert.equal(t.settled(), 2);
  });

  it('leaves offsets alone after a gap, and adds no commit for a fetch ending in a record', async () => {
    const t = setup();
    await t.lane.accept([rec(0, { id: 'a' })]);
    t.lane.passOver('0', '0');
    await t.lane.drain();
    t.lane.passOver('5', '7'); // offsets 1–4 never reached the lane
    await t.lane.drain();
    assert.deepEqual(t.commits, ['1']);
  });
});
