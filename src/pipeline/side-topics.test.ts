import assert from 'node:assert/strict';
import { it } from 'node:test';
import { validateConfig } from '../config/load.ts';
import { minimalConfig, minimalPipeline } from '../config/testing.ts';
import { sideTopics } from './side-topics.ts';

it('lists the dead-letter topic (one partition) and, with dedup, the duplicates topic', () => {
  const [plain] = validateConfig(minimalConfig()).pipelines;
  assert.deepEqual(sideTopics(plain!), [
    { topic: 'weir.orders.dlq', numPartitions: 1, what: 'dead-letter topic' },
  ]);
  const dedup = { key: 'id', window: '1h', duplicates_topic: 'orders.dups' };
  const [withDedup] = validateConfig(minimalConfig(minimalPipeline({ dedup }))).pipelines;
  assert.deepEqual(
    sideTopics(withDedup!).map((t) => `${t.what} ${t.topic} ${t.numPartitions}`),
    ['dead-letter topic weir.orders.dlq 1', 'duplicates topic orders.dups -1'],
  );
});
