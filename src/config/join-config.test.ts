import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sinkFields, weirConfigSchema } from './schema.ts';
import { minimalConfig, minimalPipeline } from './testing.ts';

const right = {
  topic: 'payments',
  schema: { fields: { order_id: 'string', amount: 'number', paid_at: 'datetime' } },
  key: 'order_id',
  time: 'paid_at',
};
const schema = { fields: { id: 'uuid', total: 'number', at: 'datetime' } };

const withJoin = (join: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  minimalConfig(
    minimalPipeline({
      schema,
      join: { within: '30s', left: { key: 'id', time: 'at' }, right, ...join },
      ...over,
    } as Parameters<typeof minimalPipeline>[0]),
  );

function issues(input: unknown): string[] {
  const r = weirConfigSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the config to be rejected');
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('join fills its defaults; the output is every left field then every right field', () => {
  const r = weirConfigSchema.safeParse(withJoin({ type: 'left', allowed_lateness: 0 }));
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  const p = r.data.pipelines[0]!;
  assert.equal(p.join?.within, 30_000);
  assert.equal(p.join?.allowed_lateness, 0);
  assert.equal(p.join?.idle_timeout, 10_000);
  assert.equal(p.join?.match, 'all');
  assert.equal(p.join?.nats.bucket, 'weir_join_orders');
  // Both bounds of the right buffer: 128 MiB fits the 1 GiB manifest next to what is in flight.
  assert.equal(p.join?.max_buffer_records, 2_000_000);
  assert.equal(p.join?.max_buffer_bytes, 128 * 1024 * 1024);
  assert.deepEqual(
    sinkFields(p).map((f) => `${f.name}:${f.type.kind}${f.nullable ? '?' : ''}`),
    [
      'id:uuid',
      'total:number',
      'at:datetime',
      'order_id:string?',
      'amount:number?',
      'paid_at:datetime?',
    ],
    'right fields are nullable in a left join',
  );
});

test('join tolerates 5 s of producer jitter by default; a left join emits its late left events', () => {
  const r = weirConfigSchema.safeParse(withJoin({ type: 'left' }));
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  assert.equal(r.data.pipelines[0]!.join?.allowed_lateness, 5_000);
  assert.equal(r.data.pipelines[0]!.join?.late_left, 'emit_unmatched');
  const dl = weirConfigSchema.safeParse(withJoin({ type: 'left', late_left: 'dead_letter' }));
  assert.equal(dl.data?.pipelines[0]!.join?.late_left, 'dead_letter');
  assert.ok(
    issues(withJoin({ late_left: 'drop' })).some((i) => i.startsWith('pipelines.0.join.late_left')),
  );
});

test('join.max_buffer_bytes takes a positive integer', () => {
  const r = weirConfigSchema.safeParse(withJoin({ max_buffer_bytes: 1_048_576 }));
  assert.equal(r.data?.pipelines[0]!.join?.max_buffer_bytes, 1_048_576);
  assert.ok(
    issues(withJoin({ max_buffer_bytes: 0 })).some((i) =>
      i.startsWith('pipelines.0.join.max_buffer_bytes'),
    ),
  );
});

test('join fields select and rename; an inner join keeps the right fields as declared', () => {
  const r = weirConfigSchema.safeParse(
    withJoin({ fields: { order: 'left.id', paid: 'right.amount' }, match: 'latest' }),
  );
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  assert.deepEqual(
    sinkFields(r.data.pipelines[0]!).map((f) => `${f.name}:${f.type.kind}${f.nullable ? '?' : ''}`),
    ['order:uuid', 'paid:number'],
  );
});

test('join problems name the option and the fix', () => {
  const clash = issues(
    withJoin({
      right: { ...right, schema: { fields: { ...right.schema.fields, total: 'number' } } },
    }),
  );
  assert.ok(
    clash.some((m) => /both sides of the join have the field\(s\) total/.test(m)),
    clash.join('\n'),
  );
  const bad = issues(
    withJoin({
      within: 'soon',
      left: { key: 'idd', time: 'total' },
      right: { ...right, key: 'order', time: 'paid_at' },
      fields: { x: 'right.nope', y: 'middle.id' },
    }),
  );
  const text = bad.join('\n');
  assert.match(text, /pipelines\.0\.join\.within: invalid duration "soon"/);
  // The rules across fields run once the options themselves are valid.
  const rules = issues(
    withJoin({
      left: { key: 'idd', time: 'total' },
      right: { ...right, key: 'order' },
      fields: { x: 'right.nope' },
    }),
  ).join('\n');
  assert.match(
    rules,
    /join\.left\.key: join left key field "idd" is not a field after the transforms/,
  );
  assert.match(
    rules,
    /join\.left\.time: join left time field "total" is a number field, not a datetime/,
  );
  assert.match(
    rules,
    /join\.right\.key: join right key field "order" is not a field of right\.schema/,
  );
  assert.match(rules, /join\.fields\.x: join output "x" names right\.nope, which does not exist/);
  assert.match(issues(withJoin({ fields: { y: 'middle.id' } })).join('\n'), /invalid join output/);
  const topics = issues(
    withJoin({}, { source: { brokers: ['k:9092'], topics: ['orders', 'payments'] } }),
  ).join('\n');
  assert.match(topics, /a join reads exactly one left topic/);
  assert.match(topics, /join right topic "payments" is also a source topic/);
});
