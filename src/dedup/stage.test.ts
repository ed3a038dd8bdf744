import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../core/clock.ts';
import type { FieldInfo } from '../core/fields.ts';
import type { Envelope, Row } from '../core/record.ts';
import { envelope, sourceRecord } from '../stages/testkit.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { planKey, type KeySpec } from '../state/keyed/key.ts';
import { MemoryKeyedStore } from '../state/keyed/memory-store.ts';
import { createDedup, type DedupSettings, type DedupStage } from './stage.ts';
import { MemoryGlobalStore } from './testing.ts';

const fields: FieldInfo[] = [
  { name: 'id', type: { kind: 'string' }, nullable: true },
  { name: 'ts', type: { kind: 'datetime' }, nullable: true },
  { name: 'n', type: { kind: 'integer' }, nullable: true },
];
const T0 = Date.UTC(2025, 0, 1);

interface Setup {
  stage: DedupStage;
  clock: FakeClock;
  store: MemoryKeyedStore;
  metrics: ReturnType<typeof createMetrics>;
}

function setup(
  over: Partial<DedupSettings> & { key?: KeySpec } = {},
  shared: {
    store?: MemoryKeyedStore;
    global?: MemoryGlobalStore;
    clock?: FakeClock;
    logged?: Record<string, unknown>[];
    /** Level of the lines kept in `logged` (default warn). */
    logLevel?: 'info' | 'warn';
    keepAlive?: () => void;
  } = {},
): Setup {
  const clock = shared.clock ?? new FakeClock(T0);
  const store = shared.store ?? new MemoryKeyedStore();
  const metrics = createMetrics(new Registry(), { defaults: false });
  const stage = createDedup(
    {
      pipeline: 'p',
      keyOf: planKey(over.key ?? 'id', fields),
      windowMs: 60_000,
      late: 'keep',
      mode: 'keyed',
      ...over,
    },
    {
      keyed: store,
      global: shared.global,
      metrics,
      logger: shared.logged
        ? createLogger({
            level: shared.logLevel ?? 'warn',
            destination: {
              write: (line: string) =>
                shared.logged!.push(JSON.parse(line) as Record<string, unknown>),
            } as unknown as NodeJS.WritableStream,
          }).child({ pipeline: 'p' })
        : createLogger({ level: 'silent' }),
      clock,
      snapshotEvery: 3,
      retryInitialMs: 1,
      keepAlive: shared.keepAlive,
      capCheckMs: 5,
    },
  );
  return { stage, clock, store, metrics };
}

let nextOffset = 0;
function rec(row: Row, at: { partition?: number; offset?: number; topic?: string } = {}): Envelope {
  const offset = at.offset ?? nextOffset++;
  return envelope(
    { ...row },
    sourceRecord(
      {},
      { topic: at.topic ?? 'events', partition: at.partition ?? 0, offset: String(offset) },
    ),
  );
}

async function run(stage: DedupStage, batch: Envelope[]) {
  const res = await stage.process(batch);
  return {
    kept: res.out.map((e) => `${String(e.row.id)}@${e.source.offset}`),
    dropped: res.dropped.map((d) => `${String(d.env.row.id)}@${d.env.source.offset}:${d.reason}`),
    dead: res.dead.map((d) => d.reason),
  };
}

const value = async (m: Setup['metrics'], name: string, labels: Record<string, string> = {}) => {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
};

