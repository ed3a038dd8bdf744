import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  effectiveIntervalMs,
  GeneratorOptionsError,
  resolveGeneratorOptions,
  type GeneratorOptions,
} from './options.ts';

function problems(input: GeneratorOptions): string[] {
  try {
    resolveGeneratorOptions(input);
  } catch (err) {
    assert.ok(err instanceof GeneratorOptionsError);
    return err.problems.map((p) => `${p.option}: ${p.message}`);
  }
  return [];
}

describe('resolveGeneratorOptions', () => {
  it('fills the documented defaults', () => {
    const o = resolveGeneratorOptions({});
    assert.deepEqual(o.brokers, ['127.0.0.1:9092']);
    assert.equal(o.topic, 'weir-demo-orders');
    assert.equal(o.count, 100_000);
    assert.equal(o.rate, 0);
    assert.equal(o.dupRate, 0.1);
    assert.equal(o.badRate, 0);
    assert.equal(o.keySpread, 10_000);
    assert.equal(o.partitions, 4);
    assert.equal(o.keyed, true);
    assert.equal(o.seed, 1);
    assert.equal(o.joinTopic, undefined);
  });

  it('names each bad option with its problem', () => {
    assert.deepEqual(problems({ dupRate: 1.5, count: 0, brokers: ['kafka://x:1'] }), [
      'brokers.0: expected host:port, e.g. 127.0.0.1:9092 (no scheme)',
      'count: must be at least 1',
      'dupRate: must be between 0 and 1',
    ]);
    assert.deepEqual(problems({ partitions: 2.5 }), ['partitions: must be a whole number']);
    assert.match(problems({ topic: 'bad topic' })[0]!, /^topic: invalid Kafka topic name/);
  });

  it('rejects unknown options by name', () => {
    const found = problems({ dupRat: 0.1 } as GeneratorOptions);
    assert.equal(found.length, 1);
    assert.match(found[0]!, /dupRat/);
  });

  it('applies cross-field rules', () => {
    assert.deepEqual(problems({ dupRate: 0.6, badRate: 0.5 }), [
      'dupRate: dupRate + badRate must be ≤ 1',
    ]);
    assert.deepEqual(problems({ topic: 'a', joinTopic: 'a' }), [
      'joinTopic: must differ from topic',
    ]);
  });

  it('never echoes a SASL password', () => {
    const found = problems({ sasl: { mechanism: 'plain', username: '', password: 'hunter2' } });
    assert.deepEqual(found, ['sasl.username: must not be empty']);
    assert.ok(!found.join().includes('hunter2'));
  });

  it('derives the event-time step from the rate', () => {
    assert.equal(effectiveIntervalMs(resolveGeneratorOptions({ rate: 500 })), 2);
    assert.equal(effectiveIntervalMs(resolveGeneratorOptions({ rate: 0 })), 0.01);
    assert.equal(effectiveIntervalMs(resolveGeneratorOptions({ rate: 500, intervalMs: 7 })), 7);
  });
});
