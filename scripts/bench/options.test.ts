import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaults, parseBenchArgs } from './options.ts';

describe('parseBenchArgs', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(parseBenchArgs([]), defaults);
  });

  it('reads the options of the issue and the switches', () => {
    const o = parseBenchArgs([
      '--events',
      '200000',
      '--dup-rate',
      '0.25',
      '--partitions',
      '8',
      '--no-latency',
      '--cpu-prof',
      '/tmp/p',
      '--node-flags',
      '--max-semi-space-size=64  --trace-gc',
    ]);
    assert.equal(o.events, 200_000);
    assert.equal(o.dupRate, 0.25);
    assert.equal(o.partitions, 8);
    assert.equal(o.latency, false);
    assert.equal(o.cpuProf, '/tmp/p');
    assert.deepEqual(o.nodeFlags, ['--max-semi-space-size=64', '--trace-gc']);
  });

  it('says what is wrong', () => {
    assert.throws(() => parseBenchArgs(['--events']), /--events needs a value/);
    assert.throws(() => parseBenchArgs(['--events', '1.5']), /whole number/);
    assert.throws(() => parseBenchArgs(['--dup-rate', '2']), /from 0 to 0.9/);
    assert.throws(() => parseBenchArgs(['--evnets', '5']), /unknown option --evnets/);
    assert.throws(() => parseBenchArgs(['--node-flags', 'x']), /each starting with --/);
  });
});
