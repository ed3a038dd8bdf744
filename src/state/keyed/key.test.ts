import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldInfo } from '../../core/fields.ts';
import { planKey } from './key.ts';

const fields: FieldInfo[] = [
  { name: 'id', type: { kind: 'string' }, nullable: true },
  { name: 'n', type: { kind: 'integer' }, nullable: true },
];

describe('row keys', () => {
  it('keep a string field as it is and write anything else as JSON, so 1 and "1" differ', () => {
    assert.equal(planKey('id', fields)({ id: 'a' }), 'a');
    assert.equal(planKey('n', fields)({ n: 1 }), '1');
    assert.equal(planKey('id', fields)({ id: 1 }), '1');
    assert.notEqual(planKey(['id', 'n'], fields)({ id: '1', n: 1 }), '["1","1"]');
    assert.equal(planKey({ expr: 'id + "-" + n' }, fields)({ id: 'a', n: 2 }), '"a-2"');
  });

  it('are null only when every key field is', () => {
    assert.equal(planKey('id', fields)({ id: null }), null);
    assert.equal(planKey(['id', 'n'], fields)({ id: null }), null);
    assert.equal(planKey(['id', 'n'], fields)({ id: null, n: 0 }), '[null,0]');
  });

  it('name their config path in startup errors', () => {
    assert.throws(
      () => planKey('idd', fields, 'join.left.key'),
      /join\.left\.key: unknown field "idd"/,
    );
    assert.throws(() => planKey([], fields, 'dedup.key'), /dedup\.key names no field/);
  });
});
