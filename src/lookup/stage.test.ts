import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../core/clock.ts';
import { ConfigError } from '../core/errors.ts';
import type { FieldInfo } from '../core/fields.ts';
import type { Envelope } from '../core/record.ts';
import { lookupSchema } from '../config/schema.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics, type Metrics } from '../telemetry/metrics.ts';
import { LookupCache, entryBytes } from './cache.ts';
import type { DimRow, DimensionSource, KeyValue, SourceColumn } from './source.ts';
import { LookupStage, type LookupDeps } from './stage.ts';
import { postgresFamily } from './types.ts';

/** An in-memory dimension table behind the source interface. */
class FakeSource implements DimensionSource {
  readonly kind = 'fake';
  readonly where = 'the fake table dims';
  /** Rows by key column value (text); several rows for a key model a non-unique key. */
  rows = new Map<string, DimRow[]>();
  calls: KeyValue[][] = [];
  allCalls = 0;
  failures = 0;
  failWith: Error | undefined;
  running = 0;
  maxRunning = 0;
  closed = false;
  columns: SourceColumn[] = [
    { name: 'id', type: 'text' },
    { name: 'name', type: 'text' },
    { name: 'budget', type: 'numeric' },
  ];

  set(id: string, row: Omit<DimRow, 'id'>): void {
    this.rows.set(id, [{ id, ...row }]);
  }

  connect(): Promise<SourceColumn[]> {
    return Promise.resolve(this.columns);
  }

  async fetch(keys: readonly KeyValue[]): Promise<DimRow[]> {
    this.calls.push([...keys]);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise((r) => setImmediate(r));
    this.running--;
    if (this.failWith) {
      this.failures++;
      throw this.failWith;
    }
    return keys.flatMap((k) => this.rows.get(String(k)) ?? []);
  }

