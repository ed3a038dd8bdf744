// The join stage's telemetry around late events: counted, and one warning per side and outcome
// per interval naming the pipeline and how far behind they were.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../core/clock.ts';
import type { FieldInfo } from '../core/fields.ts';
import { envelope, sourceRecord } from '../stages/testkit.ts';
import { planKey } from '../state/keyed/key.ts';
import { MemoryKeyedStore } from '../state/keyed/memory-store.ts';
import { LogLimiter } from '../telemetry/log-limit.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { JoinStage } from './stage.ts';

const fields: FieldInfo[] = [
  { name: 'id', type: { kind: 'string' }, nullable: false },
  { name: 'ts', type: { kind: 'datetime' }, nullable: false },
];
const L = (id: string, ms: number, offset: number) =>
  envelope(
    { id, ts: ms },
    sourceRecord({}, { topic: 'orders', partition: 0, offset: String(offset) }),
  );

test('late left events of a left join: emitted, counted, warned once per interval', async () => {
  const logged: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'warn',
    destination: {
      write: (line: string) => logged.push(JSON.parse(line) as Record<string, unknown>),
    } as unknown as NodeJS.WritableStream,
  }).child({ pipeline: 'clicks' });
  const clock = new FakeClock(0);
  const metrics = createMetrics(new Registry(), { defaults: false });
  const stage = new JoinStage(
    {
      type: 'left',
      withinMs: 1000,
      latenessMs: 5000,
      match: 'all',
      idleMs: 10_000,
      leftTopic: 'orders',
      rightTopic: 'payments',
      leftKey: planKey('id', fields),
      rightKey: planKey('id', fields),
      leftTime: 'ts',
      rightTime: 'ts',
      outputs: [{ name: 'id', side: 'left', field: 'id' }],
      maxBufferRecords: 100,
      maxBufferBytes: 1 << 20,
      lateLeft: 'emit_unmatched',
    },
    {
      pipeline: 'clicks',
      store: new MemoryKeyedStore(),
      clock,
      metrics,
      logger,
      lateLogLimiter: new LogLimiter(10_000, clock),
    },
  );
  try {
    const out = await stage.process([L('a', 60_000, 0), L('b', 50_000, 1), L('c', 40_000, 2)]);
    assert.deepEqual(
      out.out.map((e) => e.row.id),
      ['b', 'c'],
    );
    assert.equal(logged.length, 1);
    assert.deepEqual(
      {
        pipeline: logged[0]!.pipeline,
        side: logged[0]!.side,
        outcome: logged[0]!.outcome,
        behind: logged[0]!.behind_ms,
      },
      { pipeline: 'clicks', side: 'left', outcome: 'emitted_unmatched', behind: 10_000 },
    );
    clock.advance(10_000);
    await stage.process([L('d', 30_000, 3)]);
    assert.equal(logged.length, 2);
    assert.equal(logged[1]!.suppressed, 1);
    assert.equal(logged[1]!.max_behind_ms, 30_000);
    const text = await metrics.registry.metrics();
    assert.match(text, /weir_join_records_total\{pipeline="clicks",side="left",reason="late"\} 3/);
  } finally {
    await stage.close();
  }
});
