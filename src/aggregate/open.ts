// Builds a pipeline's aggregation stage from its config: the settings, the NATS connection and
// bucket (created here) and the store of the window state.
import { aggregateMeasures } from '../config/output-fields.ts';
import type { AggregateConfig } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import { NatsKeyedStore } from '../state/keyed/index.ts';
import { openStateBucket } from '../state/nats.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { AggregateSettings } from './engine.ts';
import { AggregateStage } from './stage.ts';

export interface OpenAggregateDeps {
  pipeline: string;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
}

export function aggregateSettings(cfg: AggregateConfig): AggregateSettings {
  const [sizeMs, hopMs] =
    'tumbling' in cfg.window
      ? [cfg.window.tumbling, cfg.window.tumbling]
      : [cfg.window.hopping.size, cfg.window.hopping.hop];
  return {
    sizeMs,
    hopMs,
    timeField: 'field' in cfg.time ? cfg.time.field : undefined,
    groupBy: cfg.group_by,
    measures: aggregateMeasures(cfg),
    windowStart: cfg.window_start,
    windowEnd: cfg.window_end,
    latenessMs: cfg.allowed_lateness,
    late: cfg.late,
    maxStateBytes: cfg.max_state_bytes,
    ...(cfg.idle_timeout === undefined ? {} : { idleMs: cfg.idle_timeout }),
  };
}

export async function openAggregate(
  cfg: AggregateConfig,
  deps: OpenAggregateDeps,
): Promise<AggregateStage> {
  const logger = deps.logger.child({ stage: 'aggregate' });
  const bucketName = cfg.nats.bucket;
  const settings = aggregateSettings(cfg);
  return openStateBucket(
    cfg.nats,
    {
      client: `weir-${deps.pipeline}-aggregate`,
      section: 'aggregate.nats',
      logger,
      // Snapshots replace deltas; nothing expires by age (a quiet partition keeps its windows).
      bucket: {
        maxAgeMs: 0,
        replicas: 1,
        description: `Weir aggregation state of pipeline ${deps.pipeline}`,
      },
    },
    ({ bucket, maxEntryBytes, problem, close }) => {
      logger.info(
        {
          bucket: bucketName,
          size_ms: settings.sizeMs,
          hop_ms: settings.hopMs,
          lateness_ms: settings.latenessMs,
        },
        'aggregate state bucket ready',
      );
      return new AggregateStage(settings, {
        pipeline: deps.pipeline,
        store: new NatsKeyedStore(bucket, bucketName, maxEntryBytes),
        clock: deps.clock,
        metrics: deps.metrics,
        logger,
        storeProblem: problem,
        closeStore: close,
      });
    },
  );
}
