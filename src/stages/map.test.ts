import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../core/errors.ts';
import type { FieldInfo } from '../core/fields.ts';
import type { Row, StageOutput } from '../core/record.ts';
import { createCompute, createConvert, createDrop, createRename } from './map.ts';
import type { StagePlan } from './stage.ts';
import { envelope } from './testkit.ts';

const fields: FieldInfo[] = [
  { name: 'id', type: { kind: 'string' }, nullable: false },
  { name: 'ts', type: { kind: 'datetime' }, nullable: false },
  { name: 'amount', type: { kind: 'string' }, nullable: true },
  { name: 'user', type: { kind: 'json' }, nullable: false },
];
const MAY_1 = Date.parse('2024-05-01T12:00:00Z');
const sample = (): Row => ({ id: 'a', ts: MAY_1, amount: '12.50', user: { name: 'Ada', tier: 2 } });

async function run(plan: StagePlan, ...rows: Row[]): Promise<StageOutput> {
  return plan.stage.process(rows.map((r) => envelope(r)));
}

const names = (plan: StagePlan) => plan.fields.map((f) => f.name);

describe('rename', () => {
  it('renames in place of the old field, keeping order and info', async () => {
    const plan = createRename('transform[0].rename', { amount: 'price', id: 'event_id' }, fields);
    assert.deepEqual(names(plan), ['event_id', 'ts', 'price', 'user']);
    assert.deepEqual(plan.fields[2], { ...fields[2], name: 'price' });
    const { out } = await run(plan, sample());
    assert.deepEqual(Object.entries(out[0]?.row ?? {}), [
      ['event_id', 'a'],
      ['ts', MAY_1],
      ['price', '12.50'],
      ['user', { name: 'Ada', tier: 2 }],
    ]);
  });
  it('can swap names', async () => {
    const plan = createRename('r', { id: 'amount', amount: 'id' }, fields);
    const { out } = await run(plan, sample());
    assert.equal(out[0]?.row.id, '12.50');
    assert.equal(out[0]?.row.amount, 'a');
  });
  it('rejects unknown fields and collisions', () => {
    assert.throws(
      () => createRename('transform[1].rename', { nope: 'x' }, fields),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.message, 'transform[1].rename: unknown field "nope"');
        assert.match(err.hint ?? '', /id, ts, amount, user/);
        return true;
      },
    );
    assert.throws(() => createRename('r', { id: 'ts' }, fields), /field "ts" would exist twice/);
    assert.throws(() => createRename('r', { id: '' }, fields), /new name for "id" is empty/);
  });
});

describe('drop', () => {
  it('removes fields', async () => {
    const plan = createDrop('transform[0].drop', ['user', 'ts'], fields);
    assert.deepEqual(names(plan), ['id', 'amount']);
    const { out } = await run(plan, sample());
    assert.deepEqual(out[0]?.row, { id: 'a', amount: '12.50' });
  });
  it('rejects unknown fields and dropping everything', () => {
    assert.throws(() => createDrop('d', ['nope'], fields), /d: unknown field "nope"/);
    assert.throws(() => createDrop('d', ['id', 'ts', 'amount', 'user'], fields), /leaves nothing/);
  });
});

describe('convert', () => {
  it('converts values and updates the field type; null stays null', async () => {
    const plan = createConvert(
      'transform[0].convert',
      { amount: 'number', ts: 'string', id: { to: 'string' } },
      fields,
    );
    assert.deepEqual(plan.fields[2], { name: 'amount', type: { kind: 'number' }, nullable: true });
    assert.deepEqual(plan.fields[1]?.type, { kind: 'string' });
    const { out } = await run(plan, sample(), { ...sample(), amount: null });
    assert.deepEqual(out[0]?.row, {
      id: 'a',
      ts: '2024-05-01T12:00:00.000Z',
      amount: 12.5,
      user: sample().user,
    });
    assert.equal(out[1]?.row.amount, null);
  });
  it('reads datetime fields as epoch ms and honours formats for text', async () => {
    const plan = createConvert(
      'c',
      { ts: 'date', id: { to: 'datetime', format: 'epoch_s' } },
      fields,
    );
    const { out } = await run(plan, { ...sample(), ts: 5000, id: '1714564800' });
    assert.equal(out[0]?.row.ts, 0);
    assert.equal(out[0]?.row.id, MAY_1);
  });
  it('dead-letters values that do not convert', async () => {
    const plan = createConvert('transform[2].convert', { amount: 'integer' }, fields);
    const { dead } = await run(plan, sample());
    assert.equal(dead[0]?.reason, 'type_mismatch');
    assert.equal(dead[0]?.stage, 'transform[2].convert');
    assert.equal(dead[0]?.detail, 'field "amount": expected integer, got string "12.50"');
  });
  it('rejects unknown fields and types', () => {
    assert.throws(() => createConvert('c', { nope: 'string' }, fields), /unknown field "nope"/);
    assert.throws(
      () => createConvert('c', { id: 'text' as 'string' }, fields),
      /c: field "id": type must be one of/,
    );
  });
});