describe('dedup stage: arrival time window (fake clock)', () => {
  it('drops a repeat inside the window and accepts it again at the window edge', async () => {
    const { stage, clock } = setup();
    assert.deepEqual((await run(stage, [rec({ id: 'a' }, { offset: 1 })])).kept, ['a@1']);
    clock.advance(59_000);
    assert.deepEqual((await run(stage, [rec({ id: 'a' }, { offset: 2 })])).dropped, [
      'a@2:duplicate',
    ]);
    // Exactly one window after the accepted record: no longer a duplicate, accepted anew.
    clock.advance(1_000);
    assert.deepEqual((await run(stage, [rec({ id: 'a' }, { offset: 3 })])).kept, ['a@3']);
    clock.advance(30_000);
    assert.deepEqual((await run(stage, [rec({ id: 'a' }, { offset: 4 })])).dropped, [
      'a@4:duplicate',
    ]);
  });

  it('catches duplicates inside one batch, keeping the first', async () => {
    const { stage, metrics } = setup();
    const r = await run(stage, [
      rec({ id: 'a' }, { offset: 10 }),
      rec({ id: 'b' }, { offset: 11 }),
      rec({ id: 'a' }, { offset: 12 }),
      rec({ id: 'a' }, { offset: 13 }),
      rec({ id: 'b' }, { offset: 14 }),
    ]);
    assert.deepEqual(r.kept, ['a@10', 'b@11']);
    assert.deepEqual(r.dropped, ['a@12:duplicate', 'a@13:duplicate', 'b@14:duplicate']);
    assert.equal(await value(metrics, 'weir_dedup_records_total', { reason: 'duplicate' }), 3);
    assert.equal(await value(metrics, 'weir_dedup_records_total', { reason: 'unique' }), 2);
    assert.equal(await value(metrics, 'weir_dedup_index_keys'), 2);
  });

  it('catches a duplicate on another partition of the same agent', async () => {
    const { stage } = setup();
    await run(stage, [rec({ id: 'a' }, { partition: 0, offset: 1 })]);
    const r = await run(stage, [rec({ id: 'a' }, { partition: 1, offset: 1 })]);
    assert.deepEqual(r.dropped, ['a@1:duplicate']);
  });

  it('passes a record without a key and dead-letters a key expression that fails', async () => {
    const { stage } = setup({ key: { expr: 'substr(id, 0, 1) + n' } });
    const r = await run(stage, [
      rec({ id: null, n: null }, { offset: 1 }),
      rec({ id: 'ab', n: 1 }, { offset: 2 }),
      rec({ id: 'ac', n: 1 }, { offset: 3 }),
      rec({ id: 'ad', n: 2 }, { offset: 4 }),
    ]);
    assert.deepEqual(r.kept, ['null@1', 'ab@2', 'ad@4']);
    assert.deepEqual(r.dropped, ['ac@3:duplicate']);
  });

  it('combines several key fields exactly', async () => {
    const { stage } = setup({ key: ['id', 'n'] });
    const r = await run(stage, [
      rec({ id: 'a', n: 1 }, { offset: 1 }),
      rec({ id: 'a', n: 2 }, { offset: 2 }),
      rec({ id: 'a', n: 1 }, { offset: 3 }),
    ]);
    assert.deepEqual(r.kept, ['a@1', 'a@2']);
    assert.deepEqual(r.dropped, ['a@3:duplicate']);
  });
});

