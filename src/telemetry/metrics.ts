// The one catalogue of Weir's metrics: every name, type, unit, label set and help text is declared
// here and nowhere else; the README's metrics table is generated from it (catalogue-doc.ts) and a
// test fails when dashboards or rules name a metric that is not in it (catalogue-guard.ts).
// Labels are bounded: pipeline, stage, topic, partition, table, reason, class, op, check — never
// keys, ids or values.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const PREFIX = 'weir_';

/** Every label a Weir metric may carry; each has a small, config-bounded set of values. */
export const BOUNDED_LABELS = [
  'pipeline',
  'stage',
  'topic',
  'partition',
  'table',
  'reason',
  'class',
  'op',
  'check',
  'side',
  'lookup',
] as const;
type Label = (typeof BOUNDED_LABELS)[number];

/**
 * Buckets around the end-to-end latency SLO thresholds (seconds): 1 s, 5 s, 30 s, 60 s and 300 s
 * are bucket bounds, so `le="5"` answers "delivered within 5 s" without interpolation.
 */
export const LATENCY_BUCKETS_S = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900];
/** The thresholds a delivered-within SLI can use directly (each is a bucket bound above). */
export const SLI_LATENCY_THRESHOLDS_S = [1, 5, 30, 60, 300];
const INSERT_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STATE_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];
const REBUILD_BUCKETS_S = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const ROWS_BUCKETS = [1, 10, 100, 500, 1000, 5000, 10_000, 25_000, 50_000, 100_000, 250_000];
const LOOKUP_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
const BYTES_BUCKETS = [1e3, 1e4, 1e5, 5e5, 1e6, 4e6, 16e6, 64e6, 256e6];

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec<T extends MetricType = MetricType, L extends Label = Label> {
  readonly type: T;
  /** Full name, with the `weir_` prefix. */
  readonly name: string;
  /** What one unit counts or measures, e.g. `records`, `seconds`, `bytes`. */
  readonly unit: string;
  readonly labels: readonly L[];
  readonly help: string;
  readonly buckets?: readonly number[];
}

const counter = <const L extends Label>(
  name: string,
  unit: string,
  labels: readonly L[],
  help: string,
): MetricSpec<'counter', L> => ({ type: 'counter', name: PREFIX + name, unit, labels, help });

const gauge = <const L extends Label>(
  name: string,
  unit: string,
  labels: readonly L[],
  help: string,
): MetricSpec<'gauge', L> => ({ type: 'gauge', name: PREFIX + name, unit, labels, help });

const histogram = <const L extends Label>(
  name: string,
  unit: string,
  labels: readonly L[],
  buckets: readonly number[],
  help: string,
): MetricSpec<'histogram', L> => ({
  type: 'histogram',
  name: PREFIX + name,
  unit,
  labels,
  buckets,
  help,
});

