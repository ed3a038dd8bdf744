import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordError } from '../core/errors.ts';
import type { FieldType } from '../core/fields.ts';
import { converter, converterFrom, describeValue } from './convert.ts';
import type { TimeFormat } from './options.ts';

const to = (kind: FieldType['kind'], format?: TimeFormat) =>
  converter({ kind } as FieldType, 'f', format);

function assertMismatch(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RecordError);
    assert.equal(err.reason, 'type_mismatch');
    assert.match(err.message, message);
    return true;
  });
}

const MAY_1 = Date.parse('2024-05-01T12:00:00Z');

describe('converter: integer', () => {
  const int = to('integer');
  it('accepts integral numbers, numeric text and booleans', () => {
    assert.equal(int(42), 42);
    assert.equal(int(-7), -7);
    assert.equal(int('42'), 42);
    assert.equal(int('-42'), -42);
    assert.equal(int('4.0'), 4);
    assert.equal(int('1e3'), 1000);
    assert.equal(int(true), 1);
    assert.equal(int(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
    assert.equal(int(-Number.MAX_SAFE_INTEGER), -Number.MAX_SAFE_INTEGER);
  });
  it('rejects fractions, text and out-of-range values, naming field, type and value', () => {
    assertMismatch(() => int('4.2'), /^field "f": expected integer, got string "4\.2"$/);
    assertMismatch(() => int(4.2), /expected integer, got number 4\.2/);
    assertMismatch(() => int('abc'), /expected integer, got string "abc"/);
    assertMismatch(() => int(''), /got string ""/);
    assertMismatch(() => int(' 42'), /got string " 42"/);
    assertMismatch(() => int('0x10'), /expected integer/);
    assertMismatch(() => int({ a: 1 }), /got object \{"a":1\}/);
    assertMismatch(
      () => int(2 ** 53),
      /expected integer within ±\(2\^53-1\), got number 9007199254740992/,
    );
    assertMismatch(() => int('9007199254740993'), /within/);
    assertMismatch(() => int(-(2 ** 53)), /within/);
  });
  it('truncates long values in messages', () => {
    assertMismatch(() => int('x'.repeat(500)), /got string "x{56}\.\.\.$/);
  });
});

describe('converter: number, string, boolean, uuid, json', () => {
  it('number', () => {
    const num = to('number');
    assert.equal(num(1.5), 1.5);
    assert.equal(num('-1.5e2'), -150);
    assert.equal(num('.5'), 0.5);
    assert.equal(num(false), 0);
    assertMismatch(() => num('Infinity'), /expected number/);
    assertMismatch(() => num(NaN), /expected number/);
    assertMismatch(() => num('1,5'), /expected number/);
    assertMismatch(() => num([1]), /got array \[1\]/);
  });
  it('string', () => {
    const str = to('string');
    assert.equal(str('a'), 'a');
    assert.equal(str(12.5), '12.5');
    assert.equal(str(true), 'true');
    assertMismatch(() => str({}), /expected string, got object \{\}/);
    assertMismatch(() => str([]), /got array/);
  });
  it('boolean', () => {
    const bool = to('boolean');
    assert.equal(bool(true), true);
    assert.equal(bool(0), false);
    assert.equal(bool(1), true);
    assert.equal(bool('true'), true);
    assert.equal(bool('false'), false);
    assertMismatch(() => bool(2), /expected boolean, got number 2/);
    assertMismatch(() => bool('yes'), /expected boolean/);
    assertMismatch(() => bool('TRUE'), /expected boolean/);
  });
  it('uuid validates and lowercases', () => {
    const uuid = to('uuid');
    assert.equal(
      uuid('6F1C2E9A-3B4D-4E5F-8A9B-0C1D2E3F4A5B'),
      '6f1c2e9a-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
    );
    assertMismatch(() => uuid('6f1c2e9a3b4d4e5f8a9b0c1d2e3f4a5b'), /expected uuid/);
    assertMismatch(() => uuid('6f1c2e9a-3b4d-4e5f-8a9b-0c1d2e3f4a5g'), /expected uuid/);
    assertMismatch(() => uuid(12), /expected uuid/);
  });
  it('json keeps any value as is', () => {
    const json = to('json');
    const value = { a: [1, { b: null }] };
    assert.equal(json(value), value);
    assert.equal(json('x'), 'x');
  });
});

describe('converter: datetime', () => {
  it('auto: |n| >= 1e11 is epoch ms, smaller is epoch s', () => {
    const dt = to('datetime');
    assert.equal(dt(MAY_1), MAY_1);
    assert.equal(dt(MAY_1 / 1000), MAY_1);
    assert.equal(dt(1e11), 1e11);
    assert.equal(dt(99_999_999_999), 99_999_999_999_000);
    assert.equal(dt(0), 0);
    assert.equal(dt(-86_400), -86_400_000);
    assert.equal(dt(1714564800.123), MAY_1 + 123);
    assert.equal(dt(String(MAY_1)), MAY_1);
    assert.equal(dt(String(MAY_1 / 1000)), MAY_1);
  });
  it('auto: ISO text with and without zone, and the SQL form, as UTC', () => {
    const dt = to('datetime');
    assert.equal(dt('2024-05-01T12:00:00Z'), MAY_1);
    assert.equal(dt('2024-05-01T14:00:00+02:00'), MAY_1);
    assert.equal(dt('2024-05-01T12:00:00'), MAY_1);
    assert.equal(dt('2024-05-01 12:00:00'), MAY_1);
    assert.equal(dt('2024-05-01 12:00:00.250'), MAY_1 + 250);
    assert.equal(dt('2024-05-01'), MAY_1 - 12 * 3_600_000);
  });
  it('honours explicit formats for numbers', () => {
    assert.equal(to('datetime', 'epoch_ms')(1000), 1000);
    assert.equal(to('datetime', 'epoch_ms')('1000'), 1000);
    assert.equal(to('datetime', 'epoch_s')(MAY_1), MAY_1 * 1000);
    assert.equal(to('datetime', 'epoch_s')('1714564800'), MAY_1);
    assert.equal(to('datetime', 'epoch_s')('2024-05-01T12:00:00Z'), MAY_1);
    assert.equal(to('datetime', 'iso')('2024-05-01T12:00:00Z'), MAY_1);
    assertMismatch(() => to('datetime', 'iso')(MAY_1), /expected datetime \(iso\), got number/);
    assertMismatch(() => to('datetime', 'iso')('1714564800'), /expected datetime \(iso\)/);
  });
  it('rejects other values', () => {
    const dt = to('datetime');
    assertMismatch(() => dt('yesterday'), /^field "f": expected datetime, got string "yesterday"$/);
    assertMismatch(() => dt('2024-02-30'), /expected datetime/);
    assertMismatch(() => dt(true), /expected datetime/);
    assertMismatch(() => dt(''), /expected datetime/);
    assertMismatch(() => to('datetime', 'epoch_ms')(1e20), /expected datetime/);
  });
  it('date: epoch ms of the UTC midnight', () => {
    const date = to('date');
    const midnight = Date.parse('2024-05-01T00:00:00Z');
    assert.equal(date('2024-05-01'), midnight);
    assert.equal(date('2024-05-01T23:59:59Z'), midnight);
    assert.equal(date('2024-05-01T23:00:00-05:00'), midnight + 86_400_000);
    assert.equal(date(MAY_1), midnight);
    assert.equal(date(MAY_1 / 1000), midnight);
    assertMismatch(() => date('May 1'), /expected date, got/);
  });
});

describe('converter: array and map', () => {
  it('converts each element into a new container', () => {
    const ints = converter({ kind: 'array', items: { kind: 'integer' } }, 'ids');
    const input = ['1', 2];
    const out = ints(input);
    assert.deepEqual(out, [1, 2]);
    assert.notEqual(out, input);
    const times = converter({ kind: 'map', values: { kind: 'datetime' } }, 'seen');
    assert.deepEqual(times({ a: '2024-05-01T12:00:00Z', b: MAY_1 }), { a: MAY_1, b: MAY_1 });
  });
  it('names the failing element', () => {
    const ints = converter({ kind: 'array', items: { kind: 'integer' } }, 'ids');
    assertMismatch(() => ints([1, 'x']), /^field "ids\[1\]": expected integer, got string "x"$/);
    assertMismatch(() => ints([1, null]), /field "ids\[1\]": expected non-null element/);
    assertMismatch(() => ints('1,2'), /field "ids": expected array/);
    const map = converter({ kind: 'map', values: { kind: 'number' } }, 'm');
    assertMismatch(() => map({ a: 1, b: 'x' }), /field "m\.b": expected number/);
    assertMismatch(() => map([1]), /expected map/);
  });
  it('keeps a "__proto__" key as data', () => {
    const map = converter({ kind: 'map', values: { kind: 'integer' } }, 'm');
    const out = map(JSON.parse('{"__proto__": 1, "a": 2}')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['__proto__', 'a']);
  });
});

describe('converterFrom', () => {
  it('reads date-time fields as epoch ms and prints them as ISO text', () => {
    const ms = 5000; // small: `auto` would take it for seconds
    assert.equal(converterFrom({ kind: 'datetime' }, 'date', 'ts')(ms), 0);
    assert.equal(
      converterFrom({ kind: 'datetime' }, 'string', 'ts')(MAY_1),
      '2024-05-01T12:00:00.000Z',
    );
    assert.equal(converterFrom({ kind: 'date' }, 'string', 'd')(MAY_1), '2024-05-01');
    assert.equal(converterFrom({ kind: 'datetime' }, 'integer', 'ts')(MAY_1), MAY_1);
    assert.equal(converterFrom({ kind: 'string' }, 'datetime', 's')(String(MAY_1 / 1000)), MAY_1);
  });
});

describe('describeValue', () => {
  it('shows the JSON type and text', () => {
    assert.equal(describeValue('a'), 'string "a"');
    assert.equal(describeValue(null), 'null null');
    assert.equal(describeValue([1]), 'array [1]');
    assert.equal(describeValue(undefined), 'undefined undefined');
  });
});
