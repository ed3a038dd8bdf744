// Co-partitioned consumption for temporal joins. A join keeps state per partition pair (partition p
// of the left topic with partition p of the right), so both must be read by the same process.
// kafkajs's default round-robin assigner spreads topic-partitions independently and may put
// partition 0 of two topics on different members; this assigner gives partition p of every
// subscribed topic to one member.
import { AssignerProtocol, type Admin, type PartitionAssigner } from 'kafkajs';
import { ConfigError } from '../core/errors.ts';

/** Partition numbers per topic for one member. */
export type TopicPartitions = Record<string, number[]>;

/**
 * Partition number p of every topic goes to the same member: members sorted by id, the distinct
 * partition numbers over all topics in ascending order, the i-th number to member i % n. Every
 * member gets an entry (possibly empty); topics without a number are left out of that member's entry.
 */
export function planCoPartitioned(
  memberIds: readonly string[],
  partitionsByTopic: Readonly<Record<string, readonly number[]>>,
): Record<string, TopicPartitions> {
  const members = [...new Set(memberIds)].sort();
  const plan: Record<string, TopicPartitions> = {};
  for (const id of members) plan[id] = {};
  if (members.length === 0) return plan;

  const topics = Object.keys(partitionsByTopic).sort();
  const numbers = [...new Set(topics.flatMap((t) => partitionsByTopic[t] ?? []))].sort(
    (a, b) => a - b,
  );
  const owner = new Map<number, string>();
  numbers.forEach((p, i) => owner.set(p, members[i % members.length]!));

  for (const topic of topics) {
    const partitions = [...new Set(partitionsByTopic[topic] ?? [])].sort((a, b) => a - b);
    for (const p of partitions) {
      const entry = plan[owner.get(p)!]!;
      (entry[topic] ??= []).push(p);
    }
  }
  return plan;
}

const NAME = 'WeirCoPartitioned';
const VERSION = 0;

/** kafkajs partition assigner implementing {@link planCoPartitioned}. */
export const CoPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: NAME,
  version: VERSION,
  assign({ members, topics }) {
    const partitionsByTopic: Record<string, number[]> = {};
    for (const topic of topics) {
      partitionsByTopic[topic] = cluster
        .findTopicPartitionMetadata(topic)
        .map((m) => m.partitionId);
    }
    const plan = planCoPartitioned(
      members.map((m) => m.memberId),
      partitionsByTopic,
    );
    return Promise.resolve(
      Object.entries(plan).map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: VERSION,
          assignment,
          userData: Buffer.alloc(0),
        }),
      })),
    );
  },
  protocol({ topics }) {
    return {
      name: NAME,
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: VERSION,
        topics,
        userData: Buffer.alloc(0),
      }),
    };
  },
});

/** Throws a ConfigError unless every left topic has as many partitions as the right topic. */
export async function checkCoPartitioned(
  admin: Admin,
  left: readonly string[],
  right: string,
): Promise<void> {
  const topics = [...new Set([...left, right])];
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
  const counts = new Map(metadata.map((t) => [t.name, t.partitions.length]));
  const count = (topic: string): number => counts.get(topic) ?? 0;

  const expected = count(right);
  if (left.every((t) => count(t) === expected)) return;

  const described = topics
    .map((t) => `${t} has ${count(t)} ${count(t) === 1 ? 'partition' : 'partitions'}`)
    .join(', ');
  throw new ConfigError(`join: the topics are not co-partitioned: ${described}`, {
    hint:
      'give both topics the same number of partitions and key both by the join key ' +
      '(a record and its match must land in the same partition number)',
  });
}
