import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateReference, referencePath } from './reference.ts';
import { weirConfigSchema } from './schema.ts';
import { walkOptions } from './walk.ts';

test('docs/config-reference.md is up to date with the schema', () => {
  const committed = readFileSync(referencePath, 'utf8');
  assert.ok(
    committed === generateReference(),
    'docs/config-reference.md is out of date: run `npm run docs:config` and commit the result',
  );
});

test('every option has a description that states its default', () => {
  walkOptions(weirConfigSchema, (path, _schema, info) => {
    const text = info.meta.description ?? '';
    assert.ok(text.length > 0, `${path} has no description`);
    if (!info.hasDefault || typeof info.defaultValue === 'object') return;
    const literal = JSON.stringify(info.defaultValue);
    assert.ok(
      text.includes(`Default ${literal}`),
      `${path}: description should say "Default ${literal}"`,
    );
  });
});

test('the reference lists each option with path, type, required, default and secrecy', () => {
  const doc = generateReference();
  const row = (path: string) => doc.split('\n').find((l) => l.startsWith(`| \`${path}\` |`));
  assert.match(
    row('pipelines[].sink.clickhouse.batch.max_rows') ?? '',
    /\| integer \(> 0\) \| no \| `50000` \| A batch is inserted/,
  );
  assert.match(
    row('pipelines[].sink.clickhouse.table') ?? '',
    /\| string \| yes \| {2}\| The table/,
  );
  assert.match(row('pipelines[].sink.clickhouse.password') ?? '', /\| \*\*Secret\.\*\* /);
  assert.match(row('pipelines[].source.sasl.password') ?? '', /\*\*Secret\.\*\*/);
  assert.match(row('pipelines[].source.group_id') ?? '', /`weir-<pipeline name>`/);
  assert.match(row('pipelines[].schema.fields.<field>.from') ?? '', /`value` \\\| `key`/);
  assert.ok(row('pipelines[].transforms[].compute.<field>.type'));
});
