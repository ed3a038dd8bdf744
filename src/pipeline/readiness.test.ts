import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../core/clock.ts';
import type { CheckResult } from '../telemetry/health.ts';
import { pipelineChecks, probeTiming, type PipelineView } from './readiness.ts';

function setup() {
  const clock = new FakeClock(100_000);
  const view: { -readonly [K in keyof PipelineView]: PipelineView[K] } = {
    state: 'running',
    kafkaConnected: true,
    brokerFailures: { inARow: 0, lastError: undefined },
    groupJoined: true,
    assignedPartitions: 4,
    sinkFailing: false,
    sinkPaused: undefined,
    table: 'default.orders',
    inFlight: 0,
    lastProgressAt: clock.now(),
  };
  let ping: CheckResult = { ok: true };
  const checks = pipelineChecks(
    () => view,
    () => ping,
    clock,
    10_000,
  );
  return { clock, view, checks, setPing: (p: CheckResult) => (ping = p) };
}

describe('pipeline readiness checks', () => {
  it('all pass for a running pipeline that keeps up', () => {
    const { checks } = setup();
    for (const [name, check] of Object.entries(checks)) assert.ok(check().ok, name);
    assert.equal(checks.partitions().reason, '4 partition(s) assigned');
  });

  it('table_mapping fails while the sink is paused for a table change, naming the column', () => {
    const { checks, view } = setup();
    view.sinkPaused = {
      reason: 'table_mapping',
      message: 'table default.orders changed: field "n" has no column',
      hint: 'alter the table back',
    };
    assert.match(checks.table_mapping().reason!, /paused: .*"n".*fix: alter the table back/);
    assert.ok(checks.clickhouse().ok);
    view.sinkPaused = { reason: 'clickhouse_error', message: 'code 999', hint: 'h' };
    assert.ok(checks.table_mapping().ok);
    assert.match(checks.clickhouse().reason!, /paused: code 999/);
  });

  it('fail with a reason when Kafka, ClickHouse or the group is missing', () => {
    const { checks, view, setPing } = setup();
    view.kafkaConnected = false;
    assert.match(checks.kafka().reason!, /not connected to Kafka/);
    view.kafkaConnected = true;
    view.brokerFailures = { inARow: 2, lastError: 'ECONNREFUSED' };
    assert.match(checks.kafka().reason!, /did not answer 2 times in a row: ECONNREFUSED/);
    setPing({ ok: false, reason: 'ClickHouse ping failed: ECONNREFUSED' });
    assert.deepEqual(checks.clickhouse(), {
      ok: false,
      reason: 'ClickHouse ping failed: ECONNREFUSED',
    });
    setPing({ ok: true });
    view.sinkFailing = true;
    assert.match(
      checks.clickhouse().reason!,
      /ClickHouse inserts into default\.orders are failing/,
    );
    view.groupJoined = false;
    assert.equal(checks.partitions().ok, false);
  });

  it('reports a stall only with records in flight and no progress for the stall time', () => {
    const { checks, view, clock } = setup();
    clock.advance(60_000);
    assert.ok(checks.progress().ok, 'idle without pending records is fine');
    view.inFlight = 500;
    assert.match(
      checks.progress().reason!,
      /stalled: no batch acknowledged for 60 s with 500 records/,
    );
    view.lastProgressAt = clock.now() - 9_000;
    assert.ok(checks.progress().ok);
    view.state = 'stopping';
    assert.equal(checks.progress().reason, 'the pipeline is stopping');
  });

  it('pings ClickHouse often enough to notice an outage within the stall time', () => {
    for (const stall of [1000, 4000, 60_000]) {
      const t = probeTiming(stall);
      assert.ok(t.intervalMs + t.timeoutMs <= Math.max(stall, 750), `stall ${stall}`);
    }
  });
});
