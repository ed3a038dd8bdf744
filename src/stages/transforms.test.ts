import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../core/errors.ts';
import type { FieldInfo } from '../core/fields.ts';
import type { Envelope } from '../core/record.ts';
import type { TransformConfig } from './options.ts';
import { buildTransforms, planTransforms } from './transforms.ts';
import { envelope } from './testkit.ts';

const fields: FieldInfo[] = [
  { name: 'kind', type: { kind: 'string' }, nullable: false },
  { name: 'amount', type: { kind: 'string' }, nullable: false },
  { name: 'debug', type: { kind: 'json' }, nullable: true },
];

const transforms: TransformConfig[] = [
  { filter: 'kind != "heartbeat"' },
  { convert: { amount: 'number' } },
  { compute: { cents: { expr: 'round(amount * 100)', type: 'integer' } } },
  { rename: { kind: 'event_type' } },
  { drop: ['debug', 'amount'] },
];

describe('planTransforms', () => {
  it('chains one named stage per entry and reports the resulting fields', async () => {
    const plan = planTransforms(transforms, fields);
    assert.deepEqual(
      plan.stages.map((s) => s.name),
      [
        'transform[0].filter',
        'transform[1].convert',
        'transform[2].compute',
        'transform[3].rename',
        'transform[4].drop',
      ],
    );
    assert.deepEqual(plan.fields, [
      { name: 'event_type', type: { kind: 'string' }, nullable: false },
      { name: 'cents', type: { kind: 'integer' }, nullable: false },
    ]);
    let batch: Envelope[] = [
      envelope({ kind: 'order', amount: '1.25', debug: null }),
      envelope({ kind: 'heartbeat', amount: '0', debug: null }),
    ];
    for (const stage of plan.stages) batch = (await stage.process(batch)).out;
    assert.deepEqual(
      batch.map((e) => e.row),
      [{ event_type: 'order', cents: 125 }],
    );
  });

  it('checks each transform against the fields at its point', () => {
    assert.throws(
      () => planTransforms([{ rename: { kind: 'type' } }, { filter: 'kind == "x"' }], fields),
      /transform\[1\]\.filter: expression `kind == "x"`: unknown field "kind"/,
    );
    assert.throws(
      () => planTransforms([{ filter: 'a', drop: ['kind'] }], fields),
      (err: unknown) =>
        err instanceof ConfigError && /transform\[0\]: expected exactly one of/.test(err.message),
    );
  });

  it('buildTransforms returns the stages; none for an empty list', () => {
    assert.equal(buildTransforms(transforms, fields).length, 5);
    assert.deepEqual(buildTransforms([], fields), []);
  });
});
