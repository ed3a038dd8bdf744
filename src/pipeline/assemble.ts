// What a pipeline is made of, built from its config: the source, the stage chains, the sink, the
// stateful stages, the delivery decision and the dead-letter writer. `assemble` builds them for a
// run (creating side topics, the table and NATS buckets when missing); `inspect` checks the same
// things and creates nothing.
import type { Clock } from '../core/clock.ts';
import type { PipelineConfig } from '../config/schema.ts';
import { outputFields, sinkFields } from '../config/schema.ts';
import { KafkaDeadLetterSink, type DeadLetterSink } from '../deadletter/writer.ts';
import { openDedup, type DedupStage } from '../dedup/index.ts';
import { openAggregate } from '../aggregate/open.ts';
import type { AggregateStage } from '../aggregate/stage.ts';
import { openJoin } from '../join/open.ts';
import type { JoinStage } from '../join/stage.ts';
import { decideDelivery, type Ledger } from '../sink/clickhouse/delivery.ts';
import { ClickHouseSink } from '../sink/clickhouse/sink.ts';
import { createKafka, KafkaSource } from '../source/index.ts';
import { bucketExists } from '../state/nats.ts';
import { createParser } from '../stages/parse.ts';
import { buildTransforms, schemaFields } from '../stages/index.ts';
import type { Stage } from '../stages/stage.ts';
import { isLookup, type LookupStage } from '../lookup/open.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { Missing } from './check.ts';
import { ensureSideTopics } from './side-topics.ts';

export interface AssemblyDeps {
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  lagIntervalMs?: number;
  /** Which attempt this is, when a start waits for a service (startup.ts); 0 for the first. */
  attempt?: number;
}

export interface Parts {
  source: KafkaSource;
  /** The chain of the source topics. */
  stages: Stage[];
  /** The chain of the join's right topic: its own parse, then the join. */
  rightStages: Stage[];
  sink: ClickHouseSink;
  deadLetters: DeadLetterSink;
  dedup: DedupStage | undefined;
  join: JoinStage | undefined;
  aggregate: AggregateStage | undefined;
  /** The batch ledger, when exactly-once holds. */
  ledger: Ledger | undefined;
  /** The lookup transforms, opened (connected, columns checked, preloaded). */
  lookups: LookupStage[];
}

/** Every topic read: the source topics, then the join's right topic. */
function topicsOf(cfg: PipelineConfig): string[] {
  const right = cfg.join?.right.topic;
  return right ? [...cfg.source.topics, right] : cfg.source.topics;
}

function sourceOf(cfg: PipelineConfig, deps: AssemblyDeps): KafkaSource {
  return new KafkaSource(cfg.source, {
    pipeline: cfg.name,
    topics: topicsOf(cfg),
    // A join keeps state per partition pair: partition p of both topics in the same agent.
    coPartitioned: cfg.join !== undefined,
    logger: deps.logger,
    metrics: deps.metrics,
    lagIntervalMs: deps.lagIntervalMs,
  });
}

function statelessStages(cfg: PipelineConfig, deps: AssemblyDeps, keepAlive?: () => void): Stage[] {
  const { logger, metrics, clock } = deps;
  return [
    createParser(cfg.schema.fields, 'parse', { maxRecordBytes: cfg.source.max_record_bytes }),
    ...buildTransforms(cfg.transforms, schemaFields(cfg.schema.fields), {
      pipeline: cfg.name,
      logger,
      metrics,
      clock,
      ...(keepAlive && { keepAlive }),
    }),
  ];
}

/**
 * Opens the lookups of a chain: connects to their sources, checks the columns, preloads. On a
 * failure every lookup is closed again.
 */
async function openLookups(stages: readonly Stage[]): Promise<LookupStage[]> {
  const lookups = stages.filter(isLookup);
  try {
    for (const l of lookups) await l.open();
  } catch (err) {
    for (const l of lookups) await l.close().catch(() => undefined);
    throw err;
  }
  return lookups;
}

function openSink(cfg: PipelineConfig, deps: AssemblyDeps, create: boolean) {
  const sinkDeps = { pipeline: cfg.name, logger: deps.logger, metrics: deps.metrics };
  return ClickHouseSink.open(cfg.sink.clickhouse, sinkFields(cfg), sinkDeps, { create });
}

