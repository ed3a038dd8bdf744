import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordError } from '../core/errors.ts';
import { recordStage, toEnvelopes } from './stage.ts';
import { envelope, sourceRecord } from './testkit.ts';

describe('recordStage', () => {
  it('accounts for every record as kept, dropped or dead', async () => {
    const stage = recordStage('transform[0].test', 'test', (env) => {
      const n = env.row.n as number;
      if (n === 1) return { drop: 'filtered' };
      if (n === 2) throw new RecordError('type_mismatch', 'field "n": bad');
      env.row.seen = true;
      return env;
    });
    const batch = [0, 1, 2, 3].map((n) => envelope({ n }));
    const result = await stage.process(batch);
    assert.deepEqual(
      result.out.map((e) => e.row),
      [
        { n: 0, seen: true },
        { n: 3, seen: true },
      ],
    );
    assert.equal(result.dropped.length, 1);
    assert.equal(result.dropped[0]?.reason, 'filtered');
    assert.equal(result.dropped[0]?.env, batch[1]);
    assert.deepEqual(result.dead, [
      {
        source: batch[2]?.source,
        stage: 'transform[0].test',
        reason: 'type_mismatch',
        detail: 'field "n": bad',
      },
    ]);
    assert.equal(stage.name, 'transform[0].test');
    assert.equal(stage.kind, 'test');
  });

  it('throws other errors instead of dead-lettering them, naming stage and record', () => {
    const stage = recordStage('parse', 'parse', () => {
      throw new TypeError('boom');
    });
    assert.throws(
      () => stage.process([envelope({})]),
      (err: Error) => {
        assert.match(err.message, /stage parse failed on record events\/3\/42: boom/);
        assert.ok(err.cause instanceof TypeError);
        return true;
      },
    );
  });

  it('handles an empty batch', async () => {
    const stage = recordStage('s', 'k', (env) => env);
    assert.deepEqual(await stage.process([]), { out: [], dropped: [], dead: [] });
  });
});

describe('toEnvelopes', () => {
  it('wraps records with empty rows', () => {
    const records = [sourceRecord({ a: 1 }), sourceRecord({ a: 2 })];
    const batch = toEnvelopes(records);
    assert.equal(batch.length, 2);
    assert.equal(batch[1]?.source, records[1]);
    assert.deepEqual(batch[0]?.row, {});
  });
});
