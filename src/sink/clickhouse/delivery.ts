// Exactly-once or at-least-once, decided once per pipeline at start. Exactly-once holds when the
// table drops a replayed batch (see exactly-once.ts) and the batch ledger's NATS bucket can be
// used. `required` refuses to start otherwise; `preferred` runs at-least-once with a warning and
// weir_exactly_once 0; `off` never opens a ledger.
import type { ClickHouseSinkConfig } from '../../config/schema.ts';
import { ConfigError, describeError, isRetriable } from '../../core/errors.ts';
import { redactUrls } from '../../core/redact.ts';
import { NatsLedgerStore } from '../../state/ledger-nats.ts';
import { bucketExists, connectNats, ensureBucket } from '../../state/nats.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { Metrics } from '../../telemetry/metrics.ts';
import { assessExactlyOnce } from './exactly-once.ts';
import type { ClickHouseSink } from './sink.ts';

type ExactlyOnceConfig = ClickHouseSinkConfig['exactly_once'];

export interface DeliveryDeps {
  pipeline: string;
  logger: Logger;
  metrics: Metrics;
  /**
   * Open the ledger, creating its bucket when missing (`weir run`). When false (a check that
   * changes nothing) the bucket is only looked up and no ledger is opened.
   */
  create: boolean;
}

/** The batch ledger of a pipeline running exactly-once. */
export interface Ledger {
  readonly store: NatsLedgerStore;
  /** Closes the store and its NATS connection. */
  close(): Promise<void>;
}

export interface Delivery {
  /** Opened when exactly-once holds and `create`; otherwise at-least-once (or only checked). */
  readonly ledger: Ledger | undefined;
  /** The ledger's bucket, when a check without `create` found it missing. */
  readonly missingBucket: string | undefined;
}

export async function decideDelivery(
  sink: Pick<ClickHouseSink, 'table' | 'server' | 'tableEngine'>,
  cfg: ExactlyOnceConfig,
  deps: DeliveryDeps,
): Promise<Delivery> {
  const { metrics, logger } = deps;
  const labels = { pipeline: deps.pipeline, table: sink.table };
  const none: Delivery = { ledger: undefined, missingBucket: undefined };
  if (cfg.mode === 'off') {
    metrics.exactlyOnce.set(labels, 0);
    logger.info({ table: sink.table }, 'exactly-once is off: at-least-once delivery');
    return none;
  }
  const assessment = assessExactlyOnce(sink.server, await sink.tableEngine());
  let problem = assessment.ok ? undefined : `${assessment.reason} (fix: ${assessment.fix ?? '?'})`;
  let delivery = none;
  if (!problem) {
    try {
      delivery = deps.create
        ? { ledger: await openLedger(cfg.nats, deps), missingBucket: undefined }
        : { ledger: undefined, missingBucket: await lookUpBucket(cfg.nats, deps) };
    } catch (err) {
      // NATS being down is an outage, not a setup where exactly-once cannot hold: a run that
      // requires it waits for NATS (pipeline/startup.ts); `preferred` goes on at-least-once.
      if (cfg.mode === 'required' && isRetriable(err)) throw err;
      problem = `the batch ledger in NATS (${redactUrls(cfg.nats.servers)}) is not available: ${describeError(err)}`;
    }
  }
  if (problem) {
    if (cfg.mode === 'required')
      throw new ConfigError(`exactly-once cannot hold for ${sink.table}: ${problem}`, {
        hint: 'fix that, or set sink.clickhouse.exactly_once to preferred or off to run at-least-once',
      });
    metrics.exactlyOnce.set(labels, 0);
    logger.warn(
      { table: sink.table, why: problem },
      'exactly-once cannot hold: running at-least-once',
    );
    return none;
  }
  metrics.exactlyOnce.set(labels, 1);
  logger.info({ table: sink.table, how: assessment.reason }, 'exactly-once delivery');
  return delivery;
}

const client = (pipeline: string) => `weir-${pipeline}-ledger`;
const section = 'sink.clickhouse.exactly_once.nats';

async function openLedger(nats: ExactlyOnceConfig['nats'], deps: DeliveryDeps): Promise<Ledger> {
  const { nc } = await connectNats(nats, client(deps.pipeline), deps.logger, section);
  try {
    // Entries are small, but a batch's memo (its lookup results and ingest times) rides along:
    // values up to what the server carries, and memos bigger than a quarter of it in parts.
    const maxValueBytes = Math.min(1_000_000, nc.info?.max_payload ?? 1_000_000) - 1024;
    const bucket = await ensureBucket(nc, nats.bucket, {
      maxAgeMs: 0,
      replicas: 1,
      maxValueBytes,
      description:
        'Weir batch ledger: per partition, the batch in flight (with its memo) and the high-water mark',
    });
    const store = new NatsLedgerStore(bucket.kv, deps, maxValueBytes);
    return {
      store,
      close: async () => {
        store.close();
        await nc.close().catch(() => undefined);
      },
    };
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err;
  }
}

/** The bucket's name when it does not exist yet. */
async function lookUpBucket(
  nats: ExactlyOnceConfig['nats'],
  deps: DeliveryDeps,
): Promise<string | undefined> {
  const o = { client: client(deps.pipeline), section, logger: deps.logger };
  return (await bucketExists(nats, nats.bucket, o)) ? undefined : nats.bucket;
}
