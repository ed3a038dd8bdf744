// The co-partitioned assigner and check against the real broker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Consumer, IMemberAssignment } from 'kafkajs';
import { ConfigError } from '../../src/core/errors.ts';
import { CoPartitionedAssigner, checkCoPartitioned } from '../../src/source/copartition.ts';
import { createTopic, kafka, randomName } from '../helpers/stack.ts';

const sorted = (xs: readonly number[] | undefined): number[] =>
  [...(xs ?? [])].sort((a, b) => a - b);

describe('co-partitioned assigner', () => {
  it('gives partition p of both topics to the same member of a two-member group', async () => {
    const left = await createTopic('weir-copart-l', 4);
    const right = await createTopic('weir-copart-r', 4);
    const groupId = randomName('weir-copart-group');
    const consumers: Consumer[] = [];
    const latest: Array<IMemberAssignment | undefined> = [undefined, undefined];
    const protocols = new Set<string>();
    let timer: NodeJS.Timeout | undefined;
    try {
      const settled = new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`group did not settle within 60s: ${JSON.stringify(latest)}`)),
          60_000,
        );
        // Settled once both members' latest assignments are disjoint and cover every partition
        // (the first member's solo assignment is replaced when it rejoins for the second).
        const check = (): void => {
          const [a, b] = latest;
          if (!a || !b) return;
          for (const topic of [left.topic, right.topic]) {
            const all = [...(a[topic] ?? []), ...(b[topic] ?? [])];
            if (all.length !== 4 || new Set(all).size !== 4) return;
          }
          clearTimeout(timer);
          resolve();
        };
        for (const i of [0, 1]) {
          const consumer = kafka().consumer({
            groupId,
            partitionAssigners: [CoPartitionedAssigner],
            sessionTimeout: 6000,
            rebalanceTimeout: 10000,
            heartbeatInterval: 500,
            maxWaitTimeInMs: 100,
          });
          consumer.on(consumer.events.GROUP_JOIN, (e) => {
            latest[i] = e.payload.memberAssignment;
            protocols.add(e.payload.groupProtocol);
            check();
          });
          consumers.push(consumer);
        }
      });
      settled.catch(() => undefined); // awaited below; avoids an unhandled rejection if setup throws
      for (const consumer of consumers) {
        await consumer.connect();
        await consumer.subscribe({ topics: [left.topic, right.topic] });
        await consumer.run({ eachMessage: () => Promise.resolve() });
      }
      await settled;

      assert.deepEqual([...protocols], ['WeirCoPartitioned']);
      const covered: number[] = [];
      for (const assignment of latest) {
        const l = sorted(assignment?.[left.topic]);
        assert.deepEqual(l, sorted(assignment?.[right.topic]), JSON.stringify(assignment));
        assert.equal(l.length, 2, 'four partitions spread evenly over two members');
        covered.push(...l);
      }
      assert.deepEqual(sorted(covered), [0, 1, 2, 3]);
    } finally {
      clearTimeout(timer);
      for (const consumer of consumers) await consumer.disconnect().catch(() => undefined);
      await left.admin.deleteGroups([groupId]).catch(() => undefined);
      await left.cleanup();
      await right.cleanup();
    }
  });
});

describe('co-partition check', () => {
  it('rejects topics with different partition counts, naming each with its count', async () => {
    const two = await createTopic('weir-copart-a', 2);
    const three = await createTopic('weir-copart-b', 3);
    try {
      await assert.rejects(checkCoPartitioned(two.admin, [two.topic], three.topic), (err) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(
          err.message,
          `join: the topics are not co-partitioned: ${two.topic} has 2 partitions, ${three.topic} has 3 partitions`,
        );
        assert.match(err.hint ?? '', /same number of partitions/);
        return true;
      });
    } finally {
      await two.cleanup();
      await three.cleanup();
    }
  });

  it('passes for topics with equal partition counts', async () => {
    const a = await createTopic('weir-copart-a', 3);
    const b = await createTopic('weir-copart-b', 3);
    try {
      await checkCoPartitioned(a.admin, [a.topic], b.topic);
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
  });
});
