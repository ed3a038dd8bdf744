import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clickHouseCredentials } from './sink.ts';

test('credentials in the URL are sent as credentials, the URL without them', () => {
  const cfg = { username: 'default', password: '' };
  assert.deepEqual(clickHouseCredentials({ ...cfg, url: 'http://weir:p%40ss@ch:8123' }), {
    url: 'http://ch:8123',
    username: 'weir',
    password: 'p@ss',
  });
  assert.deepEqual(
    clickHouseCredentials({ url: 'https://weir@ch:8443', username: 'default', password: 'pw' }),
    { url: 'https://ch:8443', username: 'weir', password: 'pw' },
    'a user in the URL, the password from the config',
  );
  assert.deepEqual(
    clickHouseCredentials({ url: 'http://ch:8123', username: 'u', password: 'pw' }),
    { url: 'http://ch:8123', username: 'u', password: 'pw' },
  );
});
