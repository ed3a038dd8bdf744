import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { hash64, hashHex, type Hash64 } from './hash.ts';

const h = (text: string, seed = 0): string => hashHex(hash64(text, { hi: 0, lo: 0 }, seed));

test('hash64 is deterministic and depends on every code unit, the length and the seed', () => {
  assert.equal(
    h('a734493e-67cc-40da-8063-7fea0fd0ddba'),
    h('a734493e-67cc-40da-8063-7fea0fd0ddba'),
  );
  assert.notEqual(h('abc'), h('abd'));
  assert.notEqual(h('abc'), h('abc', 1));
  assert.notEqual(h(''), h('\u0000'));
  const base = 'x'.repeat(24);
  const seen = new Set<string>();
  for (let len = 0; len <= 24; len++) seen.add(h(base.slice(0, len)));
  assert.equal(seen.size, 25, 'every tail length differs');
  assert.notEqual(h('é'), h('e'));
  assert.match(h('x'), /^[0-9a-f]{16}$/);
});

test('hash64 has no collisions over 500k UUIDs and its bits are balanced', () => {
  const seen = new Set<string>();
  const out: Hash64 = { hi: 0, lo: 0 };
  let ones = 0;
  const n = 500_000;
  for (let i = 0; i < n; i++) {
    hash64(randomUUID(), out);
    seen.add(`${out.hi}:${out.lo}`);
    ones += (out.hi & 1) + ((out.lo >>> 31) & 1);
  }
  assert.equal(seen.size, n);
  const ratio = ones / (2 * n);
  assert.ok(Math.abs(ratio - 0.5) < 0.01, `bit balance ${ratio}`);
});

test('hash64 is the first half of MurmurHash3 x86_128 over the UTF-16LE code units', () => {
  // Reference values from the canonical algorithm over the UTF-16LE bytes. Persisted dedup state
  // holds these hashes, so they must never change.
  const reference: [string, string][] = [
    ['', '0000000000000000'],
    ['a', '033bb196ccef4fe1'],
    ['abcdefg', '851fde5ef81a9aab'],
    ['abcdefgh', '6c3576558df898a1'],
    ['a734493e-67cc-40da-8063-7fea0fd0ddba', '3db74b2f2af73f7e'],
    ['é€😀', '18beaa3be0a706a9'],
  ];
  for (const [text, hex] of reference) assert.equal(h(text), hex, JSON.stringify(text));
});
