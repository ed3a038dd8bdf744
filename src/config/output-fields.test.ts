import { test } from 'node:test';
import assert from 'node:assert/strict';
import { typeToString, type FieldInfo } from '../core/fields.ts';
import {
  applyTransform,
  declaredFields,
  fieldTypeOf,
  metadataType,
  outputFields,
} from './output-fields.ts';
import { pipelineSchema } from './schema.ts';
import { minimalPipeline } from './testing.ts';

const show = (fields: FieldInfo[]) =>
  fields.map((f) => `${f.name}:${typeToString(f.type)}${f.nullable ? '?' : ''}`);

function pipeline(overrides: Parameters<typeof minimalPipeline>[0]) {
  return pipelineSchema.parse(minimalPipeline(overrides));
}

test('declared fields: shorthand, objects, array and map, metadata sources', () => {
  const p = pipeline({
    schema: {
      fields: {
        id: 'uuid',
        note: { type: 'string', nullable: true },
        tags: { type: 'array', items: 'string' },
        attrs: { type: 'map', values: 'number' },
        k: { type: 'string', from: 'key' },
        t: { type: 'string', from: 'topic' },
        h: { type: 'string', from: 'header', header: 'trace' },
        p: { type: 'integer', from: 'partition' },
        o: { type: 'string', from: 'offset' },
        ts: { type: 'datetime', from: 'timestamp' },
      },
    },
  });
  assert.deepEqual(show(outputFields(p)), [
    'id:uuid',
    'note:string?',
    'tags:array<string>',
    'attrs:map<number>',
    'k:string',
    't:string',
    'h:string',
    'p:integer',
    'o:string',
    'ts:datetime',
  ]);
  assert.equal(metadataType('value'), undefined);
  assert.equal(metadataType('toString'), undefined);
  assert.deepEqual(fieldTypeOf('json'), { kind: 'json' });
});

test('each transform kind changes the fields as documented', () => {
  const p = pipeline({
    schema: {
      fields: {
        id: 'uuid',
        amount: 'number',
        ts: 'integer',
        note: { type: 'string', nullable: true },
      },
    },
    transforms: [
      { filter: 'amount > 0' },
      { rename: { amount: 'total' } },
      { convert: { ts: { to: 'datetime', format: 'epoch_s' }, total: 'string' } },
      {
        compute: { doubled: 'total', flag: { expr: 'total > 1', type: 'boolean', nullable: true } },
      },
      { drop: ['note'] },
    ],
  });
  const steps: string[][] = [];
  p.transforms.reduce((fields, t) => {
    const next = applyTransform(fields, t);
    steps.push(show(next));
    return next;
  }, declaredFields(p.schema.fields));
  assert.deepEqual(steps, [
    ['id:uuid', 'amount:number', 'ts:integer', 'note:string?'],
    ['id:uuid', 'total:number', 'ts:integer', 'note:string?'],
    ['id:uuid', 'total:string', 'ts:datetime', 'note:string?'],
    ['id:uuid', 'total:string', 'ts:datetime', 'note:string?', 'doubled:any', 'flag:boolean?'],
    ['id:uuid', 'total:string', 'ts:datetime', 'doubled:any', 'flag:boolean?'],
  ]);
  assert.deepEqual(show(outputFields(p)), steps.at(-1));
});

test('compute replaces an existing field in place; convert keeps nullability', () => {
  const p = pipeline({
    schema: { fields: { a: { type: 'string', nullable: true }, b: 'number' } },
    transforms: [
      { compute: { b: { expr: 'b * 100', type: 'integer' } } },
      { convert: { a: 'json' } },
    ],
  });
  assert.deepEqual(show(outputFields(p)), ['a:json?', 'b:integer']);
});

test('applyTransform reports unknown and colliding names with the fields at that point', () => {
  const fields = declaredFields({ id: 'uuid', user: 'string' });
  const problems: string[] = [];
  const report = (path: (string | number)[], problem: string, fix: string) =>
    problems.push(`${path.join('.')}: ${problem} (${fix})`);
  applyTransform(fields, { rename: { usr: 'u', id: 'user' } }, report);
  applyTransform(fields, { convert: { nope: 'string' } }, report);
  applyTransform(fields, { drop: ['user', 'gone'] }, report);
  assert.deepEqual(problems, [
    'rename.usr: renames unknown field "usr" (did you mean "user"? fields at this point: id, user)',
    'rename.id: renames "id" to "user", which already exists (drop "user" first or pick another name)',
    'convert.nope: converts unknown field "nope" (fields at this point: id, user)',
    'drop.1: drops unknown field "gone" (fields at this point: id)',
  ]);
});
