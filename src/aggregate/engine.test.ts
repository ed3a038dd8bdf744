import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryKeyedStore } from '../state/keyed/memory-store.ts';
import { AggregateEngine, AggregateStateFull, type AggregateSettings } from './engine.ts';
import { Hll } from './hll.ts';
import { allRows, env, measures, runLane, settings, type Phase } from './testing.ts';
import type { Envelope, StageOutput } from '../core/record.ts';

function engine(s: AggregateSettings, store = new MemoryKeyedStore()) {
  return new AggregateEngine(s, { store });
}

/** Records with event times `ts` (offsets 0…), group g = 'a' unless given. */
const recs = (ts: number[], extra: (i: number) => Record<string, unknown> = () => ({})) =>
  ts.map((t, i) => env(i, { ts: t, g: 'a', ...extra(i) }));

describe('aggregate engine', () => {
  it('emits a tumbling window once the watermark passes its end, as output of that record', async () => {
    const e = engine(settings({ latenessMs: 0 }));
    const out = await e.process(recs([1, 5, 9, 10, 12, 25]));
    assert.deepEqual(
      out.out.map((x) => [x.source.offset, x.row]),
      [
        ['3', { g: 'a', window_start: 0, window_end: 10, n: 3 }],
        ['5', { g: 'a', window_start: 10, window_end: 20, n: 2 }],
      ],
    );
    assert.deepEqual(
      out.dropped.map((d) => d.reason),
      Array(6).fill('aggregated'),
    );
  });

  it('waits for the allowed lateness and orders the rows of one close by window and group', async () => {
    const e = engine(settings({ latenessMs: 5 }));
    const rows = recs([3, 1, 12, 14], (i) => ({ g: i % 2 ? 'b' : 'a' }));
    let out = await e.process(rows);
    assert.equal(out.out.length, 0); // watermark 14 - 5 = 9 < 10
    out = await e.process([env(4, { ts: 15, g: 'c' })]);
    assert.deepEqual(
      out.out.map((x) => x.row),
      [
        { g: 'a', window_start: 0, window_end: 10, n: 1 },
        { g: 'b', window_start: 0, window_end: 10, n: 1 },
      ],
    );
  });

  it('computes every measure, skipping nulls; first/last by event time, ties by offset', async () => {
    const s = settings({
      measures: measures({
        n: 'count()',
        nx: 'count(x)',
        sum: 'sum(x)',
        min: 'min(x)',
        max: 'max(x)',
        avg: 'avg(x)',
        users: 'uniq(u)',
        approx: 'uniq_approx(u)',
        first: 'first(x)',
        last: 'last(x)',
        smin: 'min(u)',
      }),
    });
    const e = engine(s);
    const data = [
      { ts: 5, x: 2, u: 'p' },
      { ts: 1, x: 7, u: 'q' },
      { ts: 1, x: 3, u: 'p' },
      { ts: 8, x: null, u: null },
      { ts: 8, x: -1, u: 'r' },
      { ts: 8, x: 4, u: 'q' },
    ];
    await e.process(data.map((r, i) => env(i, { g: 'a', ...r })));
    const out = await e.process([env(6, { g: 'a', ts: 30 })]);
    assert.deepEqual(out.out[0]!.row, {
      g: 'a',
      window_start: 0,
      window_end: 10,
      n: 6,
      nx: 5,
      sum: 15,
      min: -1,
      max: 7,
      avg: 3,
      users: 3,
      approx: 3,
      first: 7,
      last: 4,
      smin: 'p',
    });
  });

  it('gives min/max/avg/first null for a window without values, sum and uniq 0', async () => {
    const s = settings({
      measures: measures({ s: 'sum(x)', m: 'max(x)', a: 'avg(x)', f: 'first(x)', u: 'uniq(x)' }),
    });
    const e = engine(s);
    await e.process([env(0, { g: 'a', ts: 1, x: null })]);
    const out = await e.process([env(1, { g: 'a', ts: 20, x: 1 })]);
    assert.deepEqual(out.out[0]!.row, {
      g: 'a',
      window_start: 0,
      window_end: 10,
      s: 0,
      m: null,
      a: null,
      f: null,
      u: 0,
    });
  });

  it('puts a record in every hopping window that contains it', async () => {
    const e = engine(settings({ sizeMs: 10, hopMs: 5 }));
    const first = await e.process(recs([7, 12]));
    const out = await e.process([env(2, { g: 'a', ts: 40 })]);
    assert.deepEqual(
      [...first.out, ...out.out].map((x) => [x.source.offset, x.row.window_start, x.row.n]),
      [
        ['1', 0, 1],
        ['2', 5, 2],
        ['2', 10, 1],
      ],
    );
  });

  it('counts a late record and drops it, or dead-letters it; never silently', async () => {
    const late: [number, string][] = [];
    for (const mode of ['count', 'dead_letter'] as const) {
      const e = new AggregateEngine(settings({ latenessMs: 2, late: mode }), {
        store: new MemoryKeyedStore(),
        observer: { late: (behind, outcome) => late.push([behind, outcome]) },
      });
      const out = await e.process(recs([1, 15, 7, 13]));
      assert.deepEqual(
        out.out.map((x) => x.row.n),
        [1],
      );
      if (mode === 'count') {
        assert.deepEqual(
          out.dropped.map((d) => [d.env.source.offset, d.reason]),
          [
            ['0', 'aggregated'],
            ['1', 'aggregated'],
            ['2', 'late'],
            ['3', 'aggregated'],
          ],
        );
      } else {
        assert.equal(out.dead.length, 1);
        assert.equal(out.dead[0]!.reason, 'late');
        assert.equal(out.dead[0]!.source.offset, '2');
        assert.equal(out.dropped.length, 3);
      }
    }
    assert.deepEqual(late, [
      [8, 'dropped'],
      [8, 'dead_letter'],
    ]);
  });

  it('folds a hopping record that missed some windows into the others, and counts it', async () => {
    const late: string[] = [];
    const e = new AggregateEngine(settings({ sizeMs: 10, hopMs: 5 }), {
      store: new MemoryKeyedStore(),
      observer: { late: (_b, outcome) => late.push(outcome) },
    });
    const out = await e.process(recs([1, 11, 8, 30]));
    assert.deepEqual(late, ['partial']);
    assert.deepEqual(
      out.out.map((x) => [x.row.window_start, x.row.n]),
      [
        [-5, 1],
        [0, 1],
        [5, 2],
        [10, 1],
      ],
    );
    assert.deepEqual(
      out.dropped.map((d) => d.reason),
      Array(4).fill('aggregated'),
    );
  });

  it('uses the Kafka record timestamp when there is no time field', async () => {
    const e = engine(settings({ timeField: undefined }));
    await e.process([env(0, { g: 'a' }, 3), env(1, { g: 'a' }, 4)]);
    const out = await e.process([env(2, { g: 'a' }, 11)]);
    assert.deepEqual(out.out[0]!.row, { g: 'a', window_start: 0, window_end: 10, n: 2 });
  });

  it('refuses to go on above max_state_bytes', async () => {
    const e = engine(settings({ maxStateBytes: 2000 }));
    await e.process(recs([1, 2, 3], (i) => ({ g: `group-${i}` })));
    await e.process(recs([4, 5, 6, 7, 8], (i) => ({ g: `other-${i}` })));
    assert.ok(e.stateBytes > 2000);
    assert.equal(e.check().ok, false);
    await assert.rejects(e.process(recs([9])), AggregateStateFull);
  });

  it('frees a closed window once the offset after its closing record is committed', async () => {
    const e = engine(settings());
    await e.process(recs([1, 2, 15]));
    assert.equal(e.windowsOpen, 1);
    const before = e.stateBytes;
    e.onCommit('t', 0, '2'); // the closing record (offset 2) is not committed yet
    assert.equal(e.stateBytes, before);
    e.onCommit('t', 0, '3');
    assert.ok(e.stateBytes < before);
  });
});

