// Builds a pipeline's join stage from its config: the key plans of both sides, the output fields,
// the NATS connection and bucket (created here) and the store of the buffered right events.
import type { JoinConfig } from '../config/schema.ts';
import { joinOutputs } from '../config/output-fields.ts';
import type { Clock } from '../core/clock.ts';
import type { FieldInfo } from '../core/fields.ts';
import { schemaFields } from '../stages/parse.ts';
import { NatsKeyedStore, planKey } from '../state/keyed/index.ts';
import { openStateBucket } from '../state/nats.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { JoinStage } from './stage.ts';

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
  const leftKey = planKey(cfg.left.key, deps.fields, 'join.left.key');
  const rightKey = planKey(cfg.right.key, rightFields, 'join.right.key');
  const logger = deps.logger.child({ stage: 'join' });
  const bucketName = cfg.nats.bucket;
  return openStateBucket(
    cfg.nats,
    {
      client: `weir-${deps.pipeline}-join`,
      section: 'join.nats',
      logger,
      // Snapshots replace deltas; nothing expires by age (a stalled left side still needs it).
      bucket: {
        maxAgeMs: 0,
        replicas: 1,
        description: `Weir join state of pipeline ${deps.pipeline}`,
      },
    },
    ({ bucket, maxEntryBytes, problem, close }) => {
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
          maxBufferBytes: cfg.max_buffer_bytes,
          lateLeft: cfg.late_left,
        },
        {
          pipeline: deps.pipeline,
          store: new NatsKeyedStore(bucket, bucketName, maxEntryBytes),
          clock: deps.clock,
          metrics: deps.metrics,
          logger,
          storeProblem: problem,
          closeStore: close,
        },
      );
    },
  );
}
