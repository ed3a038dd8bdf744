import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClickHouseError } from '@clickhouse/client';
import { isRetriable } from '../../core/errors.ts';
import { clearSecrets, registerSecrets } from '../../core/redact.ts';
import {
  classifyClickHouseError,
  cleanMessage,
  clickHouseCode,
  clickHouseFailure,
  errorHint,
} from './errors.ts';

// Messages as the servers send them.
const old = (code: number, text: string): Error =>
  new Error(`Code: ${code}, e.displayText() = DB::Exception: ${text}, e.what() = DB::Exception\n`);
const modern = (code: number, type: string, text: string): ClickHouseError =>
  new ClickHouseError({ code: String(code), type, message: `${text}. ` });
const netError = (code: string, message: string): Error =>
  Object.assign(new Error(message), { code });

test('extracts the code from 18.16 text, ClickHouseError and causes', () => {
  assert.equal(clickHouseCode(old(193, 'Wrong password for user weir')), 193);
  assert.equal(clickHouseCode(modern(60, 'UNKNOWN_TABLE', 'Table default.x does not exist')), 60);
  assert.equal(
    clickHouseCode(
      new Error(
        'Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS) (version 24.3.1.1)',
      ),
    ),
    252,
  );
  assert.equal(
    clickHouseCode(new Error('wrapped', { cause: old(241, 'Memory limit exceeded') })),
    241,
  );
  assert.equal(clickHouseCode('Code: 62, e.displayText() = DB::Exception: Syntax error'), 62);
  assert.equal(
    clickHouseCode(netError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')),
    undefined,
  );
  assert.equal(clickHouseCode(undefined), undefined);
});

test('network errors and client timeouts are retryable', () => {
  for (const [code, msg] of [
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'],
    ['ECONNRESET', 'read ECONNRESET'],
    ['ETIMEDOUT', 'connect ETIMEDOUT'],
    ['EPIPE', 'write EPIPE'],
  ] as const) {
    assert.deepEqual(classifyClickHouseError(netError(code, msg)), {
      kind: 'retryable',
      message: msg,
    });
  }
  assert.equal(classifyClickHouseError(new Error('Timeout error.')).kind, 'retryable');
  assert.equal(classifyClickHouseError(new Error('socket hang up')).kind, 'retryable');
  assert.equal(
    classifyClickHouseError(new Error('<html>502 Bad Gateway</html>')).kind,
    'retryable',
  );
  assert.equal(
    classifyClickHouseError(Object.assign(new Error('Service Unavailable'), { statusCode: 503 }))
      .kind,
    'retryable',
  );
  assert.equal(
    classifyClickHouseError(new TypeError('fetch failed', { cause: netError('ECONNRESET', 'x') }))
      .kind,
    'retryable',
  );
});

test('transient server codes are retryable', () => {
  for (const code of [159, 202, 209, 210, 225, 241, 242, 252, 999, 319]) {
    const c = classifyClickHouseError(old(code, 'transient'));
    assert.equal(c.kind, 'retryable', String(code));
    assert.equal(c.code, code);
  }
  assert.equal(
    classifyClickHouseError(modern(252, 'TOO_MANY_PARTS', 'Too many parts')).kind,
    'retryable',
  );
  assert.equal(classifyClickHouseError(old(12345, 'something new')).kind, 'retryable');
});

test('bad data is a record error', () => {
  for (const code of [6, 26, 27, 33, 38, 41, 53, 69, 70, 72, 117, 131, 376, 467, 691]) {
    assert.equal(
      classifyClickHouseError(old(code, 'Cannot parse input')).kind,
      'record',
      String(code),
    );
  }
  assert.equal(
    classifyClickHouseError(old(49, "Unknown element 'zz' for type Enum8('a' = 1)")).kind,
    'record',
  );
  assert.equal(classifyClickHouseError(old(49, 'Logical error: something broke')).kind, 'fatal');
});

test('auth, missing objects, syntax and permissions are fatal, with hints', () => {
  for (const code of [516, 192, 193, 194, 60, 81, 16, 62, 164, 497]) {
    const c = classifyClickHouseError(old(code, 'nope'));
    assert.equal(c.kind, 'fatal', String(code));
    assert.ok(errorHint(code), `hint for ${code}`);
  }
  assert.match(errorHint(193) ?? '', /sink\.clickhouse\.username and sink\.clickhouse\.password/);
  assert.match(errorHint(60) ?? '', /create_table/);
  assert.equal(errorHint(undefined), undefined);
  assert.equal(errorHint(27), undefined);
  assert.equal(classifyClickHouseError(new TypeError('x is not a function')).kind, 'fatal');
  assert.equal(
    classifyClickHouseError(Object.assign(new Error('Unauthorized'), { status: 401 })).kind,
    'fatal',
  );
});

test('messages are one clean line without credentials', () => {
  assert.equal(
    cleanMessage(old(193, 'Wrong password for user weir')),
    'Code: 193, DB::Exception: Wrong password for user weir',
  );
  assert.equal(
    cleanMessage(
      new Error(
        'Code: 60. DB::Exception: Table default.x does not exist. (UNKNOWN_TABLE) (version 24.3.1.1)\nStack trace:\n0. foo',
      ),
    ),
    'Code: 60. DB::Exception: Table default.x does not exist. (UNKNOWN_TABLE)',
  );
  assert.equal(
    cleanMessage(new Error('connect to http://weir:s3cret@host:8123 failed')),
    'connect to http://***@host:8123 failed',
  );
  registerSecrets(['hunter2']);
  try {
    const c = classifyClickHouseError(new Error('login with hunter2 failed'));
    assert.equal(c.message, 'login with *** failed');
  } finally {
    clearSecrets();
  }
  assert.ok(cleanMessage(new Error('x'.repeat(2000))).length <= 501);
  assert.equal(cleanMessage('plain'), 'plain');
  assert.equal(cleanMessage(42), '42');
});

test('a classified failure is retriable exactly when it is retryable, and says the fix', () => {
  const what = 'ClickHouse insert into default.t failed';
  const busy = clickHouseFailure(what, old(202, 'Too many simultaneous queries'), 'check');
  assert.equal(busy.kind, 'retryable');
  assert.ok(isRetriable(busy));
  assert.equal(busy.code, 202);
  assert.equal(busy.detail, 'Code: 202, DB::Exception: Too many simultaneous queries');
  assert.equal(busy.message, `${what}: ${busy.detail}`);
  const badRow = clickHouseFailure(what, old(27, 'Cannot parse input'), 'check');
  assert.equal(badRow.kind, 'record');
  assert.ok(!isRetriable(badRow));
  const denied = clickHouseFailure(what, old(497, 'Not enough privileges'), 'check the config');
  assert.equal(denied.kind, 'fatal');
  assert.ok(!isRetriable(denied));
  assert.equal(denied.hint, errorHint(497));
  const other = clickHouseFailure(what, new TypeError('x is not a function'), 'check the config');
  assert.equal(other.hint, 'check the config');
  assert.ok(other.cause instanceof TypeError);
});

test('what 18.16 answers when the table changed asks for a re-read of the table', () => {
  // A dropped column: the row's field is unknown (117); a retyped one: a parse error (27, 6).
  const dropped = old(
    117,
    'Unknown field found while parsing JSONEachRow format: status: (at row 1)',
  );
  const retyped = old(
    27,
    'Cannot parse input: expected " before: 5 (while read the value of key n)',
  );
  const parse = old(6, "Cannot parse string 'a' as UInt8: syntax error at begin of string.");
  for (const e of [dropped, retyped, parse]) {
    const f = clickHouseFailure('insert', e);
    assert.equal(f.kind, 'record');
    assert.equal(f.tableMayHaveChanged, true);
  }
  assert.equal(
    clickHouseFailure('insert', old(16, 'No such column x in table')).tableMayHaveChanged,
    true,
  );
  assert.equal(
    clickHouseFailure('insert', old(60, 'Table x does not exist')).tableMayHaveChanged,
    false,
  );
  assert.equal(clickHouseFailure('insert', old(241, 'Memory limit')).tableMayHaveChanged, false);
});

test('a server code no list names is retryable but marked unknown (bounded before a pause)', () => {
  const f = clickHouseFailure('insert', old(4242, 'Something new'));
  assert.equal(f.kind, 'retryable');
  assert.equal(f.unknown, true);
  assert.equal(clickHouseFailure('insert', old(241, 'Memory limit')).unknown, false);
  assert.equal(
    clickHouseFailure('insert', netError('ECONNRESET', 'read ECONNRESET')).unknown,
    false,
  );
});