describe('aggregate idle rule', () => {
  it('holds the last record, and closes every window as its output once the partition is idle', async () => {
    let now = 0;
    const e = new AggregateEngine(settings({ latenessMs: 5, idleMs: 1000 }), {
      store: new MemoryKeyedStore(),
      clock: { now: () => now },
    });
    const released: StageOutput[] = [];
    e.setRelease('t', 0, (out) => released.push(out));
    const out = await e.process(recs([1, 4, 12]));
    // Offsets 0 and 1 are decided; 2 is held (its output too).
    assert.deepEqual(
      out.dropped.map((d) => d.env.source.offset),
      ['0', '1'],
    );
    assert.equal(e.heldFrom('t', 0), '2');
    now = 999;
    e.tick();
    assert.equal(released.length, 0);
    now = 1000;
    e.tick();
    assert.equal(e.heldFrom('t', 0), undefined);
    assert.deepEqual(
      released[0]!.out.map((x) => [x.source.offset, x.row.window_start, x.row.n]),
      [
        ['2', 0, 2],
        ['2', 10, 1],
      ],
    );
    assert.deepEqual(
      released[0]!.dropped.map((d) => [d.env.source.offset, d.reason]),
      [['2', 'aggregated']],
    );
    // The windows closed: a record for one of them is late now.
    const after = await e.process([env(3, { ts: 15, g: 'a' }), env(4, { ts: 21, g: 'a' })]);
    assert.deepEqual(
      after.dropped.map((d) => d.reason),
      ['late'],
    );
    assert.equal(e.heldFrom('t', 0), '4');
  });

  it('releases a held record as it is when a newer one arrives', async () => {
    const e = new AggregateEngine(settings({ idleMs: 1000 }), { store: new MemoryKeyedStore() });
    const released: StageOutput[] = [];
    e.setRelease('t', 0, (out) => released.push(out));
    await e.process(recs([1, 12]));
    await e.process([env(2, { ts: 13, g: 'a' })]);
    assert.deepEqual(
      released.map((r) => [r.out.map((x) => x.row.n), r.dropped.map((d) => d.env.source.offset)]),
      [[[1], ['1']]],
    );
  });
});

