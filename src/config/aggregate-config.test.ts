import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sinkFields, weirConfigSchema } from './schema.ts';
import { minimalConfig, minimalPipeline } from './testing.ts';

const schema = {
  fields: { id: 'uuid', user: 'string', campaign: 'string', cost: 'number', at: 'datetime' },
};

const withAggregate = (aggregate: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  minimalConfig(
    minimalPipeline({
      schema,
      aggregate: {
        window: { tumbling: '1m' },
        time: { field: 'at' },
        group_by: ['campaign'],
        measures: { clicks: 'count()' },
        ...aggregate,
      },
      ...over,
    } as Parameters<typeof minimalPipeline>[0]),
  );

function issues(input: unknown): string[] {
  const r = weirConfigSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the config to be rejected');
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('aggregate fills its defaults; the sink gets the group fields, the window bounds, the measures', () => {
  const r = weirConfigSchema.safeParse(
    withAggregate({
      measures: {
        clicks: 'count()',
        users: 'uniq(user)',
        users_approx: 'uniq_approx(user)',
        spend: 'sum(cost)',
        top: 'max(cost)',
        mean: 'avg(cost)',
        first_user: 'first(user)',
      },
    }),
  );
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  const p = r.data.pipelines[0]!;
  const a = p.aggregate!;
  assert.deepEqual(a.window, { tumbling: 60_000 });
  assert.equal(a.allowed_lateness, 5000);
  assert.equal(a.late, 'count');
  assert.equal(a.max_state_bytes, 128 * 1024 * 1024);
  assert.equal(a.nats.bucket, 'weir_aggregate_orders');
  assert.equal(a.idle_timeout, undefined);
  assert.deepEqual(
    sinkFields(p).map((f) => `${f.name}:${f.type.kind}${f.nullable ? '?' : ''}`),
    [
      'campaign:string',
      'window_start:datetime',
      'window_end:datetime',
      'clicks:integer',
      'users:integer',
      'users_approx:integer',
      'spend:number',
      'top:number?',
      'mean:number?',
      'first_user:string?',
    ],
  );
});

test('hopping windows and the Kafka timestamp as time', () => {
  const r = weirConfigSchema.safeParse(
    withAggregate({
      window: { hopping: { size: '1h', hop: '5m' } },
      time: { processing: true },
      window_start: 'ws',
      window_end: 'we',
      idle_timeout: '30s',
    }),
  );
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  assert.equal(r.data.pipelines[0]!.aggregate!.idle_timeout, 30_000);
  assert.deepEqual(r.data.pipelines[0]!.aggregate!.window, {
    hopping: { size: 3_600_000, hop: 300_000 },
  });
});

test('aggregate config problems name the option', () => {
  assert.deepEqual(
    issues(
      withAggregate({
        window: { hopping: { size: '1h', hop: '7m' } },
        time: { field: 'user' },
        group_by: ['campain'],
        measures: { clicks: 'count()', s: 'sum(user)', m: 'median(cost)', u: 'uniq(nope)' },
      }),
    ),
    [
      'pipelines.0.aggregate.window.hopping: the hopping window size (3600000 ms) is not a whole multiple of its hop (420000 ms)',
      'pipelines.0.aggregate.time.field: aggregate time field "user" is a string field, not a datetime',
      'pipelines.0.aggregate.group_by.0: aggregate group_by field "campain" is not a field after the transforms',
      'pipelines.0.aggregate.measures.s: sum() cannot take "user", a string field',
      'pipelines.0.aggregate.measures.m: unknown measure function "median": use one of count, sum, min, max, avg, uniq, uniq_approx, first, last',
      'pipelines.0.aggregate.measures.u: measure uniq(nope) names "nope", which is not a field after the transforms',
    ],
  );
  assert.deepEqual(issues(withAggregate({ measures: { campaign: 'count()' } })), [
    'pipelines.0.aggregate.measures.campaign: output field "campaign" is also aggregate.group_by.0',
  ]);
});