  fetchAll(): Promise<DimRow[]> {
    this.allCalls++;
    if (this.failWith) return Promise.reject(this.failWith);
    return Promise.resolve([...this.rows.values()].flat());
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const input: FieldInfo[] = [
  { name: 'event_id', type: { kind: 'string' }, nullable: false },
  { name: 'ad_id', type: { kind: 'string' }, nullable: true },
];

interface Harness {
  stage: LookupStage;
  source: FakeSource;
  clock: FakeClock;
  metrics: Metrics;
  logs: string[];
}

async function harness(
  config: Record<string, unknown> = {},
  o: { source?: FakeSource; clock?: FakeClock; deps?: Partial<LookupDeps> } = {},
): Promise<Harness> {
  const cfg = lookupSchema.parse({
    name: 'campaigns',
    from: { postgres: { url: 'postgres://weir:secret@127.0.0.1:5432/weir' } },
    table: 'campaigns',
    key: { field: 'ad_id', column: 'id' },
    fields: { campaign: { type: 'string', column: 'name' }, budget: 'number' },
    retry: { initial_ms: 1, max_ms: 2 },
    ...config,
  });
  const source = o.source ?? new FakeSource();
  const clock = o.clock ?? new FakeClock(1_000_000);
  const metrics = createMetrics(new Registry(), { defaults: false });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const deps: LookupDeps = { pipeline: 'p', metrics, logger, clock, ...o.deps };
  const stage = new LookupStage('campaigns', cfg, input, source, postgresFamily, deps);
  await stage.open();
  return { stage, source, clock, metrics, logs };
}

let nextOffset = 0;
function records(keys: unknown[], o: { partition?: number; from?: number } = {}): Envelope[] {
  const from = o.from ?? nextOffset;
  nextOffset = from + keys.length;
  return keys.map((ad_id, i) => ({
    source: {
      topic: 'events',
      partition: o.partition ?? 0,
      offset: String(from + i),
      key: null,
      value: null,
      headers: {},
      timestamp: 0,
    },
    row: { event_id: `e${from + i}`, ad_id },
  }));
}

async function metric(m: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const all = await m.registry.getMetricsAsJSON();
  const found = all.find((x) => x.name === name);
  const v = found?.values.find((x) =>
    Object.entries(labels).every(([k, val]) => x.labels[k] === val),
  );
  return v?.value ?? 0;
}

describe('lookup stage: batching', () => {
  it('asks one query for the distinct keys of a fetch, never one per record', async () => {
    const h = await harness();
    h.source.set('a', { name: 'Alpha', budget: '10.5' });
    h.source.set('b', { name: 'Beta', budget: 20 });
    const res = await h.stage.process(records(['a', 'b', 'a', 'c', 'b', 'a']));
    assert.equal(h.source.calls.length, 1);
    assert.deepEqual([...h.source.calls[0]!].sort(), ['a', 'b', 'c']);
    assert.deepEqual(
      res.out.map((e) => [e.row.ad_id, e.row.campaign, e.row.budget]),
      [
        ['a', 'Alpha', 10.5],
        ['b', 'Beta', 20],
        ['a', 'Alpha', 10.5],
        ['c', null, null],
        ['b', 'Beta', 20],
        ['a', 'Alpha', 10.5],
      ],
    );
    assert.equal(await metric(h.metrics, 'weir_lookup_records_total', { reason: 'hit' }), 5);
    assert.equal(await metric(h.metrics, 'weir_lookup_records_total', { reason: 'miss' }), 1);
    assert.equal(await metric(h.metrics, 'weir_lookup_keys_total', { reason: 'query' }), 3);
    const span = res.spans?.[0];
    assert.equal(span?.name, 'lookup campaigns');
    assert.equal(span?.attributes['weir.lookup.keys'], 3);
    assert.equal(span?.attributes['weir.lookup.queried'], 3);
    assert.equal(span?.attributes['weir.lookup.hits'], 5);
    assert.equal(span?.attributes['weir.lookup.misses'], 1);
  });

  it('splits a large key set into chunks run with bounded concurrency', async () => {
    const h = await harness({ max_keys_per_query: 3, max_concurrency: 2 });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    for (const k of keys) h.source.set(k, { name: k.toUpperCase(), budget: 1 });
    const res = await h.stage.process(records([...keys, ...keys]));
    assert.equal(h.source.calls.length, 4);
    assert.deepEqual(
      h.source.calls.map((c) => c.length),
      [3, 3, 3, 1],
    );
    assert.equal(h.source.maxRunning, 2);
    assert.deepEqual(
      res.out.map((e) => e.row.campaign),
      [...keys, ...keys].map((k) => k.toUpperCase()),
    );
  });

  it('partitions asking for the same keys at the same time share one query', async () => {
    const h = await harness();
    h.source.set('a', { name: 'A', budget: 1 });
    const [p1, p2] = await Promise.all([
      h.stage.process(records(['a', 'b'], { partition: 1, from: 0 })),
      h.stage.process(records(['b', 'a', 'c'], { partition: 2, from: 0 })),
    ]);
    assert.deepEqual(
      h.source.calls.map((c) => [...c].sort()),
      [['a', 'b'], ['c']],
    );
    assert.deepEqual(
      [...p1.out, ...p2.out].map((e) => e.row.campaign),
      ['A', null, null, 'A', null],
    );
    assert.equal(await metric(h.metrics, 'weir_lookup_keys_total', { reason: 'shared' }), 2);
  });

  it('matches numeric keys against the text the source returns', async () => {
    const h = await harness();
    h.source.set('42', { name: 'Answer', budget: 1 });
    const res = await h.stage.process(records([42]));
    assert.equal(res.out[0]!.row.campaign, 'Answer');
    assert.deepEqual(h.source.calls, [[42]]);
  });
});

describe('lookup stage: cache', () => {
  it('serves cached rows and misses until their ttl, then asks again', async () => {
    const h = await harness({ cache: { ttl: '5m', negative_ttl: '30s' } });
    h.source.set('a', { name: 'Alpha', budget: 1 });
    await h.stage.process(records(['a', 'x']));
    assert.equal(h.source.calls.length, 1);
    await h.stage.process(records(['a', 'x']));
    assert.equal(h.source.calls.length, 1, 'both the row and the miss are cached');
    h.clock.advance(31_000);
    await h.stage.process(records(['a', 'x']));
    assert.deepEqual(h.source.calls.at(-1), ['x'], 'the miss expired after negative_ttl');
    h.source.set('a', { name: 'Alpha 2', budget: 1 });
    h.clock.advance(270_000);
    const res = await h.stage.process(records(['a']));
    assert.deepEqual(h.source.calls.at(-1), ['a'], 'the row expired after ttl');
    assert.equal(res.out[0]!.row.campaign, 'Alpha 2');
  });

  it('is bounded in entries and bytes, least recently used first out', () => {
    const clock = new FakeClock(0);
    const byEntries = new LookupCache(
      { maxEntries: 2, maxBytes: 1e9, ttlMs: 1000, negativeTtlMs: 1000 },
      clock,
    );
    byEntries.set('a', ['A']);
    byEntries.set('b', ['B']);
    byEntries.get('a');
    byEntries.set('c', ['C']);
    assert.equal(byEntries.size, 2);
    assert.deepEqual(byEntries.get('a'), ['A']);
    assert.equal(byEntries.get('b'), undefined, 'b was the least recently used');
    const one = entryBytes('k0', ['x'.repeat(100)]);
    const byBytes = new LookupCache(
      { maxEntries: 1000, maxBytes: one * 3, ttlMs: 1000, negativeTtlMs: 1000 },
      clock,
    );
    for (let i = 0; i < 10; i++) byBytes.set(`k${i}`, ['x'.repeat(100)]);
    assert.equal(byBytes.size, 3);
    assert.ok(byBytes.bytes <= one * 3);
    assert.deepEqual(byBytes.get('k9'), ['x'.repeat(100)]);
    assert.equal(byBytes.get('k0'), undefined);
    clock.advance(1000);
    assert.equal(byBytes.get('k9'), undefined, 'expired at ttl');
  });

  it('reports its size in the gauges', async () => {
    const h = await harness({ cache: { max_entries: 2 } });
    await h.stage.process(records(['a', 'b', 'c', 'd']));
    assert.equal(await metric(h.metrics, 'weir_lookup_cache_entries', { lookup: 'campaigns' }), 2);
    assert.ok((await metric(h.metrics, 'weir_lookup_cache_bytes', { lookup: 'campaigns' })) > 0);
  });
});

describe('lookup stage: misses and bad values', () => {
  it('on_miss null: fields null; a null key is a miss without a query', async () => {
    const h = await harness();
    const res = await h.stage.process(records([null, undefined]));
    assert.equal(h.source.calls.length, 0);
    assert.deepEqual(
      res.out.map((e) => e.row.campaign),
      [null, null],
    );
  });

  it('on_miss default: the defaults', async () => {
    const h = await harness({
      on_miss: 'default',
      defaults: { campaign: '(none)', budget: 0 },
    });
    const res = await h.stage.process(records(['zz']));
    assert.deepEqual(res.out[0]!.row, {
      event_id: res.out[0]!.row.event_id,
      ad_id: 'zz',
      campaign: '(none)',
      budget: 0,
    });
  });

  it('on_miss drop: dropped with reason lookup_miss', async () => {
    const h = await harness({ on_miss: 'drop' });
    h.source.set('a', { name: 'A', budget: 1 });
    const res = await h.stage.process(records(['a', 'zz', null]));
    assert.equal(res.out.length, 1);
    assert.deepEqual(
      res.dropped.map((d) => d.reason),
      ['lookup_miss', 'lookup_miss'],
    );
  });

  it('on_miss dead_letter: dead-lettered with reason lookup_miss naming the key', async () => {
    const h = await harness({ on_miss: 'dead_letter' });
    const res = await h.stage.process(records(['zz']));
    assert.equal(res.dead.length, 1);
    assert.equal(res.dead[0]!.reason, 'lookup_miss');
    assert.equal(res.dead[0]!.stage, 'campaigns');
    assert.match(res.dead[0]!.detail, /no row for key "zz" in the fake table dims/);
  });

  it('dead-letters a record whose key is an object, naming the field', async () => {
    const h = await harness();
    const res = await h.stage.process(records([{ nested: 1 }, 'a']));
    assert.equal(res.dead.length, 1);
    assert.equal(res.dead[0]!.reason, 'lookup_key');
    assert.match(res.dead[0]!.detail, /key field "ad_id" holds an object/);
    assert.deepEqual(h.source.calls, [['a']]);
  });

  it('dead-letters a record whose dimension value does not convert, naming field and column', async () => {
    const h = await harness();
    h.source.set('a', { name: 'A', budget: 'lots' });
    h.source.set('b', { name: 'B', budget: '3' });
    const res = await h.stage.process(records(['a', 'b']));
    assert.equal(res.out.length, 1);
    assert.equal(res.dead[0]!.reason, 'lookup_value');
    assert.match(
      res.dead[0]!.detail,
      /column "budget" of the row for key "a" does not convert: field "budget": expected number/,
    );
  });
});

describe('lookup stage: failures pause', () => {
  it('retries a failing source with the pipeline paused, then resumes with every record', async () => {
    let sleeps = 0;
    const source = new FakeSource();
    const h = await harness(
      {},
      {
        source,
        deps: {
          sleep: async () => {
            sleeps++;
            if (sleeps === 3) source.failWith = undefined;
            await new Promise((r) => setImmediate(r));
          },
        },
      },
    );
    h.source.set('a', { name: 'A', budget: 1 });
    h.source.failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      retriable: true,
    });
    const pending = h.stage.process(records(['a', 'a']));
    await new Promise((r) => setTimeout(r, 1));
    const res = await pending;
    assert.equal(h.source.failures, 3);
    assert.deepEqual(
      res.out.map((e) => e.row.campaign),
      ['A', 'A'],
    );
    const errors = h.logs.filter((l) => l.includes('"level":"error"'));
    assert.equal(errors.length, 1, 'one error line per outage, not one per retry');
    assert.match(errors[0]!, /pipeline paused: lookup campaigns cannot read the fake table dims/);
    assert.ok(h.logs.some((l) => l.includes('pipeline resumes')));
    assert.equal(await metric(h.metrics, 'weir_pipeline_paused', { reason: 'lookup' }), 0);
    assert.equal(await metric(h.metrics, 'weir_lookup_errors_total', { class: 'connection' }), 3);
    assert.deepEqual(h.stage.check(), { ok: true });
  });

  it('is not ready while paused, naming the lookup and the error; two rows for a key pause too', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let checked: { ok: boolean; reason?: string } | undefined;
    let pausedMetric = -1;
    const h: Harness = await harness(
      {},
      {
        deps: {
          sleep: async () => {
            if (!checked) {
              checked = h.stage.check();
              pausedMetric = await metric(h.metrics, 'weir_pipeline_paused', { reason: 'lookup' });
              await gate;
            }
          },
        },
      },
    );
    h.source.rows.set('a', [
      { id: 'a', name: 'A1', budget: 1 },
      { id: 'a', name: 'A2', budget: 2 },
    ]);
    const pending = h.stage.process(records(['a']));
    while (!checked) await new Promise((r) => setTimeout(r, 1));
    assert.equal(checked.ok, false);
    assert.match(checked.reason!, /lookup campaigns cannot read the fake table dims/);
    assert.match(checked.reason!, /more than one row for key "a"/);
    assert.equal(pausedMetric, 1);
    h.source.set('a', { name: 'A', budget: 1 });
    release();
    const res = await pending;
    assert.equal(res.out[0]!.row.campaign, 'A');
    assert.equal(
      await metric(h.metrics, 'weir_lookup_errors_total', { class: 'duplicate_key' }),
      1,
    );
  });

