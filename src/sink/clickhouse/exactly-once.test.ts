import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessExactlyOnce } from './exactly-once.ts';

const old = { version: '18.16.1', supportsInsertDeduplicationToken: false };
const modern = { version: '24.8.1', supportsInsertDeduplicationToken: true };
const eng = (engine: string, engineFull = engine) => ({ engine, engineFull });

describe('assessExactlyOnce', () => {
  it('accepts Replicated tables on every server', () => {
    assert.equal(assessExactlyOnce(old, eng('ReplicatedMergeTree')).ok, true);
    assert.equal(assessExactlyOnce(modern, eng('ReplicatedReplacingMergeTree')).ok, true);
  });

  it('needs a deduplication window for plain MergeTree on token-capable servers', () => {
    const no = assessExactlyOnce(modern, eng('MergeTree', 'MergeTree ORDER BY id'));
    assert.equal(no.ok, false);
    assert.match(no.fix ?? '', /non_replicated_deduplication_window/);
    const yes = assessExactlyOnce(
      modern,
      eng(
        'MergeTree',
        'MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100, index_granularity = 8192',
      ),
    );
    assert.equal(yes.ok, true);
  });

  it('refuses plain MergeTree on old servers and other engines everywhere, saying what to change', () => {
    const r = assessExactlyOnce(old, eng('MergeTree'));
    assert.equal(r.ok, false);
    assert.match(r.fix ?? '', /ReplicatedMergeTree/);
    assert.equal(assessExactlyOnce(modern, eng('Distributed')).ok, false);
    assert.equal(assessExactlyOnce(modern, undefined).ok, false);
  });
});
