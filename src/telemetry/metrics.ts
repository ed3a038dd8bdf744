// The one catalogue of Weir's metrics: every name, help text, unit and label set is declared here
// and nowhere else. Labels are bounded: pipeline, stage, topic, partition, table, reason, class —
// never keys, ids or values.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const PREFIX = 'weir_';

/** Buckets around the end-to-end latency SLO thresholds (seconds). */
export const LATENCY_BUCKETS_S = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900];
const INSERT_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STATE_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];
const ROWS_BUCKETS = [1, 10, 100, 500, 1000, 5000, 10_000, 25_000, 50_000, 100_000, 250_000];
const BYTES_BUCKETS = [1e3, 1e4, 1e5, 5e5, 1e6, 4e6, 16e6, 64e6, 256e6];

export function createMetrics(registry = new Registry(), opts: { defaults?: boolean } = {}) {
  if (opts.defaults ?? true) collectDefaultMetrics({ register: registry, prefix: PREFIX });
  const r = [registry];
  const m = {
    registry,

    // --- the standard per-stage counters every stage emits (source, parse, transforms, sink…)
    stageReceived: new Counter({
      name: `${PREFIX}stage_records_received_total`,
      help: 'Records that entered a stage.',
      labelNames: ['pipeline', 'stage'] as const,
      registers: r,
    }),
    stageEmitted: new Counter({
      name: `${PREFIX}stage_records_emitted_total`,
      help: 'Records a stage passed on to the next one.',
      labelNames: ['pipeline', 'stage'] as const,
      registers: r,
    }),
    stageDropped: new Counter({
      name: `${PREFIX}stage_records_dropped_total`,
      help: 'Records a stage did not pass on, by reason (filtered, duplicate, invalid_json, …). Dead-lettered records count here too.',
      labelNames: ['pipeline', 'stage', 'reason'] as const,
      registers: r,
    }),
    stageErrors: new Counter({
      name: `${PREFIX}stage_errors_total`,
      help: 'Errors raised in a stage, by class (retryable, record, fatal).',
      labelNames: ['pipeline', 'stage', 'class'] as const,
      registers: r,
    }),

    // --- source
    recordsConsumed: new Counter({
      name: `${PREFIX}source_records_total`,
      help: 'Records fetched from Kafka.',
      labelNames: ['pipeline', 'topic'] as const,
      registers: r,
    }),
    bytesConsumed: new Counter({
      name: `${PREFIX}source_bytes_total`,
      help: 'Bytes of record values fetched from Kafka.',
      labelNames: ['pipeline', 'topic'] as const,
      registers: r,
    }),
    consumerLag: new Gauge({
      name: `${PREFIX}consumer_lag_records`,
      help: 'Records between the committed offset and the broker high-water mark, per partition.',
      labelNames: ['pipeline', 'topic', 'partition'] as const,
      registers: r,
    }),
    offsetsCommitted: new Counter({
      name: `${PREFIX}offset_commits_total`,
      help: 'Offset commits sent to Kafka.',
      labelNames: ['pipeline', 'topic'] as const,
      registers: r,
    }),
    inFlightRecords: new Gauge({
      name: `${PREFIX}in_flight_records`,
      help: 'Records consumed but not yet acknowledged (inserted, dead-lettered or dropped).',
      labelNames: ['pipeline'] as const,
      registers: r,
    }),
    pausedPartitions: new Gauge({
      name: `${PREFIX}paused_partitions`,
      help: 'Partitions paused for backpressure.',
      labelNames: ['pipeline'] as const,
      registers: r,
    }),
    assignedPartitions: new Gauge({
      name: `${PREFIX}assigned_partitions`,
      help: 'Partitions assigned to this agent.',
      labelNames: ['pipeline'] as const,
      registers: r,
    }),

    // --- sink
    batchesInserted: new Counter({
      name: `${PREFIX}sink_batches_total`,
      help: 'Batches inserted into ClickHouse.',
      labelNames: ['pipeline', 'table'] as const,
      registers: r,
    }),
    rowsInserted: new Counter({
      name: `${PREFIX}sink_rows_total`,
      help: 'Rows inserted into ClickHouse.',
      labelNames: ['pipeline', 'table'] as const,
      registers: r,
    }),
    insertDuration: new Histogram({
      name: `${PREFIX}sink_insert_duration_seconds`,
      help: 'Duration of one ClickHouse insert request.',
      labelNames: ['pipeline', 'table'] as const,
      buckets: INSERT_BUCKETS_S,
      registers: r,
    }),
    batchRows: new Histogram({
      name: `${PREFIX}sink_batch_rows`,
      help: 'Rows per inserted batch.',
      labelNames: ['pipeline', 'table'] as const,
      buckets: ROWS_BUCKETS,
      registers: r,
    }),
    batchBytes: new Histogram({
      name: `${PREFIX}sink_batch_bytes`,
      help: 'Bytes per inserted batch (JSONEachRow body).',
      labelNames: ['pipeline', 'table'] as const,
      buckets: BYTES_BUCKETS,
      registers: r,
    }),
    insertRetries: new Counter({
      name: `${PREFIX}sink_retries_total`,
      help: 'Insert attempts retried after a retryable error.',
      labelNames: ['pipeline', 'table', 'class'] as const,
      registers: r,
    }),
    insertErrors: new Counter({
      name: `${PREFIX}sink_errors_total`,
      help: 'Failed insert attempts, by error class (retryable, record, fatal).',
      labelNames: ['pipeline', 'table', 'class'] as const,
      registers: r,
    }),
    lastInsert: new Gauge({
      name: `${PREFIX}sink_last_success_timestamp_seconds`,
      help: 'Unix time of the last successful insert.',
      labelNames: ['pipeline', 'table'] as const,
      registers: r,
    }),

    // --- dead letters
    deadLettered: new Counter({
      name: `${PREFIX}dead_letter_records_total`,
      help: 'Records written to the dead-letter topic, by stage and reason.',
      labelNames: ['pipeline', 'stage', 'reason'] as const,
      registers: r,
    }),

    // --- delivery SLIs
    delivered: new Counter({
      name: `${PREFIX}sli_records_delivered_total`,
      help: 'Good events for the delivery SLI: records durably inserted into ClickHouse.',
      labelNames: ['pipeline'] as const,
      registers: r,
    }),
    deliveryTotal: new Counter({
      name: `${PREFIX}sli_records_total`,
      help: 'Valid events for the delivery SLI: records inserted plus records lost to sink-side failures (dead-lettered by the sink).',
      labelNames: ['pipeline'] as const,
      registers: r,
    }),
    endToEndLatency: new Histogram({
      name: `${PREFIX}end_to_end_latency_seconds`,
      help: 'From the record timestamp (event time or Kafka timestamp) to insert acknowledged.',
      labelNames: ['pipeline'] as const,
      buckets: LATENCY_BUCKETS_S,
      registers: r,
    }),

    // --- state store (dedup, join, ledger)
    stateOpDuration: new Histogram({
      name: `${PREFIX}state_op_duration_seconds`,
      help: 'Duration of a state store operation (NATS KV), by operation.',
      labelNames: ['pipeline', 'op'] as const,
      buckets: STATE_BUCKETS_S,
      registers: r,
    }),

    // --- agent
    pipelineUp: new Gauge({
      name: `${PREFIX}pipeline_up`,
      help: '1 while a pipeline is running, 0 once it stopped or failed.',
      labelNames: ['pipeline'] as const,
      registers: r,
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Every metric name in the catalogue (without the default process metrics). */
export function catalogueNames(): string[] {
  const m = createMetrics(new Registry(), { defaults: false });
  return m.registry.getMetricsAsArray().map((x) => x.name);
}
