// Exactly-once with values from the outside world: a batch whose rows carry looked-up values and
// an ingest time is recorded as pending with its memo; after a crash the dimension and the clock
// have changed, Kafka redelivers in differently cut fetches, and the replayed batch must carry
// exactly the rows of its first attempt (same token, same bytes), while later batches see the new
// values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../core/clock.ts';
import type { DeadLetter, Envelope, Row, SourceRecord, StageOutput } from '../core/record.ts';
import type { InsertBatch } from '../sink/clickhouse/sink.ts';
import { createIngestTime } from '../stages/map.ts';
import { createParser } from '../stages/parse.ts';
import type { Stage } from '../stages/stage.ts';
import { sourceRecord } from '../stages/testkit.ts';
import { MEMO_INLINE_BYTES, PartitionLedger } from '../state/ledger.ts';
import { MemoryStore } from '../state/memory-store.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { PartitionLane, type LaneSink } from './lane.ts';

class Crash extends Error {}

interface Round {
  first: number;
  last: number;
  results: Record<string, string>;
}

/** A lookup against `dim` with the memo contract: rounds journaled, a restored range replayed. */
function fakeLookup(dim: Map<string, string>, pad = 0): Stage {
  let journal: Round[] = [];
  let replay: Round[] = [];
  return {
    name: 'lookup',
    kind: 'lookup',
    process(batch: Envelope[]): StageOutput {
      const first = Number(batch[0]!.source.offset);
      const round: Round = { first, last: Number(batch.at(-1)!.source.offset), results: {} };
      for (const env of batch) {
        const key = String(env.row.k);
        const o = Number(env.source.offset);
        const old = replay.find((r) => r.first <= o && o <= r.last);
        const value = old ? old.results[key]! : `${dim.get(key)}${'.'.repeat(pad)}`;
        round.results[key] = value;
        env.row.name = value;
      }
      journal.push(round);
      return { out: batch, dropped: [], dead: [] };
    },
    memo: {
      capture: (_t, _p, from, to) =>
        journal.filter((r) => r.last >= Number(from) && r.first <= Number(to)),
      restore: (_t, _p, data) => (replay = data as Round[]),
    },
    onCommit: (_t, _p, next) => (journal = journal.filter((r) => r.last >= Number(next))),
  };
}

const records = (from: number, to: number): SourceRecord[] => {
  const out: SourceRecord[] = [];
  for (let o = from; o <= to; o++)
    out.push(
      sourceRecord(
        { id: `r${o}`, k: `k${o % 3}` },
        { topic: 't', partition: 0, offset: String(o) },
      ),
    );
  return out;
};

/** What survives a crash: the ledger's store, the table (by token), the committed offset. */
class World {
  // Values as big as a NATS bucket of 64 KiB takes: a memo over 16 KiB goes to parts.
  store = new MemoryStore(64 * 1024);
  table = new Map<string, string[]>();
  /** Every insert attempt's lines, by token, in order (also those that crashed). */
  attempts: { token: string; lines: string[] }[] = [];
  committed = 0;
}

async function run(
  world: World,
  o: {
    dim: Map<string, string>;
    now: number;
    fetch: number;
    upTo: number;
    crashAtInsert?: number;
    pad?: number;
  },
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
  const parse = createParser({ id: 'string', k: 'string' });
  const fields = [
    { name: 'id', type: { kind: 'string' as const }, nullable: false },
    { name: 'k', type: { kind: 'string' as const }, nullable: false },
  ];
  const lane = new PartitionLane({
    pipeline: 'p',
    topic: 't',
    partition: 0,
    stages: [
      parse,
      fakeLookup(o.dim, o.pad),
      createIngestTime('stamp', 'processed_at', fields).stage,
    ],
    sink,
    deadLetters: { write: () => Promise.resolve(), close: () => Promise.resolve() },
    commit: (_t, _p, offset) => {
      if (!dead) world.committed = Number(offset);
      return Promise.resolve();
    },
    ledger,
    replayMemo,
    tokenFor: (a, b) => `tok:${a}-${b}`,
    limits: { max_rows: 6, max_bytes: 1e9, max_delay_ms: 60_000 },
    metrics: createMetrics(new Registry(), { defaults: false }),
    logger: createLogger({ level: 'silent' }),
    clock: new FakeClock(o.now),
    onAccepted: () => undefined,
    onSettled: () => undefined,
    onFatal: () => undefined,
  });
  for (let at = world.committed; at <= o.upTo && !dead; at += o.fetch) {
    await lane.accept(records(at, Math.min(at + o.fetch - 1, o.upTo)));
  }
  if (!dead) await lane.drain();
  return dead ? 'crashed' : 'done';
}

describe('exactly-once with lookups and ingest times (the batch memo)', () => {
  for (const pad of [0, MEMO_INLINE_BYTES / 4]) {
    it(`a replay after the dimension and the clock changed carries the first attempt's rows${pad ? ' (a memo too big to be inline)' : ''}`, async () => {
      const world = new World();
      const before = new Map([
        ['k0', 'alpha'],
        ['k1', 'beta'],
        ['k2', 'gamma'],
      ]);
      // Fetches of 3 (batches of 6 rows): the second batch (6-11) is killed before its insert.
      assert.equal(
        await run(world, { dim: before, now: 1000, fetch: 3, upTo: 17, crashAtInsert: 1, pad }),
        'crashed',
      );
      assert.equal(world.committed, 6);
      const first = world.attempts.find((a) => a.token === 'tok:6-11')!;
      assert.ok(first.lines.every((l) => /"processed_at":1000/.test(l)));
      // The dimension changes, time moves on, and Kafka redelivers in fetches of 4.
      const after = new Map([
        ['k0', 'ALPHA'],
        ['k1', 'BETA'],
        ['k2', 'GAMMA'],
      ]);
      assert.equal(await run(world, { dim: after, now: 9000, fetch: 4, upTo: 17, pad }), 'done');
      const replayed = world.attempts.filter((a) => a.token === 'tok:6-11');
      assert.equal(replayed.length, 2);
      assert.deepEqual(
        replayed[1]!.lines,
        first.lines,
        'the replay is byte for byte the first attempt',
      );
      // Past the replayed batch, the new values and the new time.
      const later = [...world.table.entries()].filter(([t]) => t !== 'tok:0-5' && t !== 'tok:6-11');
      assert.ok(later.length > 0);
      for (const [, lines] of later)
        for (const l of lines) {
          assert.match(l, /"name":"(ALPHA|BETA|GAMMA)/);
          assert.match(l, /"processed_at":9000/);
        }
      assert.equal(world.committed, 18);
      if (pad > 0) {
        // The big memo's parts are removed once the batch is done: only the ledger key is left.
        assert.equal(world.store.size, 1);
      }
    });
  }

  it('a batch killed before its ledger entry is replayed with fresh values (nothing of it landed)', async () => {
    const world = new World();
    const before = new Map([
      ['k0', 'a'],
      ['k1', 'b'],
      ['k2', 'c'],
    ]);
    assert.equal(await run(world, { dim: before, now: 1, fetch: 6, upTo: 5 }), 'done');
    const after = new Map([
      ['k0', 'x'],
      ['k1', 'y'],
      ['k2', 'z'],
    ]);
    assert.equal(await run(world, { dim: after, now: 2, fetch: 6, upTo: 11 }), 'done');
    assert.match(world.table.get('tok:6-11')!.join(''), /"name":"x"/);
    assert.match(world.table.get('tok:0-5')!.join(''), /"name":"a"/);
  });
});
