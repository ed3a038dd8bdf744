import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '../telemetry/logger.ts';
import {
  JOIN_NOTICE_MS,
  assignmentChange,
  noticeSlowJoin,
  onCrash,
  toSourceRecord,
} from './kafka-source.ts';

describe('Kafka source', () => {
  it('turns a member assignment into what was added and what was revoked', () => {
    const first = assignmentChange(new Set(), { a: [0, 1], b: [0] });
    assert.deepEqual([...first.owned], ['a/0', 'a/1', 'b/0']);
    assert.deepEqual(first.added, [
      { topic: 'a', partition: 0 },
      { topic: 'a', partition: 1 },
      { topic: 'b', partition: 0 },
    ]);
    assert.deepEqual(first.revoked, []);
    const next = assignmentChange(first.owned, { a: [1, 2], 'x/y': [3] });
    assert.deepEqual(next.added, [
      { topic: 'a', partition: 2 },
      { topic: 'x/y', partition: 3 },
    ]);
    assert.deepEqual(next.revoked, [
      { topic: 'a', partition: 0 },
      { topic: 'b', partition: 0 },
    ]);
  });

  it('converts a kafkajs message into a source record', () => {
    const r = toSourceRecord('t', 2, {
      offset: '41',
      key: Buffer.from('k'),
      value: Buffer.from('{}'),
      timestamp: '1700000000000',
      attributes: 0,
      size: 0,
    });
    assert.deepEqual(r, {
      topic: 't',
      partition: 2,
      offset: '41',
      key: Buffer.from('k'),
      value: Buffer.from('{}'),
      headers: {},
      timestamp: 1_700_000_000_000,
    });
  });

  describe('a consumer crash', () => {
    const cfg = { brokers: ['k:9092'], client_id: 'weir', connection_timeout_ms: 1000 };
    const run = (stopping: boolean, restart: boolean) => {
      const lines: string[] = [];
      const fatal: unknown[] = [];
      const log = (level: string) => (_fields: unknown, msg?: string) =>
        lines.push(`${level}: ${msg ?? String(_fields)}`);
      const logger = { debug: log('debug'), info: log('info'), error: log('error') };
      onCrash(
        { error: new Error('Closed connection'), restart },
        { stopping, logger: logger as unknown as Logger, cfg, onFatal: (e) => fatal.push(e) },
      );
      return { lines, fatal };
    };

    it('during a stop is expected: not an error, not fatal', () => {
      assert.deepEqual(run(true, true), {
        lines: ['debug: Kafka consumer interrupted by the stop'],
        fatal: [],
      });
    });

    it('that kafkajs recovers from is logged with the restart', () => {
      assert.deepEqual(run(false, true), {
        lines: ['error: Kafka consumer crashed', 'info: restarting the Kafka consumer'],
        fatal: [],
      });
    });

    it('that kafkajs does not recover from fails the pipeline, explained', () => {
      const { lines, fatal } = run(false, false);
      assert.deepEqual(lines, ['error: Kafka consumer crashed']);
      assert.equal(fatal.length, 1);
      assert.match(String(fatal[0]), /Kafka at k:9092/);
    });
  });

  describe('the notice of a slow join', () => {
    const notices = () => {
      const lines: string[] = [];
      const logger = { info: (_fields: unknown, msg: string) => lines.push(msg) };
      return { lines, logger: logger as unknown as Logger };
    };
    const o = { group: 'g-orders', sessionTimeoutMs: 10_000 };

    it('says why partitions may not come yet once JOIN_NOTICE_MS have gone by', (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const { lines, logger } = notices();
      noticeSlowJoin({ ...o, logger });
      t.mock.timers.tick(JOIN_NOTICE_MS - 1);
      assert.deepEqual(lines, []);
      t.mock.timers.tick(1);
      assert.deepEqual(lines, [
        'waiting for partitions: a previous member of group g-orders may still hold them until its session times out (source.session_timeout_ms = 10000)',
      ]);
      t.mock.timers.tick(60_000);
      assert.equal(lines.length, 1, 'said once');
    });

    it('says nothing when the group is joined (or the source closed) in time', (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const { lines, logger } = notices();
      const joined = noticeSlowJoin({ ...o, logger });
      t.mock.timers.tick(JOIN_NOTICE_MS - 1);
      joined();
      t.mock.timers.tick(60_000);
      assert.deepEqual(lines, []);
    });
  });
});
