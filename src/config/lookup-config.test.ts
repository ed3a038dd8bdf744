import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sinkFields, weirConfigSchema } from './schema.ts';
import { secretValues } from './secrets.ts';
import { minimalConfig, minimalPipeline } from './testing.ts';

const schema = { fields: { id: 'uuid', ad_id: 'string', amount: 'number', extra: 'json' } };
const lookup = {
  from: { postgres: { url: 'postgres://weir:s3cr3t-pw@127.0.0.1:5432/weir' } },
  table: 'campaigns',
  key: 'ad_id',
  fields: { campaign_name: 'string', budget: { type: 'number', column: 'campaign_budget' } },
};

const withLookup = (over: Record<string, unknown> = {}, transforms: unknown[] = []) =>
  minimalConfig(
    minimalPipeline({
      schema,
      transforms: [...transforms, { lookup: { ...lookup, ...over } }],
    } as Parameters<typeof minimalPipeline>[0]),
  );

function issues(input: unknown): string[] {
  const r = weirConfigSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the config to be rejected');
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('a lookup fills its defaults and adds its fields (nullable with on_miss null)', () => {
  const r = weirConfigSchema.safeParse(withLookup());
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  const p = r.data.pipelines[0]!;
  const t = p.transforms[0]!;
  assert.ok('lookup' in t);
  assert.equal(t.lookup.on_miss, 'null');
  assert.deepEqual(t.lookup.cache, {
    max_entries: 100_000,
    max_bytes: 64 * 1024 * 1024,
    ttl: 300_000,
    negative_ttl: 30_000,
  });
  assert.equal(t.lookup.max_concurrency, 4);
  assert.deepEqual(t.lookup.retry, { initial_ms: 250, max_ms: 10_000 });
  assert.deepEqual(
    sinkFields(p).map((f) => `${f.name}:${f.type.kind}${f.nullable ? '?' : ''}`),
    [
      'id:uuid',
      'ad_id:string',
      'amount:number',
      'extra:json',
      'campaign_name:string?',
      'budget:number?',
    ],
  );
});

test('on_miss: null in YAML (a real null) is the null policy; default keeps the fields non-null', () => {
  const r = weirConfigSchema.safeParse(withLookup({ on_miss: null }));
  assert.ok(r.success);
  const d = weirConfigSchema.parse(
    withLookup({ on_miss: 'default', defaults: { campaign_name: '(none)', budget: 0 } }),
  );
  assert.deepEqual(
    sinkFields(d.pipelines[0]!)
      .slice(-2)
      .map((f) => f.nullable),
    [false, false],
  );
});

test('bad lookups are refused with the problem and the fix', () => {
  assert.deepEqual(issues(withLookup({ query: 'SELECT 1' })), [
    'pipelines.0.transforms.0.lookup: both table and query given',
  ]);
  assert.deepEqual(issues(withLookup({ table: undefined })), [
    'pipelines.0.transforms.0.lookup: neither table nor query given',
  ]);
  assert.deepEqual(issues(withLookup({ from: { redis: { url: 'x' } } })), [
    'pipelines.0.transforms.0.lookup.from: Unrecognized key: "redis"',
  ]);
  assert.deepEqual(
    issues(
      withLookup({
        from: { ...lookup.from, http: { url: 'http://127.0.0.1:1/x' } },
      }),
    ),
    [
      'pipelines.0.transforms.0.lookup.from: several sources given (postgres, http)',
      'pipelines.0.transforms.0.lookup.table: table does not apply to an http lookup',
    ],
  );
  assert.deepEqual(issues(withLookup({ on_miss: 'default' })), [
    'pipelines.0.transforms.0.lookup.defaults: on_miss is default but no defaults are given',
  ]);
  assert.deepEqual(
    issues(withLookup({ on_miss: 'default', defaults: { campaign_name: 5, budget: 0 } })),
    [
      'pipelines.0.transforms.0.lookup.defaults.campaign_name: default number 5 of field "campaign_name" is not a valid string',
    ],
  );
  assert.deepEqual(issues(withLookup({ on_miss: 'default', defaults: { campaign_name: 'x' } })), [
    'pipelines.0.transforms.0.lookup.defaults: no default for field "budget"',
  ]);
  assert.deepEqual(issues(withLookup({ defaults: { budget: 1 } })), [
    'pipelines.0.transforms.0.lookup.defaults: defaults only apply with on_miss: default (it is null)',
  ]);
  assert.deepEqual(
    issues(withLookup({ table: undefined, query: 'SELECT id, name FROM campaigns' })),
    ['pipelines.0.transforms.0.lookup.query: the query does not use the keys ($1)'],
  );
  assert.deepEqual(
    issues(
      withLookup({
        table: undefined,
        query: 'SELECT id FROM campaigns WHERE id = ANY($1)',
        preload: {},
      }),
    ),
    [
      'pipelines.0.transforms.0.lookup.query: with preload the query reads every row, but it uses the keys ($1)',
    ],
  );
  assert.deepEqual(issues(withLookup({ from: { postgres: { url: 'mysql://x@h/db' } } })), [
    'pipelines.0.transforms.0.lookup.from.postgres.url: invalid PostgreSQL URL "mysql://***@h/db"',
  ]);
  assert.deepEqual(issues(withLookup({ cache: { ttl: '5 minutes' } })), [
    'pipelines.0.transforms.0.lookup.cache.ttl: invalid duration "5 minutes"',
  ]);
});

test('the key and the fields are checked against the fields at that point', () => {
  assert.deepEqual(issues(withLookup({ key: 'adid' })), [
    'pipelines.0.transforms.0.lookup.key: transform 0 looks up by unknown field "adid"',
  ]);
  assert.deepEqual(issues(withLookup({ key: 'extra' })), [
    'pipelines.0.transforms.0.lookup.key: transform 0 looks up by "extra", a json field; a key must be a string, integer, number or uuid',
  ]);
  assert.deepEqual(issues(withLookup({ fields: { amount: 'number' } })), [
    'pipelines.0.transforms.0.lookup.fields.amount: transform 0 adds field "amount", which already exists',
  ]);
  // A later transform sees the lookup's fields.
  const r = weirConfigSchema.safeParse(
    minimalConfig(
      minimalPipeline({
        schema,
        transforms: [{ lookup }, { filter: 'campaign_name != "x"' }, { drop: ['budget'] }],
      } as Parameters<typeof minimalPipeline>[0]),
    ),
  );
  assert.ok(r.success, JSON.stringify(r.error?.issues));
});

test('the password of a lookup URL is a secret value to mask', () => {
  const cfg = weirConfigSchema.parse(withLookup());
  assert.ok(secretValues(cfg).includes('s3cr3t-pw'));
});
