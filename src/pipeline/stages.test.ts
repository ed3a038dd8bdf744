import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createParser } from '../stages/parse.ts';
import { recordStage, toEnvelopes, type Stage } from '../stages/stage.ts';
import { sourceRecord } from '../stages/testkit.ts';
import type { StageTiming } from '../telemetry/batch-trace.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { runChain } from './stages.ts';

const value = async (m: ReturnType<typeof createMetrics>, name: string, labels: object) => {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((n, v) => n + v.value, 0);
};

describe('runChain', () => {
  const stages: Stage[] = [
    createParser({ id: 'string', status: 'string' }),
    recordStage('transform[0].filter', 'filter', (env) =>
      env.row.status === 'test' ? { drop: 'filtered' } : env,
    ),
    recordStage('transform[1].compute', 'compute', (env) => env),
  ];
  const records = [
    sourceRecord({ id: 'a', status: 'paid' }),
    sourceRecord('{broken'),
    sourceRecord({ id: 'b', status: 'test' }),
    sourceRecord({ id: 'c' }),
    sourceRecord({ id: 'd', status: 'paid' }),
  ];

  it('emits the standard counters for every stage, and each stage balances', async () => {
    const metrics = createMetrics(new Registry(), { defaults: false });
    const res = await runChain(stages, toEnvelopes(records), metrics, 'p');
    assert.equal(res.out.length, 2);
    assert.deepEqual(res.dead.map((d) => d.reason).sort(), ['invalid_json', 'missing_field']);
    assert.deepEqual(
      res.dropped.map((d) => d.reason),
      ['filtered'],
    );
    let previousOut = records.length;
    for (const s of stages) {
      const labels = { pipeline: 'p', stage: s.name };
      const received = await value(metrics, 'weir_stage_records_received_total', labels);
      const emitted = await value(metrics, 'weir_stage_records_emitted_total', labels);
      const dropped = await value(metrics, 'weir_stage_records_dropped_total', labels);
      assert.equal(received, previousOut, `${s.name} receives what the stage before emitted`);
      assert.equal(received, emitted + dropped, `${s.name}: in = out + dropped`);
      previousOut = emitted;
    }
    assert.equal(
      await value(metrics, 'weir_stage_errors_total', { stage: 'parse', class: 'record' }),
      2,
    );
  });

  it('collects one timing per stage run for the trace, when asked', async () => {
    const metrics = createMetrics(new Registry(), { defaults: false });
    const timings: StageTiming[] = [];
    await runChain(stages, toEnvelopes(records), metrics, 'p', timings);
    assert.deepEqual(
      timings.map((t) => [t.stage, t.received, t.emitted, t.dropped, t.dead]),
      [
        ['parse', 5, 3, 0, 2],
        ['transform[0].filter', 3, 2, 1, 0],
        ['transform[1].compute', 2, 2, 0, 0],
      ],
    );
    assert.ok(timings.every((t) => t.end >= t.start && t.start > 1e12));
  });
});