/** Builds every part for a run; what is missing is created. A failure leaves nothing open. */
export async function assemble(cfg: PipelineConfig, deps: AssemblyDeps): Promise<Parts> {
  const { logger, metrics, clock } = deps;
  const pipeline = cfg.name;
  const source = sourceOf(cfg, deps);
  // A lookup waiting for its source holds the partition's batch: the consumer keeps its session.
  const stages = statelessStages(cfg, deps, () => source.keepAlive());
  await source.check();
  const kafka = createKafka(cfg.source, logger);
  await ensureSideTopics(kafka, cfg, { create: true, logger });
  const lookups = await openLookups(stages);
  let sink: ClickHouseSink;
  try {
    sink = await openSink(cfg, deps, true);
  } catch (err) {
    for (const l of lookups) await l.close().catch(() => undefined);
    throw err;
  }
  // Said once, not again on every attempt of a start that waits for NATS.
  logger[deps.attempt ? 'debug' : 'info'](
    { table: sink.table, clickhouse: sink.server.version },
    'ClickHouse table checked',
  );
  const opened: { close?(): Promise<void> }[] = [...lookups, sink];
  try {
    let dedup: DedupStage | undefined;
    if (cfg.dedup) {
      // Dedup sees the records after the transforms, before a join or an aggregation.
      const fields = outputFields(cfg);
      dedup = await openDedup(cfg.dedup, {
        pipeline,
        fields,
        kafka,
        duplicatesCompression: cfg.dead_letter.compression,
        logger,
        metrics,
        clock,
        keepAlive: () => source.keepAlive(),
      });
      opened.push(dedup);
      stages.push(dedup);
    }
    let join: JoinStage | undefined;
    let rightStages: Stage[] = [];
    if (cfg.join) {
      const leftTopic = cfg.source.topics[0]!;
      const fields = outputFields(cfg);
      join = await openJoin(cfg.join, { pipeline, leftTopic, fields, logger, metrics, clock });
      opened.push(join);
      stages.push(join);
      rightStages = [
        createParser(cfg.join.right.schema.fields, 'join.parse', {
          maxRecordBytes: cfg.source.max_record_bytes,
        }),
        join,
      ];
    }
    let aggregate: AggregateStage | undefined;
    if (cfg.aggregate) {
      aggregate = await openAggregate(cfg.aggregate, { pipeline, logger, metrics, clock });
      opened.push(aggregate);
      stages.push(aggregate);
    }
    const { ledger } = await decideDelivery(sink, cfg.sink.clickhouse.exactly_once, {
      pipeline,
      logger,
      metrics,
      create: true,
    });
    const deadLetters = new KafkaDeadLetterSink(kafka, cfg.dead_letter.topic, pipeline, {
      compression: cfg.dead_letter.compression,
      metrics,
    });
    return {
      source,
      stages,
      rightStages,
      sink,
      deadLetters,
      dedup,
      join,
      aggregate,
      ledger,
      lookups,
    };
  } catch (err) {
    for (const part of opened.reverse()) await part.close?.().catch(() => undefined);
    throw err;
  }
}

/** Checks what {@link assemble} builds, creating nothing; returns what a run would create. */
export async function inspect(cfg: PipelineConfig, deps: AssemblyDeps): Promise<Missing[]> {
  const { logger } = deps;
  const lookups = statelessStages(cfg, deps).filter(isLookup);
  await sourceOf(cfg, deps).check();
  // Reachable, and the columns fit; nothing is loaded.
  for (const l of lookups) await l.inspect();
  const kafka = createKafka(cfg.source, logger);
  const missing = await ensureSideTopics(kafka, cfg, { create: false, logger });
  const sink = await openSink(cfg, deps, false);
  try {
    if (!sink.tableExists) missing.push({ what: 'ClickHouse table', name: sink.table });
    // The stateful stages are not opened: opening creates their buckets.
    const stateful = [
      { stage: 'dedup', nats: cfg.dedup?.nats },
      { stage: 'join', nats: cfg.join?.nats },
      { stage: 'aggregate', nats: cfg.aggregate?.nats },
    ];
    for (const { stage, nats } of stateful) {
      if (!nats) continue;
      const o = { client: `weir-${cfg.name}-${stage}`, section: `${stage}.nats`, logger };
      if (!(await bucketExists(nats, nats.bucket, o)))
        missing.push({ what: `NATS KV bucket (${stage} state)`, name: nats.bucket });
    }
    const { missingBucket } = await decideDelivery(sink, cfg.sink.clickhouse.exactly_once, {
      pipeline: cfg.name,
      logger,
      metrics: deps.metrics,
      create: false,
    });
    if (missingBucket) missing.push({ what: 'NATS KV bucket (batch ledger)', name: missingBucket });
  } finally {
    await sink.close();
  }
  return missing;
}
