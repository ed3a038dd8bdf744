import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, RecordError } from '../core/errors.ts';
import type { Row } from '../core/record.ts';
import { compileExpression, functionNames } from './expr.ts';

const row: Row = {
  amount: 12.5,
  qty: 3,
  name: '  Ada Lovelace ',
  country: 'DE',
  missing: null,
  tags: ['new', 'vip'],
  payload: { user: { id: 7, plan: 'pro' }, items: [{ sku: 'a' }] },
  'odd name': 1,
  ok: true,
};
const fields = Object.keys(row);
const run = (src: string, r: Row = row): unknown => compileExpression(src, fields)(r);

function assertConfigError(src: string, message: RegExp, hint?: RegExp): void {
  assert.throws(
    () => compileExpression(src, fields),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, message);
      if (hint) assert.match(err.hint ?? '', hint);
      return true;
    },
  );
}

function assertRecordError(src: string, message: RegExp, r: Row = row): void {
  assert.throws(
    () => run(src, r),
    (err: unknown) => {
      assert.ok(err instanceof RecordError, String(err));
      assert.equal(err.reason, 'expression_error');
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('compileExpression: evaluation', () => {
  it('arithmetic, comparison, logic and if-then-else', () => {
    assert.equal(run('amount * qty + 1'), 38.5);
    assert.equal(run('qty mod 2'), 1);
    assert.equal(run('-qty ^ 2'), -9);
    assert.equal(run('amount > 10 and country == "DE"'), true);
    assert.equal(run('not (qty > 5) or false'), true);
    assert.equal(run('country in ("DE", "FR")'), true);
    assert.equal(run('country not in ("DE", "FR")'), false);
    assert.equal(run('if qty > 2 then "many" else "few"'), 'many');
    assert.equal(run('country ~= "^D"'), true);
    assert.equal(run('"a" < "b"'), true);
    assert.equal(run('ok'), true);
  });

  it('reads nested JSON with dots or `of`, and quoted names', () => {
    assert.equal(run('payload.user.id'), 7);
    assert.equal(run('plan of user of payload'), 'pro');
    assert.equal(run('payload.items.0.sku'), 'a');
    assert.equal(run('payload.user.nope'), null);
    assert.equal(run('payload.user.id.deeper'), null);
    assert.equal(run("'odd name' + 1"), 2);
  });

  it('never reaches prototype members', () => {
    assert.equal(run('payload.constructor'), null);
    assert.equal(run('payload.user.__proto__'), null);
    assert.equal(run('payload.user.toString'), null);
  });

  it('string functions', () => {
    assert.equal(run('lower(country)'), 'de');
    assert.equal(run('upper("x")'), 'X');
    assert.equal(run('trim(name)'), 'Ada Lovelace');
    assert.equal(run('concat(country, "-", qty, "-", ok)'), 'DE-3-true');
    assert.equal(run('substr(country, 1)'), 'E');
    assert.equal(run('substr(trim(name), 0, 3)'), 'Ada');
    assert.equal(run('substr(trim(name), -8)'), 'Lovelace');
    assert.equal(run('substr("abc", 5, 2)'), '');
    assert.equal(run('len(country)'), 2);
    assert.equal(run('len(tags)'), 2);
    assert.equal(run('starts_with(country, "D")'), true);
    assert.equal(run('ends_with(country, "D")'), false);
    assert.equal(run('contains(name, "Love")'), true);
    assert.equal(run('contains(tags, "vip")'), true);
    assert.equal(run('replace("a-b-c", "-", "_")'), 'a_b_c');
  });

  it('math functions', () => {
    assert.equal(run('abs(-2)'), 2);
    assert.equal(run('round(amount)'), 13);
    assert.equal(run('round(-2.5)'), -3);
    assert.equal(run('round(1.005, 2)'), 1.01);
    assert.equal(run('round(1234, -2)'), 1200);
    assert.equal(run('floor(amount)'), 12);
    assert.equal(run('ceil(amount)'), 13);
    assert.equal(run('min(qty, amount, 4)'), 3);
    assert.equal(run('max(qty, amount)'), 12.5);
    assert.equal(run('sqrt(16)'), 4);
  });

  it('null propagates; coalesce, exists and empty handle it', () => {
    assert.equal(run('missing + 1'), null);
    assert.equal(run('lower(missing)'), null);
    assert.equal(run('max(missing, 1)'), null);
    assert.equal(run('concat("a", missing)'), null);
    assert.equal(run('missing > 1'), false);
    assert.equal(run('missing == null'), true);
    assert.equal(run('coalesce(missing, country)'), 'DE');
    assert.equal(run('coalesce(missing, null)'), null);
    assert.equal(run('exists(missing)'), false);
    assert.equal(run('empty("")'), true);
  });

  it('conversions', () => {
    assert.equal(run('to_number("4.5") * 2'), 9);
    assert.equal(run('to_number(ok)'), 1);
    assert.equal(run('to_string(qty)'), '3');
    assert.equal(run('to_string(payload.user)'), '{"id":7,"plan":"pro"}');
    assert.equal(run('to_datetime("2024-05-01T00:00:00Z")'), Date.parse('2024-05-01'));
    assert.equal(run('to_datetime(1714521600, "epoch_s")'), Date.parse('2024-05-01'));
  });

  it('is deterministic: there is no now()', () => {
    assert.ok(!functionNames.includes('now'));
    assertConfigError('now() > 0', /unknown function now\(\)/, /must not depend on when/);
  });
});

describe('compileExpression: runtime errors become expression_error', () => {
  it('wrong operand or argument types', () => {
    assertRecordError(
      'lower(qty)',
      /^expression `lower\(qty\)`: lower\(\) expects text, got number 3$/,
    );
    assertRecordError('country * 2', /operator \* expects numbers, got string "DE" and number 2/);
    assertRecordError('country < 1', /expects two numbers or two texts/);
    assertRecordError('to_number("abc")', /to_number\(\) cannot read string "abc"/);
    assertRecordError('to_datetime("soon")', /cannot read string "soon" as a date-time/);
    assertRecordError('substr(country, 1.5)', /substr\(\) expects an integer/);
  });
  it('non-boolean conditions (filtrex requires booleans for and/or/not/if)', () => {
    assertRecordError('qty and ok', /Expected a logical value/);
    assertRecordError('if missing then 1 else 2', /Expected a logical value/);
  });
});

describe('compileExpression: compile errors', () => {
  it('syntax errors name the expression and the column', () => {
    assertConfigError(
      'qty ++',
      /^invalid expression `qty \+\+`: syntax error at column 6: expecting/,
    );
    assertConfigError('qty @ 1', /unrecognized text at column 5/);
    assertConfigError('', /invalid expression ``: syntax error/);
    assertConfigError('"open', /unrecognized text/);
  });
  it('unknown fields and functions', () => {
    assertConfigError(
      'price > 1',
      /^expression `price > 1`: unknown field "price"$/,
      /amount, qty/,
    );
    assertConfigError('price.x > 1', /unknown field "price"/);
    assertConfigError("'no such' > 1", /unknown field "no such"/);
    assertConfigError('frobnicate(qty)', /unknown function frobnicate\(\)/, /lower, upper/);
    assertConfigError('toString(qty)', /unknown function toString\(\)/);
  });
  it('wrong argument counts', () => {
    assertConfigError('lower()', /lower\(\) takes 1 argument\(s\), got 0/);
    assertConfigError(
      'substr(name)',
      /substr\(\) takes 2 to 3 argument\(s\), got 1/,
      /substr\(s, start/,
    );
    assertConfigError('coalesce()', /takes at least 1/);
    assertConfigError('lower(concat(name, "a"), "b")', /lower\(\) takes 1 argument\(s\), got 2/);
  });
  it('deprecated filtrex syntax', () => {
    assertConfigError('ok ? 1 : 2', /"\?" is not supported/, /if <condition> then/);
    assertConfigError('qty % 2', /"%" is not supported/, /mod/);
    assert.equal(run('"50% ? yes : no"'), '50% ? yes : no');
  });
});
