import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PartitionMetadata } from 'kafkajs';
import { fastPartitioner, murmur2, partitionForKey } from './partitioner.ts';
import { Random } from './random.ts';

describe('murmur2', () => {
  it("matches Kafka's Utils.murmur2 test vectors", () => {
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) assert.equal(murmur2(Buffer.from(key)), hash, key);
  });
});

describe('fastPartitioner', () => {
  const meta = (n: number): PartitionMetadata[] =>
    Array.from({ length: n }, (_, i) => ({
      partitionId: i,
      leader: 1,
      replicas: [1],
      isr: [1],
      offlineReplicas: [],
      partitionErrorCode: 0,
    }));

  it('hashes keys the same way for strings and buffers, spreading over all partitions', () => {
    const partition = fastPartitioner();
    const rng = new Random(1);
    const hits = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const key = rng.uuid();
      const p = partition({ topic: 't', partitionMetadata: meta(6), message: { key, value: 'x' } });
      const q = partition({
        topic: 't',
        partitionMetadata: meta(6),
        message: { key: Buffer.from(key), value: 'x' },
      });
      assert.equal(p, q);
      assert.equal(p, partitionForKey(key, 6));
      hits.add(p);
    }
    assert.equal(hits.size, 6);
  });

  it('honours an explicit partition and round-robins null keys', () => {
    const partition = fastPartitioner();
    const args = (message: { key: null; value: string; partition?: number }) => ({
      topic: 't',
      partitionMetadata: meta(3),
      message,
    });
    assert.equal(partition(args({ key: null, value: 'x', partition: 2 })), 2);
    const seen = [0, 1, 2, 3, 4, 5].map(() => partition(args({ key: null, value: 'x' })));
    assert.deepEqual([...seen].sort(), [0, 0, 1, 1, 2, 2]);
  });
});
