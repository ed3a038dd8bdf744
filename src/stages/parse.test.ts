import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../core/errors.ts';
import type { SourceRecord, StageOutput } from '../core/record.ts';
import type { FieldSpec } from './options.ts';
import { createParser, schemaFields } from './parse.ts';
import { toEnvelopes } from './stage.ts';
import { sourceRecord } from './testkit.ts';

const MAY_1 = Date.parse('2024-05-01T12:00:00Z');

async function parse(
  fields: Record<string, FieldSpec>,
  ...records: SourceRecord[]
): Promise<StageOutput> {
  return await createParser(fields).process(toEnvelopes(records));
}

async function parseOne(fields: Record<string, FieldSpec>, value: unknown) {
  const result = await parse(fields, sourceRecord(value));
  assert.equal(result.dead.length, 0, result.dead[0]?.detail);
  return result.out[0]?.row;
}

async function deadLetter(fields: Record<string, FieldSpec>, value: unknown) {
  const result = await parse(fields, sourceRecord(value));
  assert.equal(result.out.length, 0);
  assert.equal(result.dead.length, 1);
  const dead = result.dead[0]!;
  assert.equal(dead.stage, 'parse');
  return dead;
}

describe('parse', () => {
  it('produces exactly the declared fields, converted, in declaration order', async () => {
    const row = await parseOne(
      {
        id: 'uuid',
        ts: 'datetime',
        user_id: { type: 'integer', path: 'user.id' },
        country: { type: 'string', path: 'user.geo.country' },
        amount: 'number',
        tags: { type: 'array', items: 'string' },
        props: 'json',
      },
      {
        id: 'A1B2C3D4-0000-4000-8000-000000000001',
        ts: '2024-05-01T14:00:00+02:00',
        user: { id: '17', geo: { country: 'DE' } },
        amount: 12.5,
        tags: ['a', 'b'],
        props: { x: [1, 2] },
        extra: 'ignored',
      },
    );
    assert.deepEqual(row, {
      id: 'a1b2c3d4-0000-4000-8000-000000000001',
      ts: MAY_1,
      user_id: 17,
      country: 'DE',
      amount: 12.5,
      tags: ['a', 'b'],
      props: { x: [1, 2] },
    });
    assert.deepEqual(Object.keys(row ?? {}), [
      'id',
      'ts',
      'user_id',
      'country',
      'amount',
      'tags',
      'props',
    ]);
  });

  it('reads paths into arrays and keys that look like Object members only when own', async () => {
    const fields: Record<string, FieldSpec> = {
      first: { type: 'string', path: 'items.0.name' },
      ctor: { type: 'json', path: 'constructor', nullable: true },
      deep: { type: 'json', path: 'a.toString', nullable: true },
    };
    assert.deepEqual(await parseOne(fields, { items: [{ name: 'x' }], a: {} }), {
      first: 'x',
      ctor: null,
      deep: null,
    });
    assert.deepEqual(await parseOne(fields, { items: [{ name: 'x' }], constructor: 1 }), {
      first: 'x',
      ctor: 1,
      deep: null,
    });
  });

  it('applies defaults to missing fields but not to null ones', async () => {
    const fields: Record<string, FieldSpec> = {
      country: { type: 'string', default: 'unknown' },
      since: { type: 'date', default: '2024-01-01' },
      score: { type: 'integer', nullable: true, default: 0 },
    };
    assert.deepEqual(await parseOne(fields, {}), {
      country: 'unknown',
      since: Date.parse('2024-01-01'),
      score: 0,
    });
    assert.deepEqual(await parseOne(fields, { country: 'FR', score: null }), {
      country: 'FR',
      since: Date.parse('2024-01-01'),
      score: null,
    });
    const dead = await deadLetter(fields, { country: null });
    assert.equal(dead.reason, 'null_field');
    assert.equal(dead.detail, 'field "country" is null');
  });

  it('turns null and missing nullable fields into null', async () => {
    const fields: Record<string, FieldSpec> = {
      a: { type: 'string', nullable: true },
      b: { type: 'integer', nullable: true, path: 'x.y' },
    };
    assert.deepEqual(await parseOne(fields, { a: null }), { a: null, b: null });
    assert.deepEqual(await parseOne(fields, { x: null }), { a: null, b: null });
    assert.deepEqual(await parseOne(fields, { x: 'scalar' }), { a: null, b: null });
  });

  it('reads metadata fields', async () => {
    const fields: Record<string, FieldSpec> = {
      k: { type: 'string', from: 'key' },
      topic: { type: 'string', from: 'topic' },
      partition: { type: 'integer', from: 'partition' },
      offset: { type: 'string', from: 'offset' },
      offset_n: { type: 'integer', from: 'offset' },
      kafka_ts: { type: 'datetime', from: 'timestamp' },
      trace: { type: 'string', from: 'header', header: 'trace-id' },
      tenant: { type: 'integer', from: 'header', header: 'tenant' },
      absent: { type: 'string', from: 'header', header: 'nope', nullable: true },
    };
    const record = sourceRecord(null, {
      key: Buffer.from('user-1'),
      headers: { 'trace-id': Buffer.from('abc'), tenant: '7' },
      timestamp: 5000,
    });
    const result = await parse(fields, record);
    assert.equal(result.dead.length, 0, result.dead[0]?.detail);
    assert.deepEqual(result.out[0]?.row, {
      k: 'user-1',
      topic: 'events',
      partition: 3,
      offset: '42',
      offset_n: 42,
      kafka_ts: 5000,
      trace: 'abc',
      tenant: 7,
      absent: null,
    });
  });

  it('dead-letters a null key in a non-nullable key field and a missing header', async () => {
    const keyed = await parse({ k: { type: 'string', from: 'key' } }, sourceRecord({}));
    assert.equal(keyed.dead[0]?.reason, 'null_field');
    const header = await parse(
      { h: { type: 'string', from: 'header', header: 'h' } },
      sourceRecord({}),
    );
    assert.equal(header.dead[0]?.reason, 'missing_field');
    assert.equal(header.dead[0]?.detail, 'field "h" is missing in metadata');
  });

  describe('dead letters', () => {
    const fields: Record<string, FieldSpec> = {
      id: 'integer',
      name: { type: 'string', path: 'user.name' },
    };

    it('invalid_json: unparseable, not an object, or empty', async () => {
      const bad = await deadLetter(fields, '{"id": 1,');
      assert.equal(bad.reason, 'invalid_json');
      assert.match(bad.detail, /^value is not valid JSON: /);
      const array = await deadLetter(fields, '[1, 2]');
      assert.equal(array.reason, 'invalid_json');
      assert.equal(array.detail, 'value is array [1,2]; expected a JSON object');
      assert.equal((await deadLetter(fields, '"text"')).reason, 'invalid_json');
      assert.equal((await deadLetter(fields, 'null')).reason, 'invalid_json');
      const empty = await deadLetter(fields, '');
      assert.equal(empty.reason, 'invalid_json');
      assert.equal(empty.detail, 'value is empty; expected a JSON object');
      assert.equal((await deadLetter(fields, null)).reason, 'invalid_json');
    });

    it('missing_field names the field and path', async () => {
      const dead = await deadLetter(fields, { id: 1, user: {} });
      assert.equal(dead.reason, 'missing_field');
      assert.equal(dead.detail, 'field "name" is missing at path "user.name"');
    });

    it('null_field', async () => {
      const dead = await deadLetter(fields, { id: null, user: { name: 'a' } });
      assert.equal(dead.reason, 'null_field');
      assert.equal(dead.detail, 'field "id" is null');
    });

    it('type_mismatch names field, type and value', async () => {
      const dead = await deadLetter(fields, { id: '4.2', user: { name: 'a' } });
      assert.equal(dead.reason, 'type_mismatch');
      assert.equal(dead.detail, 'field "id": expected integer, got string "4.2"');
    });

    it('keeps going after a bad record', async () => {
      const result = await parse(
        fields,
        sourceRecord({ id: 1, user: { name: 'a' } }),
        sourceRecord('nope'),
        sourceRecord({ id: 2, user: { name: 'b' } }),
      );
      assert.deepEqual(
        result.out.map((e) => e.row.id),
        [1, 2],
      );
      assert.equal(result.dead.length, 1);
    });
  });

  it('skips JSON parsing when every field comes from metadata', async () => {
    const result = await parse({ t: { type: 'string', from: 'topic' } }, sourceRecord('not json'));
    assert.deepEqual(result.out[0]?.row, { t: 'events' });
  });

  it('rejects invalid specs with ConfigError', () => {
    assert.throws(() => createParser({}), ConfigError);
    assert.throws(
      () => createParser({ a: { type: 'array' } }),
      /schema\.fields\.a: items must be one of/,
    );
    assert.throws(() => createParser({ a: { type: 'map' } }), /values must be one of/);
    assert.throws(
      () => createParser({ a: { type: 'string', from: 'header' } }),
      /needs a header name/,
    );
    assert.throws(() => createParser({ a: { type: 'string', path: 'x..y' } }), /empty segment/);
    assert.throws(
      () => createParser({ a: { type: 'integer', default: 'x' } }),
      /invalid default: field "a": expected integer/,
    );
    assert.throws(() => createParser({ a: { type: 'integer', default: null } }), /default is null/);
    assert.throws(() => createParser({ a: 'text' as 'string' }), /type must be one of/);
  });
});