describe('uniq_approx (HyperLogLog)', () => {
  it('estimates 100k distinct values within 4 % (standard error 1.6 %)', () => {
    for (const seed of ['u-', 'user:', 'x']) {
      const h = new Hll();
      for (let i = 0; i < 100_000; i++) h.add(`${seed}${i}`);
      for (let i = 0; i < 50_000; i++) h.add(`${seed}${i}`); // repeats change nothing
      const err = Math.abs(h.estimate() - 100_000) / 100_000;
      assert.ok(err < 0.04, `${seed}: estimate ${h.estimate()} is ${(err * 100).toFixed(2)} % off`);
    }
  });

  it('is close to exact for small sets and survives its encoding', () => {
    const h = new Hll();
    for (let i = 0; i < 500; i++) h.add(String(i));
    assert.ok(Math.abs(h.estimate() - 500) <= 10, String(h.estimate()));
    assert.equal(Hll.fromBase64(h.toBase64()).estimate(), h.estimate());
  });
});

/** A partition of out-of-order events over 4 groups, with some late ones. */
function stream(n: number, seed = 7): Envelope[] {
  let x = seed;
  const rand = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const out: Envelope[] = [];
  for (let i = 0; i < n; i++) {
    const late = rand() < 0.03 ? 40 : 0;
    const ts = i * 3 + Math.floor(rand() * 12) - late;
    out.push(
      env(i, {
        ts,
        g: ['a', 'b', 'c', 'd'][Math.floor(rand() * 4)],
        x: Math.round(rand() * 1000) / 7,
        u: `u${Math.floor(rand() * 50)}`,
      }),
    );
  }
  return out;
}

const allMeasures = measures({
  n: 'count()',
  s: 'sum(x)',
  lo: 'min(x)',
  hi: 'max(x)',
  avg: 'avg(x)',
  users: 'uniq(u)',
  approx: 'uniq_approx(u)',
  first: 'first(x)',
  last: 'last(x)',
});

