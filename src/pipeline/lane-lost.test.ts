// A partition taken by another agent before this one hears of the rebalance: the other agent's
// ledger write makes this lane's next ledger write conflict. The lane must report the partition
// lost (the pipeline abandons it, uncommitted) rather than fail the whole pipeline, and must not
// commit or insert anything past the conflict.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../core/clock.ts';
import type { DeadLetter, Row } from '../core/record.ts';
import { createParser } from '../stages/parse.ts';
import { sourceRecord } from '../stages/testkit.ts';
import { LedgerConflictError, PartitionLedger } from '../state/ledger.ts';
import { MemoryStore } from '../state/memory-store.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { PartitionLane } from './lane.ts';

async function conflictedLane(withOnLost: boolean) {
  const store = new MemoryStore();
  const mine = new PartitionLedger(store, 'k', 'this-agent');
  await mine.load();
  const seen = { lost: [] as unknown[], fatal: [] as unknown[], inserts: 0, commits: 0 };
  const lane = new PartitionLane({
    pipeline: 'p',
    topic: 't',
    partition: 0,
    stages: [createParser({ id: 'string' })],
    sink: {
      serialize: (row: Row) => JSON.stringify(row),
      insert: () => {
        seen.inserts++;
        return Promise.resolve([] as DeadLetter[]);
      },
    },
    deadLetters: { write: () => Promise.resolve(), close: () => Promise.resolve() },
    commit: () => {
      seen.commits++;
      return Promise.resolve();
    },
    ledger: mine,
    tokenFor: (a, b) => `tok:${a}-${b}`,
    limits: { max_rows: 2, max_bytes: 1e9, max_delay_ms: 60_000 },
    metrics: createMetrics(new Registry(), { defaults: false }),
    logger: createLogger({ level: 'silent' }),
    clock: new FakeClock(0),
    onAccepted: () => undefined,
    onSettled: () => undefined,
    onFatal: (err) => seen.fatal.push(err),
    ...(withOnLost ? { onLost: (err: LedgerConflictError) => seen.lost.push(err) } : {}),
  });
  // The new owner loads the ledger and begins its own batch first.
  const theirs = new PartitionLedger(store, 'k', 'other-agent');
  await theirs.load();
  await theirs.begin('0', '1', 'tok:0-1');
  const rec = (o: number) =>
    sourceRecord({ id: `r${o}` }, { topic: 't', partition: 0, offset: String(o) });
  await lane.accept([rec(0), rec(1)]);
  await lane.drain();
  return seen;
}

describe('a lane whose ledger another agent wrote', () => {
  it('reports the partition lost, inserts and commits nothing', async () => {
    const seen = await conflictedLane(true);
    assert.equal(seen.lost.length, 1);
    assert.ok(seen.lost[0] instanceof LedgerConflictError);
    assert.match(String((seen.lost[0] as Error).message), /changed by another writer/);
    assert.deepEqual(seen.fatal, []);
    assert.equal(seen.inserts, 0);
    assert.equal(seen.commits, 0);
  });

  it('without a handler for a lost partition, the conflict fails the pipeline', async () => {
    const seen = await conflictedLane(false);
    assert.equal(seen.fatal.length, 1);
    assert.ok(seen.fatal[0] instanceof LedgerConflictError);
  });
});
