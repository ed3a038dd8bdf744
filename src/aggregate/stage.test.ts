// The aggregation stage's telemetry: records by outcome, rows, open windows and state bytes, one
// warning per interval for late records, readiness above max_state_bytes; and its lane hooks
// exist only with an idle rule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../core/clock.ts';
import { MemoryKeyedStore } from '../state/keyed/memory-store.ts';
import { LogLimiter } from '../telemetry/log-limit.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { AggregateStage } from './stage.ts';
import { env, settings } from './testing.ts';

function setup(o: Parameters<typeof settings>[0] = {}) {
  const logged: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'warn',
    destination: {
      write: (line: string) => logged.push(JSON.parse(line) as Record<string, unknown>),
    } as unknown as NodeJS.WritableStream,
  }).child({ pipeline: 'clicks' });
  const clock = new FakeClock(0);
  const metrics = createMetrics(new Registry(), { defaults: false });
  const stage = new AggregateStage(settings({ latenessMs: 2, ...o }), {
    pipeline: 'clicks',
    store: new MemoryKeyedStore(),
    metrics,
    logger,
    clock,
    lateLogLimiter: new LogLimiter(10_000, clock),
  });
  const value = async (name: string, labels: Record<string, string> = {}) => {
    const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
    let sum = 0;
    for (const v of m?.values ?? [])
      if (Object.entries(labels).every(([k, x]) => v.labels[k] === x)) sum += v.value;
    return sum;
  };
  return { stage, logged, clock, value };
}

test('late records are counted and warned about once per interval; rows and gauges follow', async () => {
  const { stage, logged, clock, value } = setup();
  try {
    await stage.process([env(0, { ts: 1, g: 'a' }), env(1, { ts: 15, g: 'b' })]);
    await stage.process([env(2, { ts: 3, g: 'a' }), env(3, { ts: 4, g: 'a' })]);
    clock.advance(10_000);
    await stage.process([env(4, { ts: 2, g: 'a' })]);
    assert.equal(await value('weir_aggregate_records_total', { reason: 'aggregated' }), 2);
    assert.equal(await value('weir_aggregate_records_total', { reason: 'late' }), 3);
    assert.equal(await value('weir_aggregate_rows_total'), 1);
    assert.equal(await value('weir_aggregate_windows_open'), 1);
    assert.ok((await value('weir_aggregate_state_bytes')) > 0);
    assert.deepEqual(
      logged.map((l) => [l.pipeline, l.outcome, l.behind_ms, l.max_behind_ms, l.suppressed]),
      [
        ['clicks', 'dropped', 12, 12, undefined],
        ['clicks', 'dropped', 13, 13, 1],
      ],
    );
    assert.equal(stage.heldFrom, undefined);
    assert.deepEqual(stage.check(), { ok: true });
  } finally {
    await stage.close();
  }
});

test('above max_state_bytes readiness says why and the next batch fails', async () => {
  const { stage } = setup({ maxStateBytes: 500 });
  try {
    await stage.process([env(0, { ts: 1, g: 'a' }), env(1, { ts: 2, g: 'b' })]);
    assert.match(stage.check().detail ?? '', /above max_state_bytes/);
    await assert.rejects(stage.process([env(2, { ts: 3, g: 'c' })]), /max_state_bytes/);
  } finally {
    await stage.close();
  }
});

test('with an idle rule the stage holds records for the lane', async () => {
  const { stage } = setup({ idleMs: 1000 });
  try {
    assert.equal(typeof stage.heldFrom, 'function');
    await stage.process([env(0, { ts: 1, g: 'a' })]);
    assert.equal(stage.heldFrom!('t', 0), '0');
  } finally {
    await stage.close();
  }
});
