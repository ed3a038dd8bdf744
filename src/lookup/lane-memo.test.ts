// The real lookup stage in a real partition lane with the batch ledger: a batch killed before its
// insert is replayed, after the dimension changed and with fetches cut differently, byte for byte
// as its first attempt; batches after it carry the new rows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../core/clock.ts';
import type { DeadLetter, Row, SourceRecord } from '../core/record.ts';
import { lookupSchema } from '../config/schema.ts';
import { PartitionLane, type LaneSink } from '../pipeline/lane.ts';
import type { InsertBatch } from '../sink/clickhouse/sink.ts';
import { createParser } from '../stages/parse.ts';
import { sourceRecord } from '../stages/testkit.ts';
import { PartitionLedger } from '../state/ledger.ts';
import { MemoryStore } from '../state/memory-store.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import type { DimRow, DimensionSource, KeyValue } from './source.ts';
import { LookupStage } from './stage.ts';

class Crash extends Error {}

/** A dimension table in memory: key -> name. */
function source(dim: Map<string, string>): DimensionSource & { asked: number } {
  return {
    kind: 'memory',
    where: 'the memory table',
    asked: 0,
    connect: () =>
      Promise.resolve([
        { name: 'k', type: 'text' },
        { name: 'name', type: 'text' },
      ]),
    fetch(keys: readonly KeyValue[]): Promise<DimRow[]> {
      this.asked++;
      return Promise.resolve(
        keys.filter((k) => dim.has(String(k))).map((k) => ({ k, name: dim.get(String(k)) })),
      );
    },
    fetchAll: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
}

const records = (from: number, to: number): SourceRecord[] => {
  const out: SourceRecord[] = [];
  for (let o = from; o <= to; o++)
    out.push(
      sourceRecord(
        { id: `r${o}`, k: `k${o % 4}` },
        { topic: 't', partition: 0, offset: String(o) },
      ),
    );
  return out;
};

class World {
  store = new MemoryStore();
  table = new Map<string, string[]>();
  attempts: { token: string; lines: string[] }[] = [];
  committed = 0;
}

async function run(
  world: World,
  o: { dim: Map<string, string>; fetch: number; upTo: number; crashAtInsert?: number },
): Promise<'crashed' | 'done'> {
  const ledger = new PartitionLedger(world.store, 'k');
  await ledger.load();
  const replayMemo = ledger.current.pending ? await ledger.pendingMemo() : undefined;
  let inserts = 0;
  let dead = false;
  const sink: LaneSink = {
    serialize: (row: Row) => JSON.stringify(row),
    insert: (batch: InsertBatch, token?: string) => {
      world.attempts.push({ token: token!, lines: batch.lines });
      if (o.crashAtInsert === inserts++) {
        dead = true;
        return Promise.reject(new Crash('killed before the insert'));
      }
      if (!world.table.has(token!)) world.table.set(token!, batch.lines);
      return Promise.resolve([] as DeadLetter[]);
    },
  };
  const fields = [
    { name: 'id', type: { kind: 'string' as const }, nullable: false },
    { name: 'k', type: { kind: 'string' as const }, nullable: false },
  ];
  const metrics = createMetrics(new Registry(), { defaults: false });
  const logger = createLogger({ level: 'silent' });
  const clock = new FakeClock(0);
  const cfg = lookupSchema.parse({
    name: 'names',
    from: { http: { url: 'http://127.0.0.1:1/unused' } },
    key: 'k',
    fields: { name: 'string' },
  });
  const lookup = new LookupStage('names', cfg, fields, source(o.dim), undefined, {
    pipeline: 'p',
    metrics,
    logger,
    clock,
  });
  await lookup.open();
  const lane = new PartitionLane({
    pipeline: 'p',
    topic: 't',
    partition: 0,
    stages: [createParser({ id: 'string', k: 'string' }), lookup],
    sink,
    deadLetters: { write: () => Promise.resolve(), close: () => Promise.resolve() },
    commit: (_t, _p, offset) => {
      if (!dead) world.committed = Number(offset);
      return Promise.resolve();
    },
    ledger,
    replayMemo,
    tokenFor: (a, b) => `tok:${a}-${b}`,
    limits: { max_rows: 8, max_bytes: 1e9, max_delay_ms: 60_000 },
    metrics,
    logger,
    clock,
    onAccepted: () => undefined,
    onSettled: () => undefined,
    onFatal: () => undefined,
  });
  for (let at = world.committed; at <= o.upTo && !dead; at += o.fetch)
    await lane.accept(records(at, Math.min(at + o.fetch - 1, o.upTo)));
  if (!dead) await lane.drain();
  await lookup.close();
  return dead ? 'crashed' : 'done';
}

describe('the lookup stage in a lane with the batch ledger', () => {
  it('replays a killed batch with the rows of its first attempt after the dimension changed', async () => {
    const world = new World();
    // k3 has no row at first: a miss is part of what the replay must repeat.
    const before = new Map([
      ['k0', 'alpha'],
      ['k1', 'beta'],
      ['k2', 'gamma'],
    ]);
    // Fetches of 4 (batches of 8 rows): the second batch (8-15) is killed before its insert.
    assert.equal(
      await run(world, { dim: before, fetch: 4, upTo: 23, crashAtInsert: 1 }),
      'crashed',
    );
    assert.equal(world.committed, 8);
    const first = world.attempts.find((a) => a.token === 'tok:8-15')!;
    assert.match(first.lines.join(''), /"name":"alpha"/);
    assert.match(first.lines.join(''), /"k":"k3","name":null/);

    const after = new Map([
      ['k0', 'ALPHA'],
      ['k1', 'BETA'],
      ['k2', 'GAMMA'],
      ['k3', 'DELTA'],
    ]);
    // Kafka redelivers in fetches of 3: the replayed range is cut differently.
    assert.equal(await run(world, { dim: after, fetch: 3, upTo: 23 }), 'done');
    const replayed = world.attempts.filter((a) => a.token === 'tok:8-15');
    assert.equal(replayed.length, 2);
    assert.deepEqual(
      replayed[1]!.lines,
      first.lines,
      'the replay is the first attempt, byte for byte',
    );
    const later = world.table.get('tok:16-23')!;
    assert.ok(later.length > 0);
    for (const l of later) assert.match(l, /"name":"(ALPHA|BETA|GAMMA|DELTA)"/);
    assert.equal(world.committed, 24);
  });
});
