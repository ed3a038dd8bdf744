import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldType } from '../core/fields.ts';
import { valueFits } from './field-rules.ts';

test('valueFits accepts literals of the type', () => {
  const cases: [FieldType, unknown][] = [
    [{ kind: 'string' }, ''],
    [{ kind: 'integer' }, -3],
    [{ kind: 'number' }, 1.5],
    [{ kind: 'boolean' }, false],
    [{ kind: 'datetime' }, 0],
    [{ kind: 'date' }, '2024-02-29'],
    [{ kind: 'uuid' }, '0190b6a4-7c2e-7a4b-9f00-1234567890ab'],
    [{ kind: 'json' }, null],
    [{ kind: 'array', items: { kind: 'integer' } }, [1, 2]],
    [{ kind: 'map', values: { kind: 'string' } }, { a: 'b' }],
  ];
  for (const [type, v] of cases)
    assert.equal(valueFits(type, v), true, `${type.kind} ${String(v)}`);
});

test('valueFits rejects literals of another type', () => {
  const cases: [FieldType, unknown][] = [
    [{ kind: 'string' }, 1],
    [{ kind: 'integer' }, 1.5],
    [{ kind: 'number' }, Infinity],
    [{ kind: 'boolean' }, 'true'],
    [{ kind: 'datetime' }, 'soon'],
    [{ kind: 'uuid' }, 'x'],
    [{ kind: 'array', items: { kind: 'integer' } }, [1, '2']],
    [{ kind: 'map', values: { kind: 'string' } }, ['a']],
  ];
  for (const [type, v] of cases)
    assert.equal(valueFits(type, v), false, `${type.kind} ${String(v)}`);
});
