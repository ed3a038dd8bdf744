import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVersion, serverFeatures } from './server.ts';

test('parses versions', () => {
  assert.deepEqual(parseVersion('18.16.1'), { major: 18, minor: 16 });
  assert.deepEqual(parseVersion('26.7.2.1'), { major: 26, minor: 7 });
  assert.deepEqual(parseVersion('garbage'), { major: 0, minor: 0 });
});

test('18.16 as it describes itself', () => {
  const info = serverFeatures({
    version: '18.16.1',
    timezone: 'Etc/UTC',
    typeFamilies: ['LowCardinality'],
    settings: {},
  });
  assert.deepEqual(info, {
    version: '18.16.1',
    major: 18,
    minor: 16,
    timezone: 'Etc/UTC',
    supportsInsertDeduplicationToken: false,
    supportsAsyncInsert: false,
    supportsBool: false,
    supportsDate32: false,
    supportsDateTime64: false,
    supportsMap: false,
    supportsLowCardinality: true,
    namedTuplesAsObjects: false,
    legacyDateRange: true,
  });
});

test('a current server as it describes itself', () => {
  const info = serverFeatures({
    version: '26.7.2.1',
    timezone: 'UTC',
    typeFamilies: ['Bool', 'Date32', 'DateTime64', 'Map', 'LowCardinality'],
    settings: {
      insert_deduplication_token: '',
      async_insert: '0',
      input_format_json_named_tuples_as_objects: '1',
      allow_experimental_map_type: '1',
    },
  });
  assert.equal(info.supportsInsertDeduplicationToken, true);
  assert.equal(info.supportsAsyncInsert, true);
  assert.equal(info.supportsBool, true);
  assert.equal(info.supportsMap, true);
  assert.equal(info.namedTuplesAsObjects, true);
  assert.equal(info.legacyDateRange, false);
});

test('without probes, features follow the version', () => {
  const at = (version: string) => serverFeatures({ version, timezone: '' });
  assert.equal(at('22.1.1').supportsInsertDeduplicationToken, false);
  assert.equal(at('22.2.1').supportsInsertDeduplicationToken, true);
  assert.equal(at('21.10.1').supportsAsyncInsert, false);
  assert.equal(at('21.11.1').supportsAsyncInsert, true);
  assert.equal(at('21.11.1').supportsBool, false);
  assert.equal(at('21.12.1').supportsBool, true);
  assert.equal(at('21.3.1').supportsMap, false);
  assert.equal(at('21.8.1').supportsMap, true);
  assert.equal(at('20.3.1').supportsDateTime64, true);
  assert.equal(at('22.6.1').namedTuplesAsObjects, true);
  assert.equal(at('21.3.1').timezone, 'UTC');
  // Map behind its experimental flag.
  const flagged = serverFeatures({
    version: '21.3.1',
    timezone: 'UTC',
    typeFamilies: ['Map'],
    settings: { allow_experimental_map_type: '1' },
  });
  assert.equal(flagged.supportsMap, true);
});