export const CATALOGUE = {
  // --- the standard per-stage counters every stage emits (parse, transforms, dedup, sink, …);
  // per stage, received = emitted + dropped (all reasons).
  stageReceived: counter(
    'stage_records_received_total',
    'records',
    ['pipeline', 'stage'],
    'Records that entered a stage.',
  ),
  stageEmitted: counter(
    'stage_records_emitted_total',
    'records',
    ['pipeline', 'stage'],
    'Records a stage passed on to the next one (for the sink: inserted).',
  ),
  stageDropped: counter(
    'stage_records_dropped_total',
    'records',
    ['pipeline', 'stage', 'reason'],
    'Records a stage did not pass on, by reason (filtered, duplicate, invalid_json, …). Dead-lettered records count here too.',
  ),
  stageErrors: counter(
    'stage_errors_total',
    'errors',
    ['pipeline', 'stage', 'class'],
    'Errors raised in a stage, by class (record, retryable, fatal).',
  ),

  // --- source
  recordsConsumed: counter(
    'source_records_total',
    'records',
    ['pipeline', 'topic'],
    'Records fetched from Kafka.',
  ),
  bytesConsumed: counter(
    'source_bytes_total',
    'bytes',
    ['pipeline', 'topic'],
    'Bytes of record values fetched from Kafka.',
  ),
  consumerLag: gauge(
    'consumer_lag_records',
    'records',
    ['pipeline', 'topic', 'partition'],
    'Records between the committed offset and the broker high-water mark, per partition; refreshed on its own timer, also while the pipeline is stalled.',
  ),
  lagRefreshed: gauge(
    'consumer_lag_refresh_timestamp_seconds',
    'unix seconds',
    ['pipeline'],
    'Unix time of the last successful read of the high-water marks (a stale value means the lag gauge is stale).',
  ),
  offsetsCommitted: counter(
    'offset_commits_total',
    'commits',
    ['pipeline', 'topic'],
    'Offset commits sent to Kafka.',
  ),
  inFlightRecords: gauge(
    'in_flight_records',
    'records',
    ['pipeline'],
    'Records consumed but not yet acknowledged (inserted, dead-lettered or dropped).',
  ),
  inFlightBytes: gauge(
    'in_flight_bytes',
    'bytes',
    ['pipeline'],
    'Key and value bytes of the records in flight, as read from Kafka; bounded by source.max_in_flight_bytes.',
  ),
  pausedPartitions: gauge(
    'paused_partitions',
    'partitions',
    ['pipeline'],
    'Partitions paused for backpressure.',
  ),
  assignedPartitions: gauge(
    'assigned_partitions',
    'partitions',
    ['pipeline'],
    'Partitions assigned to this agent.',
  ),

  // --- sink
  batchesInserted: counter(
    'sink_batches_total',
    'batches',
    ['pipeline', 'table'],
    'Batches inserted into ClickHouse.',
  ),
  rowsInserted: counter(
    'sink_rows_total',
    'rows',
    ['pipeline', 'table'],
    'Rows inserted into ClickHouse.',
  ),
  insertDuration: histogram(
    'sink_insert_duration_seconds',
    'seconds',
    ['pipeline', 'table'],
    INSERT_BUCKETS_S,
    'Duration of one successful ClickHouse insert request.',
  ),
  batchRows: histogram(
    'sink_batch_rows',
    'rows',
    ['pipeline', 'table'],
    ROWS_BUCKETS,
    'Rows per inserted batch.',
  ),
  batchBytes: histogram(
    'sink_batch_bytes',
    'bytes',
    ['pipeline', 'table'],
    BYTES_BUCKETS,
    'Bytes per inserted batch (JSONEachRow body).',
  ),
  insertRetries: counter(
    'sink_retries_total',
    'retries',
    ['pipeline', 'table', 'class'],
    'Insert attempts retried after a retryable error.',
  ),
  insertErrors: counter(
    'sink_errors_total',
    'errors',
    ['pipeline', 'table', 'class'],
    'Failed insert attempts, by error class (retryable, record, fatal).',
  ),
  lastInsert: gauge(
    'sink_last_success_timestamp_seconds',
    'unix seconds',
    ['pipeline', 'table'],
    'Unix time of the last successful insert.',
  ),

  // --- dead letters
  deadLettered: counter(
    'dead_letter_records_total',
    'records',
    ['pipeline', 'stage', 'reason'],
    'Records written to the dead-letter topic, by stage and reason.',
  ),

  // --- delivery SLIs (ratios a Prometheus rule can use directly)
  delivered: counter(
    'sli_records_delivered_total',
    'records',
    ['pipeline'],
    'Good events of the delivery SLI: records durably inserted into ClickHouse.',
  ),
  deliveryTotal: counter(
    'sli_records_total',
    'records',
    ['pipeline'],
    'Valid events of the delivery SLI: records inserted plus records lost to sink-side failures (dead-lettered by the sink).',
  ),
  endToEndLatency: histogram(
    'end_to_end_latency_seconds',
    'seconds',
    ['pipeline'],
    LATENCY_BUCKETS_S,
    'From the record time (the event_time_field, else the Kafka timestamp) to insert acknowledged; the latency SLI: bucket le="5" over _count is "delivered within 5 s".',
  ),

  // --- state store (dedup, join, ledger)
  stateOpDuration: histogram(
    'state_op_duration_seconds',
    'seconds',
    ['pipeline', 'op'],
    STATE_BUCKETS_S,
    'Duration of a state store operation (NATS KV), by operation.',
  ),

  // --- dedup
  dedupRecords: counter(
    'dedup_records_total',
    'records',
    ['pipeline', 'reason'],
    'Records the dedup stage decided, by outcome (reason): unique, duplicate (dropped), replay (the same source record again, passed), late (older than the window behind the newest time), no_key.',
  ),
  dedupIndexKeys: gauge(
    'dedup_index_keys',
    'keys',
    ['pipeline'],
    'Keys held by the in-memory dedup index (including expired ones not yet swept).',
  ),
  dedupIndexBytes: gauge(
    'dedup_index_bytes',
    'bytes',
    ['pipeline'],
    'Memory of the in-memory dedup index; divided by dedup_index_keys it is the bytes per key.',
  ),
  dedupIndexMaxKeys: gauge(
    'dedup_index_max_keys',
    'keys',
    ['pipeline'],
    'dedup.max_keys: at this many keys held the dedup stage holds its records until keys expire (weir_pipeline_paused reason dedup_keys); compare dedup_index_keys with it.',
  ),
  dedupRebuildDuration: histogram(
    'dedup_rebuild_duration_seconds',
    'seconds',
    ['pipeline'],
    REBUILD_BUCKETS_S,
    'Time to rebuild one partition\u2019s dedup index from NATS on assignment or start.',
  ),

  // --- join
  joinRecords: counter(
    'join_records_total',
    'records',
    ['pipeline', 'side', 'reason'],
    'Events the join decided, by side and outcome (reason): left matched (emitted with its matches), unmatched (a left join emitted it with null right fields), expired (an inner join dropped it: no match when its window closed), late (older than the allowed lateness: an inner join drops it, a left join emits it unmatched or dead-letters it, as join.late_left says), no_key; right buffered.',
  ),
  joinRows: counter(
    'join_rows_total',
    'rows',
    ['pipeline', 'reason'],
    'Rows the join emitted: matched (one per left-right pair) and unmatched (left events with null right fields).',
  ),
  joinBufferRecords: gauge(
    'join_buffer_records',
    'records',
    ['pipeline', 'side'],
    'Events the join holds in memory: right (buffered for matching, bounded by max_buffer_records and max_buffer_bytes) and left (waiting for their window to close).',
  ),
  joinBufferBytes: gauge(
    'join_buffer_bytes',
    'bytes',
    ['pipeline', 'side'],
    'Bytes of the events the join holds: right as counted against max_buffer_bytes (UTF-8 bytes of the key and kept fields plus 400 per event), left as the Kafka records waiting for their window to close.',
  ),
  joinRebuildDuration: histogram(
    'join_rebuild_duration_seconds',
    'seconds',
    ['pipeline'],
    REBUILD_BUCKETS_S,
    'Time to rebuild one partition\u2019s join buffer from NATS on assignment or start.',
  ),

  // --- aggregate
  aggregateRecords: counter(
    'aggregate_records_total',
    'records',
    ['pipeline', 'reason'],
    'Records the aggregation took, by outcome (reason): aggregated (folded into its windows), late (every window it belongs to had closed: dropped or dead-lettered, as aggregate.late says), partial (a hopping record that missed some of its windows, folded into the others).',
  ),
  aggregateRows: counter(
    'aggregate_rows_total',
    'rows',
    ['pipeline'],
    'Rows the aggregation emitted: one per window and group, when the partition\u2019s watermark passes the window\u2019s end.',
  ),
  aggregateWindowsOpen: gauge(
    'aggregate_windows_open',
    'windows',
    ['pipeline'],
    'Windows (one per window and group) the aggregation holds open, for every partition of this agent.',
  ),
  aggregateStateBytes: gauge(
    'aggregate_state_bytes',
    'bytes',
    ['pipeline'],
    'Bytes of the aggregation state as counted against aggregate.max_state_bytes (windows open, and closed ones until their row is committed).',
  ),
  aggregateRebuildDuration: histogram(
    'aggregate_rebuild_duration_seconds',
    'seconds',
    ['pipeline'],
    REBUILD_BUCKETS_S,
    'Time to rebuild one partition\u2019s aggregation state from NATS on assignment or start.',
  ),

  // --- lookups (enrichment from a dimension table)
  lookupRecords: counter(
    'lookup_records_total',
    'records',
    ['pipeline', 'lookup', 'reason'],
    'Records a lookup enriched, by outcome (reason): hit (a row was found), miss (no row, or a null key: on_miss applies), invalid_key (a key of the wrong type: dead-lettered); and replay, records of a replayed batch given the result of its first attempt (also counted as hit or miss).',
  ),
  lookupKeys: counter(
    'lookup_keys_total',
    'keys',
    ['pipeline', 'lookup', 'reason'],
    'Distinct keys of each fetch, by where their result came from (reason): cache (cached row or miss, or the preloaded table), query (asked from the source) or shared (being asked for another partition at the same time: its answer is used).',
  ),
  lookupErrors: counter(
    'lookup_errors_total',
    'errors',
    ['pipeline', 'lookup', 'class'],
    'Failed lookup queries, by class: connection (unreachable, timeout), auth (refused credentials), duplicate_key (two rows for one key), query (any other error). Each is retried; the pipeline is paused meanwhile.',
  ),
  lookupQueryDuration: histogram(
    'lookup_query_duration_seconds',
    'seconds',
    ['pipeline', 'lookup'],
    LOOKUP_BUCKETS_S,
    'Duration of one successful lookup query (one chunk of keys, or a whole preload).',
  ),
  lookupCacheEntries: gauge(
    'lookup_cache_entries',
    'entries',
    ['pipeline', 'lookup'],
    'Keys held by a lookup’s cache (rows and misses), or rows of its preloaded table; bounded by cache.max_entries.',
  ),
  lookupCacheBytes: gauge(
    'lookup_cache_bytes',
    'bytes',
    ['pipeline', 'lookup'],
    'Bytes of a lookup’s cache as counted against cache.max_bytes (UTF-8 bytes of keys and values plus 100 per entry).',
  ),

  // --- agent
  exactlyOnce: gauge(
    'exactly_once',
    '1',
    ['pipeline', 'table'],
    '1 when replays are dropped (batch ledger on and the table deduplicates inserts), 0 when the pipeline runs at-least-once.',
  ),
  pipelineUp: gauge(
    'pipeline_up',
    '1',
    ['pipeline'],
    '1 while a pipeline is running, 0 once it stopped or failed.',
  ),
  pipelinePaused: gauge(
    'pipeline_paused',
    '1',
    ['pipeline', 'reason'],
    '1 while the pipeline holds its batches back instead of dead-lettering them: reason table_mapping (the table changed and no longer fits), clickhouse_error (an unclassified server error persists), dedup_keys (the dedup index holds dedup.max_keys keys) or lookup (a lookup\u2019s source fails; its records wait until it answers).',
  ),
  readiness: gauge(
    'readiness_check',
    '1',
    ['pipeline', 'check'],
    '1 while a readiness check passes, 0 while it fails (kafka, clickhouse, partitions, progress, nats, …); /readyz is ready when all are 1.',
  ),
} as const satisfies Record<string, MetricSpec>;