  it('keeps the consumer alive while waiting; closing ends the wait with an error', async () => {
    let kept = 0;
    const h = await harness(
      {},
      {
        deps: {
          sleep: (_ms, signal) => new Promise((r) => signal?.addEventListener('abort', r)),
          keepAlive: () => kept++,
        },
      },
    );
    h.source.failWith = Object.assign(new Error('down'), { retriable: true });
    const pending = h.stage.process(records(['a']));
    await new Promise((r) => setTimeout(r, 1100));
    assert.ok(kept >= 1, 'the consumer heartbeats while the batch is held');
    await h.stage.close();
    await assert.rejects(pending, /was closed while waiting/);
    assert.equal(h.source.closed, true);
    const after = kept;
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(kept, after, 'no heartbeat once closed');
  });
});

describe('lookup stage: start checks', () => {
  it('names the field, the column, both types and the fix when a column does not fit', async () => {
    const source = new FakeSource();
    source.columns = [
      { name: 'id', type: 'int4' },
      { name: 'name', type: 'jsonb' },
    ];
    await assert.rejects(harness({}, { source }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(
        err.message,
        /field "campaign" is declared string, but column "name" is jsonb, which does not convert to string \(fix: declare the field as json/,
      );
      assert.match(
        err.message,
        /field "budget": column "budget" does not exist \(fix: set fields.budget.column to one of id, name\)/,
      );
      return true;
    });
  });

  it('names a missing key column', async () => {
    const source = new FakeSource();
    source.columns = source.columns.filter((c) => c.name !== 'id');
    await assert.rejects(harness({}, { source }), /the key column "id" does not exist/);
  });
});

describe('lookup stage: preload', () => {
  it('loads the table at start: hits and misses without a query; refresh picks up changes', async () => {
    const source = new FakeSource();
    source.set('a', { name: 'A', budget: 1 });
    const h = await harness({ preload: { refresh: '1h' } }, { source });
    assert.equal(source.allCalls, 1);
    const res = await h.stage.process(records(['a', 'b']));
    assert.equal(source.calls.length, 0);
    assert.deepEqual(
      res.out.map((e) => e.row.campaign),
      ['A', null],
    );
    source.set('b', { name: 'B', budget: 2 });
    await h.stage.refresh();
    const again = await h.stage.process(records(['b']));
    assert.equal(again.out[0]!.row.campaign, 'B');
    source.failWith = new Error('down');
    await h.stage.refresh();
    const stale = await h.stage.process(records(['b']));
    assert.equal(stale.out[0]!.row.campaign, 'B', 'a failed refresh keeps the rows loaded');
    await h.stage.close();
  });

  it('refuses a table larger than the cache bounds at start', async () => {
    const source = new FakeSource();
    for (let i = 0; i < 5; i++) source.set(`k${i}`, { name: 'n', budget: 1 });
    await assert.rejects(
      harness({ preload: {}, cache: { max_entries: 3 } }, { source }),
      /the preloaded table has 5 rows .* more than cache.max_entries \(3\)/,
    );
  });
});

describe('lookup stage: memo (exactly-once with changing dimensions)', () => {
  it('a replay after the dimension changed uses the first attempt\u2019s rows, however it is cut', async () => {
    const first = await harness();
    first.source.set('a', { name: 'A v1', budget: 1 });
    first.source.set('b', { name: 'B v1', budget: 2 });
    // The original rounds: offsets 100-104 and 105-109.
    await first.stage.process(records(['a', 'b', 'x', 'a', 'b'], { from: 100 }));
    await first.stage.process(records(['b', 'a', 'b', 'a', 'x'], { from: 105 }));
    const captured: unknown = JSON.parse(
      JSON.stringify(first.stage.memo.capture('events', 0, '100', '109')),
    );

    // The dimension changes; the agent restarts with an empty cache.
    const source = new FakeSource();
    source.set('a', { name: 'A v2', budget: 10 });
    source.set('b', { name: 'B v2', budget: 20 });
    source.set('x', { name: 'X v2', budget: 30 });
    const replay = await harness({}, { source });
    replay.stage.memo.restore('events', 0, captured);
    // Cut differently: 100-102, 103-107, 108-111 (110, 111 are new records).
    const out: Envelope[] = [];
    out.push(...(await replay.stage.process(records(['a', 'b', 'x'], { from: 100 }))).out);
    out.push(
      ...(await replay.stage.process(records(['a', 'b', 'b', 'a', 'b'], { from: 103 }))).out,
    );
    out.push(...(await replay.stage.process(records(['a', 'x', 'a', 'x'], { from: 108 }))).out);
    assert.deepEqual(
      out.map((e) => `${e.source.offset}:${String(e.row.campaign)}`),
      [
        '100:A v1',
        '101:B v1',
        '102:null',
        '103:A v1',
        '104:B v1',
        '105:B v1',
        '106:A v1',
        '107:B v1',
        '108:A v1',
        '109:null',
        '110:A v2',
        '111:X v2',
      ],
    );
    // Only the new records' keys were asked.
    assert.deepEqual(source.calls.flat().sort(), ['a', 'x']);
    // And a replay of the replay carries the same rows again, cut once more differently.
    const again: unknown = JSON.parse(
      JSON.stringify(replay.stage.memo.capture('events', 0, '100', '109')),
    );
    const third = await harness({}, { source });
    third.stage.memo.restore('events', 0, again);
    const asked = source.calls.length;
    const res = await third.stage.process(
      records(['a', 'b', 'x', 'a', 'b', 'b', 'a', 'b', 'a', 'x'], { from: 100 }),
    );
    assert.deepEqual(
      res.out.map((e) => `${e.source.offset}:${String(e.row.campaign)}`),
      out.slice(0, 10).map((e) => `${e.source.offset}:${String(e.row.campaign)}`),
    );
    assert.equal(source.calls.length, asked, 'the third agent asked nothing');
  });

  it('keeps two results of one key within a range apart (rounds that saw different rows)', async () => {
    const first = await harness({ cache: { ttl: '1s' } });
    first.source.set('a', { name: 'A v1', budget: 1 });
    await first.stage.process(records(['a', 'a'], { from: 0 }));
    first.source.set('a', { name: 'A v2', budget: 1 });
    first.clock.advance(2000);
    await first.stage.process(records(['a', 'a'], { from: 2 }));
    const captured = first.stage.memo.capture('events', 0, '0', '3');

    const source = new FakeSource();
    source.set('a', { name: 'A v3', budget: 1 });
    const replay = await harness({}, { source });
    replay.stage.memo.restore('events', 0, JSON.parse(JSON.stringify(captured)));
    const res = await replay.stage.process(records(['a', 'a', 'a', 'a'], { from: 0 }));
    assert.deepEqual(
      res.out.map((e) => e.row.campaign),
      ['A v1', 'A v1', 'A v2', 'A v2'],
    );
    assert.equal(source.calls.length, 0);
    assert.deepEqual(replay.stage.memo.capture('events', 0, '0', '3'), captured);
  });

  it('captures only the rounds of the range; commits prune the journal, a revoke drops it', async () => {
    const h = await harness();
    h.source.set('a', { name: 'A', budget: 1 });
    await h.stage.process(records(['a'], { from: 0, partition: 1 }));
    await h.stage.process(records(['a', 'zz'], { from: 1, partition: 1 }));
    await h.stage.process(records(['a'], { from: 0, partition: 2 }));
    const memo = h.stage.memo.capture('events', 1, '1', '2') as {
      rounds: unknown[];
      values: unknown[];
    };
    assert.deepEqual(memo.rounds, [
      [
        '1',
        '2',
        [
          ['a', 0],
          ['zz', -1],
        ],
      ],
    ]);
    assert.deepEqual(memo.values, [['A', 1]]);
    h.stage.onCommit('events', 1, '1');
    assert.equal(
      (h.stage.memo.capture('events', 1, '0', '9') as { rounds: unknown[] }).rounds.length,
      1,
    );
    h.stage.onCommit('events', 1, '3');
    assert.equal(
      (h.stage.memo.capture('events', 1, '0', '9') as { rounds: unknown[] }).rounds.length,
      0,
    );
    h.stage.onRevoke('events', 2);
    assert.equal(
      (h.stage.memo.capture('events', 2, '0', '9') as { rounds: unknown[] }).rounds.length,
      0,
    );
  });

  it('refuses memo data it did not capture', async () => {
    const h = await harness();
    assert.throws(() => h.stage.memo.restore('events', 0, { nope: true }), /not one this version/);
  });
});
