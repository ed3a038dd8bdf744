// The topics a pipeline writes to besides its table: dead letters (one partition) and, with dedup,
// the duplicates. A run creates them when missing; a check only says which are missing.
import type { Kafka } from 'kafkajs';
import type { PipelineConfig } from '../config/schema.ts';
import { explainKafkaError } from '../source/index.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Missing } from './check.ts';

interface SideTopic {
  topic: string;
  /** -1: the broker's default. */
  numPartitions: number;
  what: string;
}

export function sideTopics(cfg: PipelineConfig): SideTopic[] {
  const duplicates = cfg.dedup?.duplicates_topic;
  return [
    { topic: cfg.dead_letter.topic, numPartitions: 1, what: 'dead-letter topic' },
    ...(duplicates ? [{ topic: duplicates, numPartitions: -1, what: 'duplicates topic' }] : []),
  ];
}

/** Creates the side topics that do not exist (`create`), or returns them as missing. */
export async function ensureSideTopics(
  kafka: Kafka,
  cfg: PipelineConfig,
  o: { create: boolean; logger: Logger },
): Promise<Missing[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = sideTopics(cfg).filter((t) => !existing.has(t.topic));
    if (!o.create) return missing.map(({ topic, what }) => ({ what, name: topic }));
    for (const { topic, numPartitions, what } of missing) {
      await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
      o.logger.info({ topic }, `created the ${what}`);
    }
    return [];
  } catch (err) {
    throw explainKafkaError(err, cfg.source);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
