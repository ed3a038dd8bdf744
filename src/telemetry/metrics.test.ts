import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { currentTable, metricsTable, readmePath, tableCells } from './catalogue-doc.ts';
import {
  BOUNDED_LABELS,
  CATALOGUE,
  LATENCY_BUCKETS_S,
  SLI_LATENCY_THRESHOLDS_S,
  catalogue,
  catalogueNames,
  createMetrics,
} from './metrics.ts';

describe('metric catalogue', () => {
  it('declares each metric once, prefixed, with a unit, help and only bounded labels', () => {
    const names = catalogueNames();
    assert.equal(new Set(names).size, names.length);
    for (const m of catalogue()) {
      assert.match(m.name, /^weir_[a-z0-9_]+$/);
      assert.ok(m.unit.length > 0, `${m.name} has no unit`);
      assert.ok(m.help.length > 10, `${m.name} has no help`);
      for (const l of m.labels)
        assert.ok((BOUNDED_LABELS as readonly string[]).includes(l), `${m.name}: label ${l}`);
      if (m.type === 'counter') assert.match(m.name, /_total$/, `${m.name} is a counter`);
      else assert.doesNotMatch(m.name, /_total$/, `${m.name} is not a counter`);
    }
  });

  it('keeps the names other work and the rules depend on', () => {
    const names = new Set(catalogueNames());
    for (const n of [
      'weir_stage_records_received_total',
      'weir_stage_records_emitted_total',
      'weir_stage_records_dropped_total',
      'weir_sink_rows_total',
      'weir_sink_batches_total',
      'weir_consumer_lag_records',
      'weir_end_to_end_latency_seconds',
      'weir_sli_records_delivered_total',
      'weir_sli_records_total',
    ])
      assert.ok(names.has(n), n);
  });

  it('puts the SLI latency thresholds on histogram bucket bounds', () => {
    for (const t of SLI_LATENCY_THRESHOLDS_S) assert.ok(LATENCY_BUCKETS_S.includes(t), `${t}s`);
    assert.deepEqual(CATALOGUE.endToEndLatency.buckets, LATENCY_BUCKETS_S);
  });

  it('creates every metric in a registry, with the declared type and labels', async () => {
    const m = createMetrics(new Registry(), { defaults: false });
    m.stageReceived.inc({ pipeline: 'p', stage: 'parse' }, 3);
    m.endToEndLatency.observe({ pipeline: 'p' }, 4);
    const text = await m.registry.metrics();
    assert.match(text, /weir_stage_records_received_total\{pipeline="p",stage="parse"\} 3/);
    assert.match(text, /weir_end_to_end_latency_seconds_bucket\{le="5",pipeline="p"\} 1/);
    assert.match(text, /weir_end_to_end_latency_seconds_bucket\{le="2",pipeline="p"\} 0/);
    const listed = m.registry.getMetricsAsArray().map((x) => x.name);
    assert.deepEqual(listed.sort(), catalogueNames().sort());
  });

  it('is listed in the README, exactly as generated (node --import tsx src/telemetry/catalogue-doc.ts)', () => {
    const readme = readFileSync(readmePath, 'utf8');
    const table = currentTable(readme);
    assert.ok(table, 'README.md has the metrics table markers');
    assert.deepEqual(tableCells(table), tableCells(metricsTable()));
  });
});
