// Creates the generator's topics when missing (brokers here run with auto-create off).
import type { Admin } from 'kafkajs';

/** Ensures `topic` exists; returns its partition count (an existing topic keeps its own). */
export async function ensureTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  log: (msg: string) => void,
): Promise<number> {
  // createTopics answers false instead of failing when the topic already exists.
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions: partitions }],
    waitForLeaders: true,
  });
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const actual = meta.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
  if (created) log(`created topic ${topic} with ${actual} partitions`);
  else if (actual !== partitions) {
    log(
      `topic ${topic} already exists with ${actual} partitions (asked for ${partitions}); using it as is`,
    );
  }
  return actual;
}
