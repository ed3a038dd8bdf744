import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import {
  GUARDED_DIRS,
  checkMetricReferences,
  describeUnknown,
  knownMetricNames,
  unknownMetrics,
} from './catalogue-guard.ts';

const repo = resolve(import.meta.dirname, '..', '..');

describe('metric names outside the code', () => {
  it('every metric named in dashboards/, deploy/ and coroot/ is in the catalogue', () => {
    const found = checkMetricReferences(repo);
    assert.equal(found.length, 0, describeUnknown(found));
  });

  it('catches a name that is not in the catalogue, naming the file and line', () => {
    const root = mkdtempSync(join(tmpdir(), 'weir-guard-'));
    mkdirSync(join(root, 'deploy'));
    mkdirSync(join(root, 'dashboards'));
    writeFileSync(
      join(root, 'deploy', 'rules.yml'),
      [
        'groups:',
        '  - name: weir',
        '    rules:',
        '      - record: pipeline:weir_sli_delivery:ratio_rate5m',
        '        expr: sum(rate(weir_sli_records_delivered_total[5m])) / sum(rate(weir_sli_records_total[5m]))',
        '      - alert: Slow',
        '        expr: histogram_quantile(0.99, rate(weir_end_to_end_latency_seconds_bucket[5m])) > 5',
        '      - alert: Typo',
        '        expr: rate(weir_sink_row_total[5m]) == 0',
      ].join('\n'),
    );
    writeFileSync(
      join(root, 'dashboards', 'weir_overview.json'),
      JSON.stringify({
        expr: 'weir_consumer_lag_records + weir_nodejs_heap_size_used_bytes + weir_made_up',
      }),
    );
    const found = checkMetricReferences(root, GUARDED_DIRS);
    assert.deepEqual(found.map((f) => `${f.file}:${f.line}:${f.name}`).sort(), [
      'dashboards/weir_overview.json:1:weir_made_up',
      'deploy/rules.yml:9:weir_sink_row_total',
    ]);
    assert.match(
      describeUnknown(found),
      /deploy\/rules\.yml:9: weir_sink_row_total is not in the metric catalogue/,
    );
  });

  it('allows histogram series suffixes and recording rules defined in the scanned files', () => {
    const known = knownMetricNames();
    const text = 'weir_sink_insert_duration_seconds_count weir_sink_batch_rows_sum weir_x_ratio';
    assert.deepEqual(
      unknownMetrics(text, 'f', known, new Set(['weir_x_ratio'])).map((u) => u.name),
      [],
    );
    assert.deepEqual(
      unknownMetrics('weir_pipeline_up_bucket weir_unknown_count', 'f', known).map((u) => u.name),
      ['weir_unknown_count'],
    );
  });

  it('accepts a family written as a glob when the catalogue has a member of it', () => {
    const known = knownMetricNames();
    assert.deepEqual(
      unknownMetrics('see `weir_sli_records_*` and `weir_nothing_*`', 'f', known).map(
        (u) => u.name,
      ),
      ['weir_nothing_*'],
    );
  });

  it('ignores file names and paths that merely contain weir_', () => {
    const known = knownMetricNames();
    const text = 'see dashboards/weir_overview.json and weir_rules.yml, image ghcr.io/x/weir_agent';
    assert.deepEqual(unknownMetrics(text, 'f', known), []);
  });
});