describe('dedup stage: event time window', () => {
  const at = (s: number) => T0 + s * 1000;

  it('treats out-of-order events within the window as duplicates, in both directions', async () => {
    const { stage } = setup({ timeField: 'ts' });
    const r = await run(stage, [
      rec({ id: 'a', ts: at(100) }, { offset: 1 }),
      rec({ id: 'b', ts: at(130) }, { offset: 2 }),
      rec({ id: 'a', ts: at(70) }, { offset: 3 }), // 30 s earlier than the accepted one
      rec({ id: 'b', ts: at(189) }, { offset: 4 }), // 59 s later
      rec({ id: 'c', ts: at(135) }, { offset: 5 }), // out of order, not late (newest is 189)
      rec({ id: 'c', ts: at(134) }, { offset: 6 }),
    ]);
    assert.deepEqual(r.kept, ['a@1', 'b@2', 'c@5']);
    assert.deepEqual(r.dropped, ['a@3:duplicate', 'b@4:duplicate', 'c@6:duplicate']);
  });

  it('uses event time, not the clock: a day of wall time changes nothing', async () => {
    const { stage, clock } = setup({ timeField: 'ts' });
    await run(stage, [rec({ id: 'a', ts: at(0) }, { offset: 1 })]);
    clock.advance(86_400_000);
    assert.deepEqual((await run(stage, [rec({ id: 'a', ts: at(30) }, { offset: 2 })])).dropped, [
      'a@2:duplicate',
    ]);
    // 60 s of event time later: the window has passed.
    assert.deepEqual((await run(stage, [rec({ id: 'a', ts: at(60) }, { offset: 3 })])).kept, [
      'a@3',
    ]);
  });

  it('warns of late events once per interval, naming the pipeline and how far behind', async () => {
    for (const mode of ['keyed', 'global'] as const) {
      const logged: Record<string, unknown>[] = [];
      const { stage } = setup(
        { timeField: 'ts', late: 'drop', mode },
        { logged, global: new MemoryGlobalStore() },
      );
      await run(stage, [rec({ id: 'new', ts: at(1000) }, { offset: 1 })]);
      await run(stage, [
        rec({ id: 'a', ts: at(930) }, { offset: 2 }),
        rec({ id: 'b', ts: at(900) }, { offset: 3 }),
      ]);
      assert.equal(logged.length, 1, mode);
      assert.equal(logged[0]!.pipeline, 'p');
      assert.equal(logged[0]!.outcome, 'dropped');
      assert.equal(logged[0]!.behind_ms, 70_000);
      assert.match(String(logged[0]!.msg), /^dedup: record older than the window/);
    }
  });

  it('keeps late events unremembered by default, or drops them', async () => {
    for (const late of ['keep', 'drop'] as const) {
      const { stage, metrics } = setup({ timeField: 'ts', late });
      await run(stage, [rec({ id: 'new', ts: at(1000) }, { offset: 1 })]);
      // 60 s or more behind the newest time of the partition: late.
      const r = await run(stage, [
        rec({ id: 'old', ts: at(940) }, { offset: 2 }),
        rec({ id: 'old', ts: at(940) }, { offset: 3 }),
        rec({ id: 'new', ts: at(941) }, { offset: 4 }), // late, but its key is still held
      ]);
      if (late === 'keep') {
        assert.deepEqual(r.kept, ['old@2', 'old@3']);
        assert.deepEqual(r.dropped, ['new@4:duplicate']);
      } else {
        assert.deepEqual(r.kept, []);
        assert.deepEqual(r.dropped, ['old@2:late', 'old@3:late', 'new@4:duplicate']);
      }
      assert.equal(await value(metrics, 'weir_dedup_records_total', { reason: 'late' }), 2);
    }
  });

  it('does not let a far-future timestamp move the window more than 1 h past the clock', async () => {
    const { stage } = setup({ timeField: 'ts', windowMs: 2 * 3_600_000 });
    await run(stage, [
      rec({ id: 'a', ts: at(10) }, { offset: 1 }),
      rec({ id: 'z', ts: at(10 + 365 * 86_400) }, { offset: 2 }),
    ]);
    assert.deepEqual((await run(stage, [rec({ id: 'a', ts: at(20) }, { offset: 3 })])).dropped, [
      'a@3:duplicate',
    ]);
  });

  it('falls back to the Kafka timestamp when the event time is null', async () => {
    const { stage } = setup({ timeField: 'ts' });
    const r = await run(stage, [rec({ id: 'a', ts: null }), rec({ id: 'a', ts: null })]);
    assert.equal(r.kept.length, 1);
    assert.equal(r.dropped.length, 1);
  });
});