describe('aggregate replays', () => {
  const cases: { name: string; s: AggregateSettings }[] = [
    { name: 'tumbling', s: settings({ sizeMs: 20, latenessMs: 10, measures: allMeasures }) },
    {
      name: 'hopping',
      s: settings({ sizeMs: 30, hopMs: 10, latenessMs: 5, measures: allMeasures }),
    },
  ];
  const phases: Phase[] = ['before_checkpoint', 'after_checkpoint', 'after_insert', 'after_commit'];
  for (const { name, s } of cases) {
    it(`${name}: a restart at any step of any flush inserts exactly the rows of an uninterrupted run`, async () => {
      const records = stream(300);
      const whole = await runLane(s, records, { chunk: 17 });
      const rows = [...whole.batches.values()].flat();
      assert.ok(rows.length > 20, `only ${rows.length} rows`);
      const batches = whole.batches.size;
      for (const phase of phases)
        for (let b = 0; b < batches; b += 3) {
          const crashed = await runLane(s, records, {
            chunk: 17,
            crash: [{ batch: b, phase }],
            snapshotEvery: 4,
          });
          assert.deepEqual(crashed.mismatches, [], `${phase} at batch ${b}`);
          assert.deepEqual(crashed.batches, whole.batches, `${phase} at batch ${b}`);
        }
    });
  }

  it('survives several crashes in a row, including one while replaying', async () => {
    const s = cases[1]!.s;
    const records = stream(400, 3);
    const whole = await runLane(s, records, { chunk: 23 });
    const crashed = await runLane(s, records, {
      chunk: 23,
      snapshotEvery: 2,
      crash: [
        { batch: 2, phase: 'after_checkpoint' },
        { batch: 2, phase: 'before_checkpoint' },
        { batch: 5, phase: 'after_insert' },
        { batch: 9, phase: 'after_checkpoint' },
        { batch: 9, phase: 'after_checkpoint' },
        { batch: 12, phase: 'after_commit' },
      ],
    });
    assert.deepEqual(crashed.mismatches, []);
    assert.deepEqual(crashed.batches, whole.batches);
  });

  it('restarts that fetch in other chunks than the first run still replay exactly', async () => {
    for (const { s } of cases) {
      const records = stream(400, 5);
      const whole = allRows(await runLane(s, records, { chunk: 40 }));
      for (const phase of phases) {
        const crashed = await runLane(s, records, {
          // The first run reads ahead in big fetches; restarts read in small and odd ones.
          chunk: [40, 7, 13, 3],
          snapshotEvery: 3,
          crash: [
            { batch: 2, phase },
            { batch: 6, phase: 'after_commit' },
            { batch: 9, phase },
            { batch: 15, phase: 'after_insert' },
          ],
        });
        assert.deepEqual(crashed.mismatches, [], phase);
        assert.deepEqual(allRows(crashed), whole, phase);
      }
    }
  });

  it('idle closes replay exactly: recorded before their rows are inserted, redone on replay', async () => {
    const records = stream(300, 11);
    const idleAfter = [40, 41, 97, 150, 151, 152, 220, 299];
    for (const { s: base } of cases) {
      const s = { ...base, idleMs: 500 };
      const whole = await runLane(s, records, { chunk: 17, idleAfter });
      const rows = allRows(whole);
      // The idle closes made rows an uninterrupted run without them does not.
      const without = allRows(await runLane(s, records, { chunk: 17 }));
      assert.notDeepEqual(rows, without);
      for (const phase of phases)
        for (let b = 0; b < whole.batches.size; b += 2) {
          const crashed = await runLane(s, records, {
            chunk: [17, 5, 30],
            idleAfter,
            crash: [{ batch: b, phase }],
            snapshotEvery: 3,
          });
          assert.deepEqual(crashed.mismatches, [], `${phase} at batch ${b}`);
          assert.deepEqual(allRows(crashed), rows, `${phase} at batch ${b}`);
        }
    }
  });

  it('a replay never makes an idle close the first run did not make', async () => {
    const s = { ...cases[0]!.s, idleMs: 500 };
    const records = stream(200, 13);
    const whole = allRows(await runLane(s, records, { chunk: 17 }));
    for (const phase of phases) {
      // Batch 5 is offsets 85-101, all read (and recorded) before batch 4's checkpoint. (Past
      // what the first run recorded, a replay decides anew: nothing of it was inserted.)
      const crashed = await runLane(s, records, {
        chunk: 17,
        crash: [{ batch: 5, phase }],
        idleOnReplay: [90, 101],
      });
      assert.deepEqual(crashed.mismatches, [], phase);
      assert.deepEqual(allRows(crashed), whole, phase);
    }
  });

  it('random settings, fetch sizes, quiet moments and crashes: always the rows of one run', async () => {
    let x = 99;
    const rand = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const int = (n: number) => Math.floor(rand() * n);
    for (let iter = 0; iter < 80; iter++) {
      const hop = pick([5, 10, 20]);
      const s = settings({
        sizeMs: hop * (1 + int(3)),
        hopMs: hop,
        latenessMs: int(20),
        measures: allMeasures,
        late: pick(['count', 'dead_letter'] as const),
        ...(rand() < 0.7 ? { idleMs: 100 } : {}),
      });
      const records = stream(150 + int(200), iter + 1);
      // The stream ends quiet: nothing stays held at the end.
      const idleAfter = [...Array.from({ length: int(8) }, () => int(300)), records.length - 1];
      const whole = allRows(await runLane(s, records, { chunk: 1 + int(40), idleAfter }));
      const crash = Array.from({ length: 1 + int(5) }, () => ({
        batch: int(25),
        phase: pick(phases),
      }));
      const chunk = Array.from({ length: 6 }, () => 1 + int(40));
      const run = await runLane(s, records, { chunk, crash, idleAfter, snapshotEvery: 1 + int(5) });
      const what = `iteration ${iter}: ${JSON.stringify({ crash, chunk, idleAfter })}`;
      assert.deepEqual(run.mismatches, [], what);
      assert.deepEqual(allRows(run), whole, what);
    }
  });

  it('detects a replay that differs (the harness can fail)', async () => {
    const s = cases[0]!.s;
    const records = stream(200);
    const whole = await runLane(s, records, { chunk: 17 });
    // A store that loses everything: the replay from batch 5 emits windows without their past.
    const lossy = new MemoryKeyedStore();
    lossy.append = () => Promise.resolve();
    const crashed = await runLane(
      s,
      records,
      {
        chunk: 17,
        crash: [{ batch: 5, phase: 'after_commit' }],
      },
      lossy,
    );
    assert.notDeepEqual(crashed.batches, whole.batches);
  });
});