type InstanceOf<S> =
  S extends MetricSpec<'counter', infer L>
    ? Counter<L>
    : S extends MetricSpec<'gauge', infer L>
      ? Gauge<L>
      : S extends MetricSpec<'histogram', infer L>
        ? Histogram<L>
        : never;

export type Metrics = { readonly registry: Registry } & {
  readonly [K in keyof typeof CATALOGUE]: InstanceOf<(typeof CATALOGUE)[K]>;
};

function instantiate(spec: MetricSpec, registry: Registry): Counter | Gauge | Histogram {
  const common = {
    name: spec.name,
    help: spec.help,
    labelNames: [...spec.labels],
    registers: [registry],
  };
  if (spec.type === 'counter') return new Counter(common);
  if (spec.type === 'gauge') return new Gauge(common);
  return new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] });
}

export function createMetrics(registry = new Registry(), opts: { defaults?: boolean } = {}) {
  if (opts.defaults ?? true) collectDefaultMetrics({ register: registry, prefix: PREFIX });
  const m: Record<string, unknown> = { registry };
  for (const [key, spec] of Object.entries(CATALOGUE)) m[key] = instantiate(spec, registry);
  return m as Metrics;
}

/** The catalogue as a list, in declaration order. */
export function catalogue(): MetricSpec[] {
  return Object.values(CATALOGUE);
}

/** Every metric name in the catalogue (without the default process metrics). */
export function catalogueNames(): string[] {
  return catalogue().map((s) => s.name);
}

/** The default Node.js process metrics prom-client adds, with Weir's prefix. */
export function processMetricNames(): string[] {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  return registry.getMetricsAsArray().map((x) => x.name);
}
