import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFlags } from './args.ts';

describe('parseFlags', () => {
  const defaults = { minutes: 10, faultEvery: 0, restarts: true };
  it('reads numbers and switches over the defaults', () => {
    assert.deepEqual(
      parseFlags(['--minutes', '2', '--fault-every', '30', '--no-restarts'], defaults, 'u'),
      {
        minutes: 2,
        faultEvery: 30,
        restarts: false,
      },
    );
    assert.deepEqual(parseFlags([], defaults, 'u'), defaults);
  });
  it('refuses unknown options and bad numbers, saying how to fix them', () => {
    assert.throws(
      () => parseFlags(['--minuets', '2'], defaults, '--minutes N'),
      /unknown option --minuets \(usage: --minutes N\)/,
    );
    assert.throws(
      () => parseFlags(['--minutes', 'x'], defaults, 'u'),
      /--minutes needs a non-negative number/,
    );
    assert.throws(
      () => parseFlags(['--minutes'], defaults, 'u'),
      /--minutes needs a non-negative number/,
    );
    assert.throws(() => parseFlags(['--no-minutes'], defaults, 'u'), /unknown option/);
  });
});
