import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qualifiedName, quoteIdent, quoteString } from './sql.ts';

test('identifiers are backquoted with escapes', () => {
  assert.equal(quoteIdent('events'), '`events`');
  assert.equal(quoteIdent('we`ird\\name'), '`we\\`ird\\\\name`');
  assert.equal(qualifiedName('db', 't.x'), '`db`.`t.x`');
});

test('string literals are single-quoted with escapes', () => {
  assert.equal(quoteString("it's"), "'it\\'s'");
  assert.equal(quoteString('a\\b'), "'a\\\\b'");
});
