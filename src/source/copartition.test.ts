import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AssignerProtocol, type Cluster, type PartitionMetadata } from 'kafkajs';
import { CoPartitionedAssigner, planCoPartitioned, type TopicPartitions } from './copartition.ts';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const ids = (n: number): string[] => range(n).map((i) => `member-${i}`);

/** Asserts that whoever holds partition p of one topic holds partition p of every topic. */
function assertCoLocated(plan: Record<string, TopicPartitions>): void {
  const owner = new Map<number, string>();
  for (const [member, assignment] of Object.entries(plan)) {
    for (const partitions of Object.values(assignment)) {
      for (const p of partitions) {
        const seen = owner.get(p);
        assert.ok(seen === undefined || seen === member, `partition ${p} on ${seen} and ${member}`);
        owner.set(p, member);
      }
    }
  }
}

describe('planCoPartitioned', () => {
  for (const n of [1, 2, 3]) {
    it(`co-locates partition p of both topics with ${n} member(s)`, () => {
      const plan = planCoPartitioned(ids(n), { orders: range(6), payments: range(6) });
      assert.deepEqual(Object.keys(plan).sort(), ids(n));
      assertCoLocated(plan);
      for (const assignment of Object.values(plan)) {
        assert.deepEqual(assignment.orders, assignment.payments);
      }
      const all = Object.values(plan).flatMap((a) => a.orders ?? []);
      assert.deepEqual(
        all.sort((a, b) => a - b),
        range(6),
      );
    });
  }

  it('hands partition numbers out round-robin over the sorted members', () => {
    const plan = planCoPartitioned(['b', 'a', 'c'], { l: range(4), r: range(4) });
    assert.deepEqual(plan, {
      a: { l: [0, 3], r: [0, 3] },
      b: { l: [1], r: [1] },
      c: { l: [2], r: [2] },
    });
  });

  it('spreads evenly: member loads differ by at most one partition number', () => {
    for (const members of [2, 3, 4, 5]) {
      for (const partitions of [1, 4, 7, 12]) {
        const plan = planCoPartitioned(ids(members), {
          l: range(partitions),
          r: range(partitions),
        });
        const loads = Object.values(plan).map((a) => a.l?.length ?? 0);
        assert.ok(
          Math.max(...loads) - Math.min(...loads) <= 1,
          `${members}x${partitions}: ${loads.join(',')}`,
        );
      }
    }
  });

  it('handles unequal partition counts: the shorter topic just lacks the higher numbers', () => {
    const plan = planCoPartitioned(['a', 'b'], { l: range(2), r: range(5) });
    assert.deepEqual(plan, {
      a: { l: [0], r: [0, 2, 4] },
      b: { l: [1], r: [1, 3] },
    });
    assertCoLocated(plan);
  });

  it('gives members beyond the partition count an empty assignment', () => {
    const plan = planCoPartitioned(['a', 'b', 'c'], { l: [0], r: [0] });
    assert.deepEqual(plan, { a: { l: [0], r: [0] }, b: {}, c: {} });
  });

  it('handles no members and no topics', () => {
    assert.deepEqual(planCoPartitioned([], { l: range(3) }), {});
    assert.deepEqual(planCoPartitioned([], {}), {});
    assert.deepEqual(planCoPartitioned(['a', 'b'], {}), { a: {}, b: {} });
    assert.deepEqual(planCoPartitioned(['a'], { l: [] }), { a: {} });
  });

  it('is deterministic regardless of the order members and partitions are given in', () => {
    const expected = planCoPartitioned(['m1', 'm2', 'm3'], { l: range(5), r: range(5) });
    const shuffled = planCoPartitioned(['m3', 'm1', 'm2'], {
      r: [4, 2, 0, 1, 3],
      l: [3, 1, 4, 0, 2],
    });
    assert.deepEqual(shuffled, expected);
    assert.deepEqual(JSON.stringify(shuffled), JSON.stringify(expected));
  });
});

describe('CoPartitionedAssigner', () => {
  const meta = (n: number): PartitionMetadata[] =>
    range(n).map((partitionId) => ({
      partitionId,
      leader: 1,
      replicas: [1],
      isr: [1],
      offlineReplicas: [],
      partitionErrorCode: 0,
    }));
  const counts: Record<string, number> = { orders: 4, payments: 4 };
  const cluster = {
    findTopicPartitionMetadata: (topic: string) => meta(counts[topic] ?? 0),
  } as unknown as Cluster;
  const assigner = CoPartitionedAssigner({ cluster, groupId: 'g', logger: undefined as never });

  it('encodes one assignment per member, empty ones included', async () => {
    const members = ['c', 'a', 'b', 'd', 'e'].map((memberId) => ({
      memberId,
      memberMetadata: Buffer.alloc(0),
    }));
    const result = await assigner.assign({ members, topics: ['orders', 'payments'] });
    const decoded = Object.fromEntries(
      result.map((r) => [r.memberId, AssignerProtocol.MemberAssignment.decode(r.memberAssignment)]),
    );
    assert.equal(assigner.name, 'WeirCoPartitioned');
    assert.deepEqual(Object.keys(decoded).sort(), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(decoded.a?.assignment, { orders: [0], payments: [0] });
    assert.deepEqual(decoded.d?.assignment, { orders: [3], payments: [3] });
    assert.deepEqual(decoded.e?.assignment, {});
    assert.equal(decoded.e?.version, 0);
  });

  it('announces its name and the subscribed topics in its protocol metadata', () => {
    const { name, metadata } = assigner.protocol({ topics: ['orders', 'payments'] });
    assert.equal(name, 'WeirCoPartitioned');
    assert.deepEqual(AssignerProtocol.MemberMetadata.decode(metadata)?.topics, [
      'orders',
      'payments',
    ]);
  });
});
