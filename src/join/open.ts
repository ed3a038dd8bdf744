// Builds a pipeline's join stage from its config: the key plans of both sides, the output fields,
// the NATS connection and bucket (created here) and the store of the buffered right events.
import type { JoinConfig } from '../config/schema.ts';
import { joinOutputs } from '../config/output-fields.ts';
import type { Clock } from '../core/clock.ts';
import { WeirError } from '../core/errors.ts';
import type { FieldInfo } from '../core/fields.ts';
import { planKey } from '../dedup/key.ts';
import { NatsKeyedStore } from '../dedup/nats-store.ts';
import { schemaFields } from '../stages/parse.ts';
import { connectNats, explainNatsError, openBucket } from '../state/nats.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { JoinStage } from './stage.ts';

const MAX_ENTRY_BYTES = 1_000_000;

export interface OpenJoinDeps {
  pipeline: string;
  /** The pipeline's (left) topic. */
  leftTopic: string;
  /** The left fields where the join runs (after the transforms). */
  fields: readonly FieldInfo[];
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
}

export async function openJoin(cfg: JoinConfig, deps: OpenJoinDeps): Promise<JoinStage> {
  const rightFields = schemaFields(cfg.right.schema.fields);
  const leftKey = planKey(cfg.left.key, deps.fields);
  const rightKey = planKey(cfg.right.key, rightFields);
  const logger = deps.logger.child({ stage: 'join' });
  const bucketName = cfg.nats.bucket;
  const handle = await connectNats(cfg.nats, `weir-${deps.pipeline}-join`, logger, 'join.nats');
  const { nc } = handle;
  try {
    const maxEntryBytes = Math.min(MAX_ENTRY_BYTES, nc.info?.max_payload ?? MAX_ENTRY_BYTES) - 1024;
    const bucket = await openBucket(
      nc,
      bucketName,
      {
        // Snapshots replace deltas; nothing expires by age (a stalled left side still needs it).
        maxAgeMs: 0,
        replicas: 1,
        maxValueBytes: maxEntryBytes,
        description: `Weir join state of pipeline ${deps.pipeline}`,
      },
      'join.nats',
    );
    logger.info(
      { bucket: bucketName, type: cfg.type, within_ms: cfg.within, right: cfg.right.topic },
      'join state bucket ready',
    );
    return new JoinStage(
      {
        type: cfg.type,
        withinMs: cfg.within,
        latenessMs: cfg.allowed_lateness,
        match: cfg.match,
        idleMs: cfg.idle_timeout,
        leftTopic: deps.leftTopic,
        rightTopic: cfg.right.topic,
        leftKey,
        rightKey,
        leftTime: cfg.left.time,
        rightTime: cfg.right.time,
        outputs: joinOutputs(cfg, deps.fields),
        maxBufferRecords: cfg.max_buffer_records,
      },
      {
        pipeline: deps.pipeline,
        store: new NatsKeyedStore(bucket, bucketName, maxEntryBytes),
        clock: deps.clock,
        metrics: deps.metrics,
        logger,
        storeProblem: () => handle.problem(),
        closeStore: async () => {
          if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
        },
      },
    );
  } catch (err) {
    await nc.close().catch(() => undefined);
    if (err instanceof WeirError) throw err;
    throw explainNatsError(err, cfg.nats.servers, 'join.nats');
  }
}
