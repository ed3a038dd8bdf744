import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hash64, type Hash64 } from './hash.ts';
import { KeyIndex, type Probe } from './key-index.ts';

const probe: Probe = { slot: 0, found: false };
const h: Hash64 = { hi: 0, lo: 0 };

function has(index: KeyIndex, key: string): boolean {
  hash64(key, h);
  index.probe(h.hi, h.lo, probe);
  return probe.found && index.isAlive(probe.slot);
}

function add(index: KeyIndex, key: string, stream: number, offset: number, sec: number): void {
  hash64(key, h);
  index.put(h.hi, h.lo, stream, offset, sec, probe);
}

/** An event-time index (60 s window) of two streams at time 1000, `keys` keys put alternately. */
function twoStreams(keys: number, prefix: string) {
  const index = new KeyIndex(60, 'event');
  const a = index.openStream();
  const b = index.openStream();
  index.advance(a, 1000);
  index.advance(b, 1000);
  for (let i = 0; i < keys; i++) add(index, `${prefix}${i}`, i % 2 === 0 ? a : b, i, 1000);
  return { index, a, b };
}

describe('KeyIndex', () => {
  it('finds every key after growing, and keeps origin and time exactly', () => {
    const index = new KeyIndex(3600, 'arrival');
    const s = index.openStream();
    index.setNow(1000);
    for (let i = 0; i < 50_000; i++) add(index, `key-${i}`, s, 2 ** 40 + i, 1000);
    assert.equal(index.size, 50_000);
    for (let i = 0; i < 50_000; i++) {
      hash64(`key-${i}`, h);
      index.probe(h.hi, h.lo, probe);
      assert.ok(probe.found && index.isAlive(probe.slot));
      assert.ok(index.sameOrigin(probe.slot, s, 2 ** 40 + i));
      assert.equal(index.offsetOf(probe.slot), 2 ** 40 + i);
    }
    assert.ok(!has(index, 'key-50000'));
  });

  it('stays within 32 bytes per key at any size', () => {
    const index = new KeyIndex(3600, 'arrival');
    const s = index.openStream();
    index.setNow(1000);
    let worst = 0;
    for (let i = 0; i < 300_000; i++) {
      add(index, `k${i}`, s, i, 1000);
      if (i > 50_000 && i % 997 === 0) worst = Math.max(worst, index.bytes / index.size);
    }
    assert.ok(worst <= 32, `worst ${worst.toFixed(1)} bytes per key`);
  });

  it('expires keys at the window edge and sweeps them without a full scan', () => {
    const index = new KeyIndex(60, 'arrival');
    const s = index.openStream();
    index.setNow(1000);
    for (let i = 0; i < 1000; i++) add(index, `old${i}`, s, i, 1000);
    index.setNow(1059);
    assert.ok(has(index, 'old1'), 'alive 59 s later');
    index.setNow(1060);
    assert.ok(!has(index, 'old1'), 'gone exactly one window later');
    assert.equal(index.size, 1000, 'expired but not yet swept');
    // 64 slots per call: about twice around the table, never a scan of it in one call.
    for (let n = 0; n < 50 && index.size > 0; n++) index.sweep(64);
    assert.equal(index.size, 0);
  });

  it('sweepAll removes every expired key in one call, so size counts live keys only', () => {
    const { index, a } = twoStreams(20_000, 'k');
    // Stream a's time moves past the window; stream b's does not, so its keys stay.
    index.advance(a, 1060);
    assert.equal(index.size, 20_000, 'expired but not yet swept');
    assert.equal(index.sweepAll(), 10_000);
    assert.equal(index.size, 10_000);
    for (let i = 1; i < 20_000; i += 2) assert.ok(has(index, `k${i}`), `k${i} survives`);
  });

  it('keeps other keys findable when an expired key in their probe run is removed', () => {
    const { index, a } = twoStreams(800, 'x');
    index.advance(a, 2000); // every key of stream a expires
    index.sweep(100_000);
    for (let i = 1; i < 800; i += 2) assert.ok(has(index, `x${i}`), `x${i} survives`);
    for (let i = 0; i < 800; i += 2) assert.ok(!has(index, `x${i}`));
    assert.equal(index.size, 400);
  });

  it('drops a retired stream at once and reuses ids when they run out', () => {
    const index = new KeyIndex(60, 'arrival');
    const s = index.openStream();
    index.setNow(1000);
    add(index, 'a', s, 1, 1000);
    index.retireStream(s);
    assert.ok(!has(index, 'a'));
    for (let i = 0; i < 70_000; i++) index.retireStream(index.openStream());
    assert.ok(index.openStream() > 0);
  });

  it('keeps the later entry when the same key is put twice', () => {
    const index = new KeyIndex(600, 'event');
    const s = index.openStream();
    index.advance(s, 1000);
    add(index, 'k', s, 7, 1000);
    add(index, 'k', s, 3, 900);
    hash64('k', h);
    index.probe(h.hi, h.lo, probe);
    assert.equal(index.offsetOf(probe.slot), 7);
    assert.equal(index.size, 1);
  });

  it('handles probe runs that wrap past the end of the table, through removals and resizes', () => {
    const index = new KeyIndex(60, 'event');
    const s = index.openStream();
    index.advance(s, 1000);
    // Hashes at the very top of the 32-bit range all have their home in the last slot, so their
    // run wraps around to the start; a few keys near 0 share the start of the table with them.
    const his = [
      ...Array.from({ length: 40 }, (_, i) => 0xffff_ffff - i),
      ...Array.from({ length: 10 }, (_, i) => i),
    ];
    his.forEach((hi, i) => index.put(hi, i, s, i, i % 2 === 0 ? 1000 : 1050, probe));
    const found = (hi: number, lo: number) => {
      index.probe(hi, lo, probe);
      return probe.found && index.isAlive(probe.slot) && index.offsetOf(probe.slot) === lo;
    };
    his.forEach((hi, i) => assert.ok(found(hi, i), `key ${i} after inserting`));
    index.advance(s, 1060); // the keys put at 1000 expire
    index.sweep(10_000);
    assert.equal(index.size, 25);
    his.forEach((hi, i) => assert.equal(found(hi, i), i % 2 === 1, `key ${i} after the sweep`));
    // Growing rehashes them all (in hash order) into a larger table.
    for (let i = 0; i < 5000; i++) add(index, `g${i}`, s, 10_000 + i, 1060);
    his.forEach((hi, i) => assert.equal(found(hi, i), i % 2 === 1, `key ${i} after growing`));
  });
});
