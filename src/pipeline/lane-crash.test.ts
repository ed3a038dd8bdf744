// The ledger's crash matrix: a lane is "killed" at each step of a batch's delivery, a new lane is
// started from what was durable (ledger, committed offset, table), Kafka redelivers from the
// committed offset, and the table must end with every row exactly once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../core/clock.ts';
import type { DeadLetter, Row, SourceRecord } from '../core/record.ts';
import type { InsertBatch } from '../sink/clickhouse/sink.ts';
import { createParser } from '../stages/parse.ts';
import { sourceRecord } from '../stages/testkit.ts';
import { PartitionLedger, type LedgerEntry, type RevisionedStore } from '../state/ledger.ts';
import { MemoryStore } from '../state/memory-store.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { PartitionLane, type LaneSink } from './lane.ts';

class Crash extends Error {}

type Step = 'before-insert' | 'after-insert' | 'after-ledger' | 'after-dead-letters' | 'none';

/** Durable world that survives a crash: a table that drops repeated tokens, the DLQ, offsets. */
class World {
  rows: string[] = [];
  tokens = new Set<string>();
  letters: string[] = [];
  committed = 0;
  store = new MemoryStore();
}

const records = (from: number, to: number): SourceRecord[] => {
  const out: SourceRecord[] = [];
  for (let o = from; o <= to; o++)
    out.push(
      sourceRecord(o % 7 === 3 ? 'not json' : { id: `r${o}` }, {
        topic: 't',
        partition: 0,
        offset: String(o),
      }),
    );
  return out;
};

async function runLane(world: World, crashAt: Step, upTo: number): Promise<'crashed' | 'done'> {
  // A crash is simulated as sudden death: from that moment nothing this "process" does reaches
  // the durable world (no insert, no dead letter, no ledger write, no commit).
  let dead = false;
  const crash = (step: Step) => {
    if (!dead && step === crashAt) dead = true;
  };
  const store: RevisionedStore = {
    get: (key) => world.store.get(key),
    create: (key, value) =>
      dead ? Promise.reject(new Crash('dead')) : world.store.create(key, value),
    update: async (key, value, rev) => {
      if (dead) throw new Crash('dead');
      const r = await world.store.update(key, value, rev);
      if ((JSON.parse(new TextDecoder().decode(value)) as LedgerEntry).pending === null)
        crash('after-ledger');
      return r;
    },
  };
  const ledger = new PartitionLedger(store, 'k');
  await ledger.load();
  const sink: LaneSink = {
    serialize: (row: Row) => `${String(row.id)}`,
    insert: (batch: InsertBatch, token?: string) => {
      crash('before-insert');
      if (dead) return Promise.reject(new Crash('dead'));
      if (token === undefined) throw new Error('a token is expected with the ledger');
      if (!world.tokens.has(token)) {
        world.tokens.add(token);
        world.rows.push(...batch.lines);
      }
      crash('after-insert');
      return Promise.resolve([] as DeadLetter[]);
    },
  };
  let fatal: unknown;
  const lane = new PartitionLane({
    pipeline: 'p',
    topic: 't',
    partition: 0,
    stages: [createParser({ id: 'string' })],
    sink,
    deadLetters: {
      write: (l) => {
        if (dead) return Promise.reject(new Crash('dead'));
        world.letters.push(...l.map((d) => d.source.offset));
        if (l.length > 0) crash('after-dead-letters');
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    },
    commit: (_t, _p, offset) => {
      if (!dead) world.committed = Number(offset);
      return Promise.resolve();
    },
    ledger,
    tokenFor: (a, b) => `tok:${a}-${b}`,
    limits: { max_rows: 4, max_bytes: 1e9, max_delay_ms: 60_000 },
    metrics: createMetrics(new Registry(), { defaults: false }),
    logger: createLogger({ level: 'silent' }),
    clock: new FakeClock(0),
    onAccepted: () => undefined,
    onSettled: () => undefined,
    onFatal: (err) => (fatal = err),
  });
  // Kafka redelivers from the committed offset, in fetches of 5.
  for (let o = world.committed; o <= upTo && !dead; o += 5) {
    await lane.accept(records(o, Math.min(o + 4, upTo)));
    await lane.drain();
  }
  if (fatal && !dead) throw fatal as Error;
  return dead ? 'crashed' : 'done';
}

const expectedRows = (upTo: number) =>
  records(0, upTo)
    .filter((r) => Number(r.offset) % 7 !== 3)
    .map((r) => `r${r.offset}`);

describe('exactly-once through crashes (lane + ledger)', () => {
  const steps: Step[] = ['before-insert', 'after-insert', 'after-ledger', 'after-dead-letters'];
  for (const step of steps) {
    it(`crash ${step}: every row once, every dead letter once`, async () => {
      const world = new World();
      assert.equal(await runLane(world, step, 29), 'crashed');
      assert.equal(await runLane(world, 'none', 29), 'done');
      assert.deepEqual([...world.rows].sort(), expectedRows(29).sort());
      assert.equal(world.committed, 30);
      // Dead letters are at-least-once only for a crash between their write and the ledger's
      // note of it; everywhere else each is sent once.
      const unique = new Set(world.letters);
      assert.deepEqual([...unique].sort(), ['10', '17', '24', '3'].sort());
      if (step !== 'after-dead-letters') assert.equal(world.letters.length, unique.size);
    });
  }

  it('crashes at every batch in turn, then finishes exactly', async () => {
    const world = new World();
    for (const step of ['after-insert', 'after-ledger', 'before-insert', 'after-insert'] as Step[])
      await runLane(world, step, 59);
    await runLane(world, 'none', 59);
    assert.deepEqual([...world.rows].sort(), expectedRows(59).sort());
  });

  it('a rebalance that moves the partition to a new owner mid-batch fences the old one', async () => {
    const world = new World();
    const old = new PartitionLedger(world.store, 'k');
    await old.load();
    await old.begin('0', '3', 'tok:0-3');
    // The new owner loads the ledger, replays the pending batch and completes it.
    assert.equal(await runLane(world, 'none', 9), 'done');
    // The old owner wakes up and tries to complete its batch: compare-and-set refuses.
    await assert.rejects(old.complete('3'), /another writer/);
    assert.deepEqual([...world.rows].sort(), expectedRows(9).sort());
  });
});
