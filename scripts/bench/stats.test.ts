import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  histogramQuantile,
  median,
  metricSum,
  parseHistogram,
  quantileSorted,
  round,
} from './stats.ts';

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([]), null);
    assert.equal(median([NaN, 5]), 5);
  });
});

describe('quantileSorted', () => {
  it('uses the nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(quantileSorted(v, 0.5), 50);
    assert.equal(quantileSorted(v, 0.99), 99);
    assert.equal(quantileSorted(v, 1), 100);
    assert.equal(quantileSorted(v, 0), 1);
    assert.equal(quantileSorted([], 0.5), null);
  });
});

describe('histogramQuantile', () => {
  it('interpolates inside the bucket, as histogram_quantile does', () => {
    const buckets = [
      { le: 0.5, count: 0 },
      { le: 1, count: 50 },
      { le: 2, count: 100 },
      { le: Infinity, count: 100 },
    ];
    assert.equal(histogramQuantile(buckets, 0.5), 1);
    assert.equal(histogramQuantile(buckets, 0.75), 1.5);
    assert.equal(histogramQuantile(buckets, 0.25), 0.75);
  });

  it('answers the highest finite bound for the +Inf bucket and null when empty', () => {
    assert.equal(
      histogramQuantile(
        [
          { le: 1, count: 1 },
          { le: Infinity, count: 10 },
        ],
        0.99,
      ),
      1,
    );
    assert.equal(histogramQuantile([{ le: Infinity, count: 0 }], 0.5), null);
  });
});

describe('Prometheus text', () => {
  const text = [
    '# HELP weir_end_to_end_latency_seconds x',
    'weir_end_to_end_latency_seconds_bucket{le="0.5",pipeline="a"} 1',
    'weir_end_to_end_latency_seconds_bucket{le="1",pipeline="a"} 3',
    'weir_end_to_end_latency_seconds_bucket{le="+Inf",pipeline="a"} 4',
    'weir_end_to_end_latency_seconds_bucket{le="1",pipeline="b"} 7',
    'weir_dedup_index_bytes{pipeline="a"} 2048',
    'weir_dedup_index_bytes{pipeline="b"} 1024',
  ].join('\n');

  it('reads histogram buckets of matching series', () => {
    assert.deepEqual(parseHistogram(text, 'weir_end_to_end_latency_seconds', { pipeline: 'a' }), [
      { le: 0.5, count: 1 },
      { le: 1, count: 3 },
      { le: Infinity, count: 4 },
    ]);
  });

  it('sums samples of matching series', () => {
    assert.equal(metricSum(text, 'weir_dedup_index_bytes'), 3072);
    assert.equal(metricSum(text, 'weir_dedup_index_bytes', { pipeline: 'b' }), 1024);
    assert.equal(metricSum(text, 'weir_missing'), 0);
  });
});

describe('round', () => {
  it('rounds and keeps null', () => {
    assert.equal(round(1.26, 1), 1.3);
    assert.equal(round(null), null);
    assert.equal(round(Infinity), null);
  });
});