describe('dedup stage: durability and replay', () => {
  it('persists accepted keys in one write per partition per checkpoint', async () => {
    const { stage, store } = setup();
    await run(stage, [rec({ id: 'a' }, { partition: 0 }), rec({ id: 'b' }, { partition: 0 })]);
    await run(stage, [rec({ id: 'c' }, { partition: 1 })]);
    assert.equal(store.appends, 0);
    await Promise.all([stage.checkpoint(), stage.checkpoint()]);
    assert.equal(store.appends, 2);
    assert.deepEqual(store.stored('events', 0), { deltas: 1, chunks: 0 });
    await stage.checkpoint();
    assert.equal(store.appends, 2, 'nothing new, nothing written');
  });

  it('passes a replay of the same source record after a restart, drops other copies', async () => {
    const store = new MemoryKeyedStore();
    const first = setup({}, { store });
    await run(first.stage, [rec({ id: 'a' }, { offset: 5 }), rec({ id: 'a' }, { offset: 6 })]);
    await first.stage.checkpoint();
    // Crash before the commit: the same offsets come again to a fresh agent.
    const second = setup({}, { store, clock: first.clock });
    await second.stage.onAssign('events', 0);
    const r = await run(second.stage, [
      rec({ id: 'a' }, { offset: 5 }),
      rec({ id: 'a' }, { offset: 6 }),
      rec({ id: 'a' }, { offset: 7 }),
    ]);
    assert.deepEqual(r.kept, ['a@5']);
    assert.deepEqual(r.dropped, ['a@6:duplicate', 'a@7:duplicate']);
    assert.equal(await value(second.metrics, 'weir_dedup_records_total', { reason: 'replay' }), 1);
  });

  it('does not treat the same offset of another partition or topic as a replay', async () => {
    const { stage } = setup();
    await run(stage, [rec({ id: 'a' }, { partition: 0, offset: 5 })]);
    const r = await run(stage, [
      rec({ id: 'a' }, { partition: 1, offset: 5 }),
      rec({ id: 'a' }, { topic: 'other', partition: 0, offset: 5 }),
    ]);
    assert.deepEqual(r.dropped, ['a@5:duplicate', 'a@5:duplicate']);
  });

  it('rebuilds from a snapshot plus later deltas, and purges what the snapshot covers', async () => {
    const store = new MemoryKeyedStore();
    const a = setup({}, { store });
    for (let i = 0; i < 5; i++) {
      await run(a.stage, [rec({ id: `k${i}` }, { offset: 100 + i })]);
      await a.stage.checkpoint();
    }
    await a.stage.close();
    const held = store.stored('events', 0);
    assert.ok(held.chunks >= 1, 'a snapshot was written');
    assert.ok(held.deltas < 5, `deltas were purged (${held.deltas} left)`);
    const b = setup({}, { store, clock: a.clock });
    await b.stage.onAssign('events', 0);
    const r = await run(
      b.stage,
      [0, 1, 2, 3, 4].map((i) => rec({ id: `k${i}` }, { offset: 200 + i })),
    );
    assert.equal(r.dropped.length, 5);
    assert.equal(b.stage.index.size, 5);
  });

  it('waits for the rebuild before deciding, and forgets a partition when it is revoked', async () => {
    const store = new MemoryKeyedStore();
    const a = setup({}, { store });
    await run(a.stage, [rec({ id: 'a' }, { offset: 1 })]);
    await a.stage.checkpoint();
    const b = setup({}, { store, clock: a.clock });
    // No onAssign: the first batch triggers (and waits for) the rebuild itself.
    assert.deepEqual((await run(b.stage, [rec({ id: 'a' }, { offset: 2 })])).dropped, [
      'a@2:duplicate',
    ]);
    b.stage.onRevoke('events', 0);
    assert.equal(b.stage.check().ok, true);
    // Another agent accepted more meanwhile; a new assignment reloads the partition.
    await run(a.stage, [rec({ id: 'b' }, { offset: 3 })]);
    await a.stage.checkpoint();
    await b.stage.onAssign('events', 0);
    assert.deepEqual((await run(b.stage, [rec({ id: 'b' }, { offset: 4 })])).dropped, [
      'b@4:duplicate',
    ]);
  });

  it('decides nothing until every owned partition is loaded: a duplicate may be in another', async () => {
    const store = new MemoryKeyedStore();
    const a = setup({}, { store });
    await run(a.stage, [rec({ id: 'x' }, { partition: 0, offset: 1 })]);
    await a.stage.checkpoint();
    // Restart: partition 0's state loads slowly, partition 1's at once.
    let release = (): void => undefined;
    store.loadGate.set('events/0', new Promise<void>((r) => (release = r)));
    const b = setup({}, { store, clock: a.clock });
    const zero = b.stage.onAssign('events', 0);
    await b.stage.onAssign('events', 1);
    let decided = false;
    const pending = run(b.stage, [rec({ id: 'x' }, { partition: 1, offset: 7 })]).then((r) => {
      decided = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(decided, false, 'partition 1 waited for partition 0');
    release();
    await zero;
    assert.deepEqual((await pending).dropped, ['x@7:duplicate']);
  });

  it('retries a failing store and stops committing after a permanent failure', async () => {
    const { stage, store } = setup();
    await run(stage, [rec({ id: 'a' })]);
    store.failWith = Object.assign(new Error('timeout'), { code: 'TIMEOUT' });
    const persisted = stage.checkpoint();
    await new Promise((r) => setTimeout(r, 20));
    store.failWith = undefined;
    await persisted;
    assert.equal(store.appends, 1);
    await run(stage, [rec({ id: 'b' })]);
    store.failWith = new Error('permission denied');
    await assert.rejects(stage.checkpoint(), /permission denied/);
    store.failWith = undefined;
    await assert.rejects(stage.checkpoint(), /permission denied/);
    assert.equal(stage.check().ok, false);
  });
});

describe('dedup stage: global mode', () => {
  it('shares claims between agents and recognises a replay of the claiming record', async () => {
    const global = new MemoryGlobalStore();
    const clock = new FakeClock(T0);
    const one = setup({ mode: 'global' }, { global, clock });
    const two = setup({ mode: 'global' }, { global, clock });
    assert.deepEqual((await run(one.stage, [rec({ id: 'a' }, { partition: 0, offset: 1 })])).kept, [
      'a@1',
    ]);
    const r = await run(two.stage, [
      rec({ id: 'a' }, { partition: 1, offset: 9 }),
      rec({ id: 'a' }, { partition: 0, offset: 1 }), // agent one's record, replayed here
      rec({ id: 'b' }, { partition: 1, offset: 10 }),
      rec({ id: 'b' }, { partition: 1, offset: 11 }),
    ]);
    assert.deepEqual(r.kept, ['a@1', 'b@10']);
    assert.deepEqual(r.dropped, ['a@9:duplicate', 'b@11:duplicate']);
    assert.equal(global.calls, 3, 'one claim per new key, in-batch repeats decided locally');
    // After the window, a key can be claimed anew.
    clock.advance(60_000);
    assert.deepEqual((await run(one.stage, [rec({ id: 'b' }, { partition: 0, offset: 2 })])).kept, [
      'b@2',
    ]);
  });
});

describe('dedup stage: dedup.max_keys', () => {
  const ids = (from: number, to: number, partition = 0) =>
    Array.from({ length: to - from }, (_, i) => rec({ id: `k${from + i}` }, { partition }));
  /** A process() call, and whether it has returned yet. */
  const started = (stage: DedupStage, batch: Envelope[]) => {
    const call = { done: false, result: run(stage, batch) };
    const done = () => (call.done = true);
    void call.result.then(done, done);
    return call;
  };
  // Nothing releases a held batch while the fake clock stands still: waiting only gives a batch
  // released by mistake the time to show it.
  const settle = () => new Promise((r) => setTimeout(r, 50));

  it('holds batches at the cap and resumes them once time has expired keys (arrival time)', async (t) => {
    for (const mode of ['keyed', 'global'] as const) {
      const logged: Record<string, unknown>[] = [];
      let keepAlives = 0;
      const { stage, clock, metrics } = setup(
        { mode, maxKeys: 10 },
        {
          logged,
          logLevel: 'info',
          global: new MemoryGlobalStore(),
          keepAlive: () => keepAlives++,
        },
      );
      // Closed whatever happens: a hold left behind would keep the test process alive.
      t.after(() => stage.close());
      const paused = () =>
        value(metrics, 'weir_pipeline_paused', { pipeline: 'p', reason: 'dedup_keys' });
      assert.equal(await value(metrics, 'weir_dedup_index_max_keys'), 10, mode);
      assert.equal(await paused(), 0);
      assert.equal((await run(stage, ids(0, 10))).kept.length, 10);
      clock.advance(30_000);
      // At the cap: two batches (two partitions) wait, judged neither way.
      const one = started(stage, [rec({ id: 'k10' }), rec({ id: 'k10' }), rec({ id: 'k1' })]);
      const two = started(stage, ids(11, 13, 1));
      await settle();
      assert.equal(one.done || two.done, false, `${mode}: held`);
      assert.equal(await paused(), 1);
      const ready = stage.capCheck();
      assert.equal(ready.ok, false);
      assert.match(ready.reason ?? '', /holds 10 keys, at dedup.max_keys = 10/);
      assert.ok(keepAlives > 0, 'the consumer is kept in its group');
      const errors = logged.filter((l) => l.level === 'error');
      assert.equal(errors.length, 1, 'one error line per pause');
      assert.equal(errors[0]!.pipeline, 'p');
      assert.equal(errors[0]!.keys_held, 10);
      assert.equal(errors[0]!.max_keys, 10);
      assert.match(String(errors[0]!.hint), /raise dedup.max_keys .* or shorten dedup.window/);
      assert.match(String(errors[0]!.hint), /resumes by itself/);
      // A window after the first keys: they expire, the batches are judged as if never held.
      clock.advance(30_000);
      const first = await one.result;
      assert.deepEqual(
        first.kept.map((k) => k.split('@')[0]),
        ['k10', 'k1'],
        `${mode}: k1 expired, k10 once`,
      );
      assert.deepEqual(
        first.dropped.map((d) => d.split('@')[0]),
        ['k10'],
      );
      assert.equal((await two.result).kept.length, 2);
      assert.equal(await paused(), 0);
      assert.equal(stage.capCheck().ok, true);
      assert.ok(logged.some((l) => String(l.msg).startsWith('pipeline resumes')));
    }
  });

  it('counts live keys, not expired ones waiting for the sweep', async () => {
    const { stage, clock } = setup({ maxKeys: 10 });
    await run(stage, ids(0, 10));
    clock.advance(60_000);
    assert.equal(stage.index.size, 10, 'expired, not swept yet');
    // Decided at once: no hold, though the index still had 10 entries.
    assert.equal((await run(stage, ids(10, 12))).kept.length, 2);
    assert.equal(stage.capCheck().ok, true);
  });

  it('says that event time may hold until a restart, and ends the hold on close', async (t) => {
    const logged: Record<string, unknown>[] = [];
    const at = (s: number) => T0 + s * 1000;
    const { stage, clock, metrics } = setup({ timeField: 'ts', maxKeys: 5 }, { logged });
    t.after(() => stage.close());
    await run(
      stage,
      [0, 1, 2, 3, 4].map((i) => rec({ id: `k${i}`, ts: at(i) })),
    );
    const held = started(stage, [rec({ id: 'k9', ts: at(120) })]);
    // Wall time passing expires nothing with event time.
    clock.advance(3_600_000);
    await settle();
    assert.equal(held.done, false);
    assert.match(String(logged[0]?.hint), /restarted with a larger cap/);
    assert.match(stage.capCheck().reason ?? '', /restarted with a larger cap/);
    await stage.close();
    await assert.rejects(held.result, /closed while holding records at dedup.max_keys/);
    assert.equal(await value(metrics, 'weir_pipeline_paused', { reason: 'dedup_keys' }), 0);
  });
});
