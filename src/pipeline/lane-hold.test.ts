// A lane with a stage that holds records back (the join): batches are cut only where every record
// before the cut is decided, rows come out in offset order whenever they were decided, and a
// replayed batch is cut at exactly its recorded end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../core/clock.ts';
import type { DeadLetter, Envelope, Row, SourceRecord, StageOutput } from '../core/record.ts';
import { createParser } from '../stages/parse.ts';
import type { Stage } from '../stages/stage.ts';
import { sourceRecord } from '../stages/testkit.ts';
import { PartitionLedger } from '../state/ledger.ts';
import { MemoryStore } from '../state/memory-store.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import type { InsertBatch } from '../sink/clickhouse/sink.ts';
import { PartitionLane, type LaneDeps } from './lane.ts';

const rec = (offset: number, id: string): SourceRecord =>
  sourceRecord({ id }, { topic: 't', partition: 0, offset: String(offset) });

/** Holds records whose id starts with "h" until `decide(offset)`. */
class Holder implements Stage {
  readonly name = 'join';
  readonly kind = 'join';
  readonly held = new Map<number, Envelope>();
  readonly commits: string[] = [];
  private release: ((out: StageOutput) => void) | undefined;
  /** Decide held records at once, before process returns (another lane's records decided them). */
  decideAtOnce = false;
  /** Process waits for this after deciding: the lane has not taken the fetch in yet. */
  gate: Promise<void> | undefined;

  async process(batch: Envelope[]): Promise<StageOutput> {
    const out: Envelope[] = [];
    for (const env of batch)
      if (String(env.row.id).startsWith('h')) this.held.set(Number(env.source.offset), env);
      else out.push(env);
    if (this.decideAtOnce) for (const offset of [...this.held.keys()]) this.decide(offset);
    await this.gate;
    return { out, dropped: [], dead: [] };
  }

  heldFrom(): string | undefined {
    const offsets = [...this.held.keys()];
    return offsets.length ? String(Math.min(...offsets)) : undefined;
  }

  setRelease(_t: string, _p: number, fn: (out: StageOutput) => void): void {
    this.release = fn;
  }

  onCommit(_t: string, _p: number, next: string): void {
    this.commits.push(next);
  }

  /** Decides a held record: two rows for it (one-to-many). */
  decide(offset: number): void {
    const env = this.held.get(offset)!;
    this.held.delete(offset);
    this.release!({
      out: [env, { source: env.source, row: { id: `${String(env.row.id)}'` } }],
      dropped: [],
      dead: [],
    });
  }
}

function setup(ledger?: PartitionLedger) {
  const holder = new Holder();
  const batches: string[][] = [];
  const tokens: (string | undefined)[] = [];
  const commits: string[] = [];
  const deps: LaneDeps = {
    pipeline: 'p',
    topic: 't',
    partition: 0,
    stages: [createParser({ id: 'string' }), holder],
    sink: {
      serialize: (row: Row) => String(row.id),
      insert: (b: InsertBatch, token?: string): Promise<DeadLetter[]> => {
        batches.push([...b.lines]);
        tokens.push(token);
        return Promise.resolve([]);
      },
    },
    deadLetters: { write: () => Promise.resolve(), close: () => Promise.resolve() },
    commit: (_t, _p, offset) => {
      commits.push(offset);
      return Promise.resolve();
    },
    limits: { max_rows: 100, max_bytes: 1_000_000, max_delay_ms: 60_000 },
    metrics: createMetrics(new Registry(), { defaults: false }),
    logger: createLogger({ level: 'silent' }),
    clock: new FakeClock(1000),
    ledger,
    tokenFor: (a, b) => `tok:${a}-${b}`,
    onAccepted: () => undefined,
    onSettled: () => undefined,
    onFatal: (err) => {
      throw err;
    },
  };
  return { lane: new PartitionLane(deps), holder, batches, tokens, commits };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('PartitionLane with held records', () => {
  it('cuts only before the first held record, and puts late rows back in offset order', async () => {
    const t = setup();
    await t.lane.accept([rec(0, 'a')]);
    await t.lane.accept([rec(1, 'h1'), rec(2, 'b')]);
    await t.lane.accept([rec(3, 'c')]);
    t.lane.seal();
    await settle();
    assert.deepEqual(t.batches, [['a']], 'only the chunk before the held record');
    assert.deepEqual(t.commits, ['1']);
    assert.deepEqual(t.holder.commits, ['1'], 'the holder hears of the commit');
    t.holder.decide(1); // the pending seal happens now
    await settle();
    assert.deepEqual(t.batches, [['a'], ['h1', "h1'", 'b', 'c']]);
    assert.deepEqual(t.commits, ['1', '4']);
  });

  it('keeps a batch open while its only chunk holds a record, and drains what is decided', async () => {
    const t = setup();
    await t.lane.accept([rec(0, 'h0'), rec(1, 'x')]);
    await t.lane.drain();
    assert.deepEqual(t.batches, []);
    assert.deepEqual(t.commits, []);
    assert.equal(t.lane.isIdle, false, 'the held records are still in flight');
    t.holder.decide(0);
    await t.lane.drain();
    assert.deepEqual(t.batches, [['h0', "h0'", 'x']]);
    assert.deepEqual(t.commits, ['2']);
  });

  it('re-cuts a replayed batch exactly at its recorded end, however the records arrive', async () => {
    const store = new MemoryStore();
    const before = new PartitionLedger(store, 'k');
    await before.load();
    await before.begin('5', '7', 'tok:5-7'); // the crash came after this
    const ledger = new PartitionLedger(store, 'k');
    await ledger.load();
    const t = setup(ledger);
    // One fetch spans the replayed batch and what follows; a held record inside it.
    await t.lane.accept([rec(5, 'a'), rec(6, 'h6'), rec(7, 'b'), rec(8, 'c'), rec(9, 'd')]);
    t.lane.seal();
    await settle();
    assert.deepEqual(t.batches, [], 'not before the held record is decided');
    t.holder.decide(6);
    await settle();
    assert.deepEqual(t.batches, [['a', 'h6', "h6'", 'b']]);
    assert.deepEqual(t.tokens, ['tok:5-7'], 'the same token as before the crash');
    await t.lane.drain();
    assert.deepEqual(t.batches.at(-1), ['c', 'd']);
    assert.deepEqual(t.commits, ['8', '10']);
  });

  it('keeps rows decided while their fetch is still on its way in with that fetch', async () => {
    const t = setup();
    await t.lane.accept([rec(0, 'a')]);
    await t.lane.drain();
    t.holder.decideAtOnce = true;
    await t.lane.accept([rec(1, 'h1'), rec(2, 'b')]);
    await t.lane.drain();
    assert.deepEqual(t.batches, [['a'], ['h1', "h1'", 'b']]);
    assert.deepEqual(t.commits, ['1', '3']);
  });

  it('does not seal rows released for a fetch not yet in the batch with the chunks before it', async () => {
    const t = setup();
    await t.lane.accept([rec(0, 'a')]);
    t.holder.decideAtOnce = true;
    let open = (): void => undefined;
    t.holder.gate = new Promise<void>((r) => (open = r));
    const taking = t.lane.accept([rec(1, 'h1'), rec(2, 'b')]);
    await settle();
    t.lane.seal(); // the fetch of h1 is not in the batch yet: only chunk 0 goes
    await settle();
    assert.deepEqual(t.batches, [['a']]);
    open();
    await taking;
    await t.lane.drain();
    assert.deepEqual(t.batches, [['a'], ['h1', "h1'", 'b']]);
    assert.deepEqual(t.commits, ['1', '3']);
  });
});