describe('schemaFields', () => {
  it('describes the parsed fields', () => {
    assert.deepEqual(
      schemaFields({ a: 'string', b: { type: 'array', items: 'integer', nullable: true } }),
      [
        { name: 'a', type: { kind: 'string' }, nullable: false },
        { name: 'b', type: { kind: 'array', items: { kind: 'integer' } }, nullable: true },
      ],
    );
  });
});

describe('parse: max_record_bytes', () => {
  it('dead-letters records over the limit (key, value and headers) before decoding them', async () => {
    const parser = createParser({ id: 'integer' }, 'parse', { maxRecordBytes: 100 });
    const fits = sourceRecord({ id: 1 }, { offset: '1' });
    // Not JSON at all: an oversize record is refused for its size, never parsed.
    const big = sourceRecord('x'.repeat(101), { offset: '2' });
    const bigByHeaders = sourceRecord({ id: 3 }, { offset: '3', headers: { h: 'y'.repeat(95) } });
    const atLimit = sourceRecord(`{"id":4,"pad":"${'z'.repeat(100 - 17)}"}`, { offset: '4' });
    assert.equal(atLimit.value!.length, 100);
    const out = await parser.process(toEnvelopes([fits, big, bigByHeaders, atLimit]));
    assert.deepEqual(
      out.out.map((e) => e.row),
      [{ id: 1 }, { id: 4 }],
    );
    assert.deepEqual(
      out.dead.map((d) => [d.source.offset, d.reason]),
      [
        ['2', 'oversize'],
        ['3', 'oversize'],
      ],
    );
    assert.match(out.dead[0]!.detail, /record is 101 bytes .*max_record_bytes is 100/);
  });
});