describe('compute', () => {
  it('adds and replaces fields, each seeing the ones before', async () => {
    const plan = createCompute(
      'transform[0].compute',
      {
        cents: { expr: 'round(to_number(amount) * 100)', type: 'integer' },
        doubled: 'cents * 2',
        id: 'upper(id)',
        name: 'lower(user.name)',
      },
      fields,
    );
    assert.deepEqual(names(plan), ['id', 'ts', 'amount', 'user', 'cents', 'doubled', 'name']);
    assert.deepEqual(plan.fields[4], { name: 'cents', type: { kind: 'integer' }, nullable: false });
    assert.deepEqual(plan.fields[0], { name: 'id', type: { kind: 'any' }, nullable: false });
    const { out, dead } = await run(plan, sample());
    assert.deepEqual(dead, []);
    assert.deepEqual(out[0]?.row, {
      id: 'A',
      ts: MAY_1,
      amount: '12.50',
      user: { name: 'Ada', tier: 2 },
      cents: 1250,
      doubled: 2500,
      name: 'ada',
    });
  });
  it('typed datetime results: numbers are epoch ms, text is parsed', async () => {
    const plan = createCompute(
      'c',
      {
        next_hour: { expr: 'ts + 3600000', type: 'datetime' },
        day: { expr: 'to_string(substr(to_string(ts), 0, 0)) + "2024-05-01"', type: 'date' },
      },
      fields,
    );
    const { out } = await run(plan, sample());
    assert.equal(out[0]?.row.next_hour, MAY_1 + 3_600_000);
    assert.equal(out[0]?.row.day, Date.parse('2024-05-01'));
  });
  it('null results need nullable: true', async () => {
    const strict = createCompute('transform[1].compute', { a: 'amount' }, fields);
    const { dead } = await run(strict, { ...sample(), amount: null });
    assert.equal(dead[0]?.reason, 'null_field');
    assert.match(
      dead[0]?.detail ?? '',
      /field "a" computed null from expression `amount` but is not nullable/,
    );
    const lenient = createCompute('c', { a: { expr: 'amount', nullable: true } }, fields);
    const { out } = await run(lenient, { ...sample(), amount: null });
    assert.equal(out[0]?.row.a, null);
  });
  it('dead-letters type mismatches, non-finite numbers and evaluation errors', async () => {
    const typed = createCompute('c', { n: { expr: 'amount', type: 'integer' } }, fields);
    assert.equal((await run(typed, sample())).dead[0]?.reason, 'type_mismatch');
    const ratio = createCompute('c', { r: '1 / 0' }, fields);
    const inf = (await run(ratio, sample())).dead[0];
    assert.equal(inf?.reason, 'expression_error');
    assert.match(inf?.detail ?? '', /gave Infinity, not a finite number/);
    const bad = createCompute('c', { x: 'abs(id)' }, fields);
    assert.equal((await run(bad, sample())).dead[0]?.reason, 'expression_error');
  });
  it('names the field in compile errors', () => {
    assert.throws(
      () => createCompute('transform[4].compute', { x: 'nope + 1' }, fields),
      /^ConfigError: transform\[4\]\.compute\.x: expression `nope \+ 1`: unknown field "nope"$/,
    );
    assert.throws(
      () => createCompute('c', { x: { expr: '1', type: 'float' as 'number' } }, fields),
      /type must be one of/,
    );
  });
});
