import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from './duration.ts';
import { weirConfigSchema } from './schema.ts';
import { minimalConfig, minimalPipeline } from './testing.ts';

const withDedup = (dedup: unknown, over: Record<string, unknown> = {}) =>
  minimalConfig(minimalPipeline({ dedup, ...over } as Parameters<typeof minimalPipeline>[0]));

function issues(input: unknown): string[] {
  const r = weirConfigSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the config to be rejected');
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('dedup fills its defaults, the bucket from the pipeline name', () => {
  const r = weirConfigSchema.safeParse(withDedup({ key: 'id' }));
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  assert.deepEqual(r.data.pipelines[0]?.dedup, {
    key: 'id',
    window: 86_400_000,
    max_keys: 4_000_000,
    time: 'arrival',
    late: 'keep',
    mode: 'keyed',
    nats: {
      servers: ['127.0.0.1:4222'],
      bucket: 'weir_dedup_orders',
      replicas: 1,
      timeout_ms: 5000,
    },
  });
  assert.equal(r.data.pipelines[0]?.dedup?.nats.bucket, 'weir_dedup_orders');
});

test('dedup accepts several fields, an expression, event time and 7-day windows', () => {
  const r = weirConfigSchema.safeParse(
    withDedup(
      {
        key: ['id', 'amount'],
        window: '7d',
        time: { field: 'at' },
        mode: 'global',
        duplicates_topic: 'dups',
        nats: { servers: ['nats://n1:4222', 'n2:4222'], bucket: 'b1', user: 'u', password: 'p' },
      },
      { schema: { fields: { id: 'uuid', amount: 'number', at: 'datetime' } } },
    ),
  );
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  assert.equal(r.data.pipelines[0]?.dedup?.window, 7 * 86_400_000);
  const expr = weirConfigSchema.safeParse(withDedup({ key: { expr: 'lower(id)' }, window: 90000 }));
  assert.ok(expr.success);
});

test('dedup rejects unknown fields, a non-datetime time field and bad windows', () => {
  assert.deepEqual(issues(withDedup({ key: ['id', 'idd'], time: { field: 'amount' } })), [
    'pipelines.0.dedup.key.1: dedup key field "idd" is not a field after the transforms',
    'pipelines.0.dedup.time.field: dedup time field "amount" is a number field, not a datetime',
  ]);
  assert.deepEqual(issues(withDedup({ key: 'id', window: '1500ms' })), [
    'pipelines.0.dedup.window: the window must be whole seconds from 1s to 90d, got 1500ms',
  ]);
  assert.deepEqual(issues(withDedup({ key: 'id', window: 'soon' })), [
    'pipelines.0.dedup.window: invalid duration "soon"',
  ]);
  assert.deepEqual(issues(withDedup({ key: 'id', duplicates_topic: 'orders' })), [
    'pipelines.0.dedup.duplicates_topic: duplicates topic "orders" is also a source topic',
  ]);
  assert.ok(issues(withDedup({ key: 'id', colour: 1 }))[0]?.includes('colour'));
  assert.equal(issues(withDedup({ key: 'id', max_keys: 0 })).length, 1);
  assert.equal(issues(withDedup({ key: 'id', max_keys: 1.5 })).length, 1);
  // A key field removed by a transform is reported against the fields after the transforms.
  assert.deepEqual(issues(withDedup({ key: 'id' }, { transforms: [{ drop: ['id'] }] })), [
    'pipelines.0.dedup.key: dedup key field "id" is not a field after the transforms',
  ]);
});

test('durations read and print exactly', () => {
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('1.5m'), 90_000);
  assert.equal(parseDuration(1234), 1234);
  assert.equal(parseDuration('3 weeks'), undefined);
  assert.equal(formatDuration(7 * 86_400_000), '7d');
  assert.equal(formatDuration(90_000), '90s');
});
