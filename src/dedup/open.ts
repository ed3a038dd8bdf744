// Builds a pipeline's dedup stage from its config: the key plan, the NATS connection, the bucket
// (created and configured here), the store of the chosen mode and the optional duplicates topic.
import type { Kafka } from 'kafkajs';
import type { DedupConfig, KafkaCompression } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import type { FieldInfo } from '../core/fields.ts';
import { redactUrls } from '../core/redact.ts';
import { NatsKeyedStore, planKey } from '../state/keyed/index.ts';
import { openStateBucket } from '../state/nats.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { KafkaDuplicateSink } from './duplicates.ts';
import { NatsGlobalStore } from './global-store.ts';
import { createDedup, type DedupStage } from './stage.ts';

/** NATS keeps state this much longer than the window (clock skew, a rebuild at the edge). */
export const RETENTION_MARGIN_MS = 3_600_000;

export interface OpenDedupDeps {
  pipeline: string;
  /** The fields rows carry where dedup runs (after the transforms). */
  fields: readonly FieldInfo[];
  kafka: Kafka;
  /** Codec of the duplicates topic (dead_letter.compression). */
  duplicatesCompression: KafkaCompression;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** Keeps the consumer in its group while records are held at dedup.max_keys. */
  keepAlive?: () => void;
}

export async function openDedup(cfg: DedupConfig, deps: OpenDedupDeps): Promise<DedupStage> {
  const keyOf = planKey(cfg.key, deps.fields, 'dedup.key');
  const logger = deps.logger.child({ stage: 'dedup' });
  const bucketName = cfg.nats.bucket;
  return openStateBucket(
    cfg.nats,
    {
      client: `weir-${deps.pipeline}-dedup`,
      section: 'dedup.nats',
      logger,
      bucket: {
        maxAgeMs: cfg.window + RETENTION_MARGIN_MS,
        replicas: cfg.nats.replicas,
        description: `Weir dedup state of pipeline ${deps.pipeline} (${cfg.mode} mode)`,
      },
    },
    ({ bucket, maxEntryBytes, problem, close }) => {
      logger.info(
        {
          bucket: bucketName,
          mode: cfg.mode,
          window_ms: cfg.window,
          max_keys: cfg.max_keys,
          nats: redactUrls(cfg.nats.servers),
        },
        'dedup state bucket ready',
      );
      return createDedup(
        {
          pipeline: deps.pipeline,
          keyOf,
          windowMs: cfg.window,
          timeField: typeof cfg.time === 'object' ? cfg.time.field : undefined,
          late: cfg.late,
          mode: cfg.mode,
          maxKeys: cfg.max_keys,
        },
        {
          keyed:
            cfg.mode === 'keyed'
              ? new NatsKeyedStore(bucket, bucketName, maxEntryBytes)
              : undefined,
          global: cfg.mode === 'global' ? new NatsGlobalStore(bucket) : undefined,
          duplicates: cfg.duplicates_topic
            ? new KafkaDuplicateSink(deps.kafka, cfg.duplicates_topic, deps.pipeline, {
                compression: deps.duplicatesCompression,
              })
            : undefined,
          metrics: deps.metrics,
          logger,
          clock: deps.clock,
          keepAlive: deps.keepAlive,
          storeProblem: problem,
          closeStore: close,
        },
      );
    },
  );
}
