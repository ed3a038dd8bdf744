import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../core/errors.ts';
import type { FieldInfo } from '../core/fields.ts';
import { createFilter } from './filter.ts';
import { envelope } from './testkit.ts';

const fields: FieldInfo[] = [
  { name: 'kind', type: { kind: 'string' }, nullable: false },
  { name: 'amount', type: { kind: 'number' }, nullable: true },
];

describe('filter', () => {
  it('keeps truthy records, drops the rest as filtered, dead-letters errors', async () => {
    const { stage, fields: out } = createFilter(
      'transform[0].filter',
      'kind != "heartbeat" and amount > 0',
      fields,
    );
    assert.equal(out, fields);
    assert.equal(stage.kind, 'filter');
    const batch = [
      envelope({ kind: 'order', amount: 5 }),
      envelope({ kind: 'heartbeat', amount: 5 }),
      envelope({ kind: 'order', amount: null }),
      envelope({ kind: 'order', amount: 'x' }),
    ];
    const result = await stage.process(batch);
    assert.deepEqual(result.out, [batch[0]]);
    assert.deepEqual(
      result.dropped.map((d) => [d.env, d.reason]),
      [
        [batch[1], 'filtered'],
        [batch[2], 'filtered'],
      ],
    );
    assert.equal(result.dead.length, 1);
    assert.equal(result.dead[0]?.reason, 'expression_error');
    assert.equal(result.dead[0]?.stage, 'transform[0].filter');
    assert.match(result.dead[0]?.detail ?? '', /operator > expects two numbers or two texts/);
  });

  it('uses truthiness for non-boolean results', async () => {
    const { stage } = createFilter('f', 'amount', fields);
    const result = await stage.process([
      envelope({ kind: 'a', amount: 0 }),
      envelope({ kind: 'b', amount: 2 }),
    ]);
    assert.deepEqual(
      result.out.map((e) => e.row.kind),
      ['b'],
    );
  });

  it('names the transform in compile errors', () => {
    assert.throws(
      () => createFilter('transform[3].filter', 'price > 1', fields),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message === 'transform[3].filter: expression `price > 1`: unknown field "price"' &&
        /kind, amount/.test(err.hint ?? ''),
    );
  });
});
