import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { checkConfig, consumerGroup, deadLetterTopic } from './pipeline-rules.ts';
import { pipelineSchema } from './schema.ts';
import { minimalPipeline } from './testing.ts';

test('derived defaults come from the pipeline name unless given', () => {
  assert.equal(consumerGroup('orders'), 'weir-orders');
  assert.equal(deadLetterTopic('orders'), 'weir.orders.dlq');
  const given = pipelineSchema.parse(
    minimalPipeline({
      source: { brokers: ['k:9092'], topics: ['t'], group_id: 'g' },
      dead_letter: { topic: 'dlq' },
    }),
  );
  assert.equal(given.source.group_id, 'g');
  assert.equal(given.dead_letter.topic, 'dlq');
});

test('checkConfig reads partly invalid pipelines defensively', () => {
  const check = z.object({ pipelines: z.unknown() }).superRefine(checkConfig);
  const r = check.safeParse({
    pipelines: [
      null,
      'x',
      { name: 1 },
      { name: 'a' },
      { name: 'a', source: 'bad' },
      { name: 'b', source: { group_id: 'weir-a' } },
      { name: 'c', source: { group_id: 'weir-a' } },
    ],
  });
  assert.equal(r.success, false);
  assert.deepEqual(
    r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    [
      'pipelines.4.name: duplicate pipeline name "a" (also pipelines[3])',
      'pipelines.6.source.group_id: consumer group "weir-a" is also used by pipelines[5]',
    ],
  );
});
