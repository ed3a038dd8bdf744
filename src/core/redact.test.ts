import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clearSecrets,
  maskSecrets,
  redact,
  redactUrl,
  redactUrls,
  redactUrlsIn,
  registerSecrets,
  splitCredentials,
  urlSecrets,
} from './redact.ts';

afterEach(clearSecrets);

test('redactUrl masks user and password, and keeps scheme, host, port and path', () => {
  assert.equal(redactUrl('nats://alice:s3cret@nats.local:4222'), 'nats://***@nats.local:4222');
  assert.equal(
    redactUrl('http://weir:pw@127.0.0.1:8123/db?x=1#f'),
    'http://***@127.0.0.1:8123/db?x=1#f',
  );
  assert.equal(redactUrl('https://[::1]:8443'), 'https://[::1]:8443', 'nothing to mask');
  assert.equal(redactUrl('127.0.0.1:4222'), '127.0.0.1:4222');
});

test('redactUrl masks a lone user part (NATS reads it as a token) and NATS URLs without a scheme', () => {
  assert.equal(redactUrl('nats://T0KEN@host:4222'), 'nats://***@host:4222');
  assert.equal(redactUrl('alice:s3cret@host:4222'), '***@host:4222');
  assert.equal(redactUrl('http://weir@host:8123'), 'http://***@host:8123');
});

test('redactUrl masks encoded characters and an unencoded @ in the password whole', () => {
  assert.equal(redactUrl('http://u:p%40ss%2Fw%3Ard@h:1/x'), 'http://***@h:1/x');
  assert.equal(redactUrl('http://u:p@ss@h:1'), 'http://***@h:1');
  assert.equal(redactUrl('http://host:8123/path@x'), 'http://host:8123/path@x', '@ in the path');
});

test('redactUrls joins a server list', () => {
  assert.equal(redactUrls(['nats://a:b@h1:4222', 'h2:4222']), 'nats://***@h1:4222,h2:4222');
});

test('redactUrlsIn masks every URL with user info in a text and leaves the rest', () => {
  const text =
    'connect to http://weir:pw1@ch:8123/ failed; tried nats://u:pw2@n1:4222, nats://tok3n@n2:4222 and http://plain:8123 (mail me: a@b.c)';
  assert.equal(
    redactUrlsIn(text),
    'connect to http://***@ch:8123/ failed; tried nats://***@n1:4222, nats://***@n2:4222 and http://plain:8123 (mail me: a@b.c)',
  );
  // Inside a JSON log line a URL ends at its closing quote.
  assert.equal(
    redactUrlsIn('{"url":"http://h:8123","user":"a@b","nats":"nats://u:p@n:4222"}'),
    '{"url":"http://h:8123","user":"a@b","nats":"nats://***@n:4222"}',
  );
  assert.equal(redactUrlsIn('HTTP://U:P@H'), 'HTTP://***@H');
});

test('splitCredentials moves decoded credentials out of the URL', () => {
  const cases: [string, ReturnType<typeof splitCredentials>][] = [
    [
      'http://weir:p%40ss%20w@127.0.0.1:8123/',
      { url: 'http://127.0.0.1:8123/', username: 'weir', password: 'p@ss w' },
    ],
    ['https://only-user@h:8443', { url: 'https://h:8443', username: 'only-user' }],
    ['http://h:8123', { url: 'http://h:8123' }],
    ['u:p@ss@n:4222', { url: 'n:4222', username: 'u', password: 'p@ss' }],
    ['nats://t0ken@n:4222', { url: 'nats://n:4222', username: 't0ken' }],
  ];
  for (const [url, expected] of cases) assert.deepEqual(splitCredentials(url), expected, url);
});

test('urlSecrets finds the password (decoded) and, where asked, a lone token', () => {
  assert.deepEqual(urlSecrets('http://u:p%40ss@h', false), ['p@ss']);
  assert.deepEqual(urlSecrets('u:pw@h:4222', false), ['pw']);
  assert.deepEqual(urlSecrets('nats://tok3n@h:4222', true), ['tok3n']);
  assert.deepEqual(urlSecrets('http://weir@h:8123', false), [], 'a user name is no secret');
  assert.deepEqual(urlSecrets('http://h:8123', true), []);
});

test('registered secrets are masked anywhere, also escaped in JSON and percent-encoded', () => {
  assert.equal(maskSecrets('hunter22'), 'hunter22', 'nothing registered');
  registerSecrets(['hunter22', 'pa"ss\\word', 'p@ss/word', undefined, '']);
  assert.equal(maskSecrets('login with hunter22 failed: hunter22'), 'login with *** failed: ***');
  assert.equal(maskSecrets(JSON.stringify({ err: 'bad pa"ss\\word' })), '{"err":"bad ***"}');
  assert.equal(maskSecrets('http://u:p%40ss%2Fword@h'), 'http://u:***@h');
});

test('a secret containing another is masked whole; very short values are not masked', () => {
  registerSecrets(['abcd', 'abcdefgh', 'ab']);
  assert.equal(maskSecrets('x abcdefgh y abcd z ab'), 'x *** y *** z ab');
});

test('redact masks URL user info and registered secrets together', () => {
  registerSecrets(['tok-12345']);
  assert.equal(
    redact('NATS at nats://u:other@h:4222 rejected token tok-12345'),
    'NATS at nats://***@h:4222 rejected token ***',
  );
});
