// A lookup transform from its config: the source it reads (PostgreSQL, ClickHouse or HTTP) and the
// stage, unopened. The stage is opened (connect, check the columns, preload) by the pipeline's
// assembly, which is asynchronous; planning stays synchronous.
import type { FieldInfo } from '../core/fields.ts';
import type { LookupConfig } from '../config/schema.ts';
import { lookupFieldColumn, lookupKey } from '../config/lookup-rules.ts';
import type { StagePlan } from '../stages/stage.ts';
import { ClickHouseSource } from './clickhouse.ts';
import { HttpSource } from './http.ts';
import { PostgresSource } from './postgres.ts';
import type { DimensionSource } from './source.ts';
import { LookupStage, type FamilyOf, type LookupDeps } from './stage.ts';
import { clickHouseFamily, postgresFamily } from './types.ts';

export interface LookupSourceFactory {
  (cfg: LookupConfig, section: string): { source: DimensionSource; familyOf?: FamilyOf };
}

/** The source a lookup config names. */
export const lookupSource: LookupSourceFactory = (cfg, section) => {
  const keyColumn = lookupKey(cfg.key).column;
  const columns = Object.entries(cfg.fields).map(([n, spec]) => lookupFieldColumn(n, spec));
  const common = {
    keyColumn,
    columns,
    timeoutMs: cfg.timeout_ms,
    maxConnections: cfg.max_concurrency,
    section,
    ...(cfg.table !== undefined && { table: cfg.table }),
    ...(cfg.query !== undefined && { query: cfg.query }),
  };
  if (cfg.from.postgres)
    return { source: new PostgresSource(cfg.from.postgres, common), familyOf: postgresFamily };
  if (cfg.from.clickhouse)
    return {
      source: new ClickHouseSource(cfg.from.clickhouse, common),
      familyOf: clickHouseFamily,
    };
  return {
    source: new HttpSource(cfg.from.http!, { keyColumn, timeoutMs: cfg.timeout_ms, section }),
  };
};

/** The stage name of the lookup at `index` of the transforms. */
export const lookupName = (cfg: Pick<LookupConfig, 'name'>, index: number) =>
  cfg.name ?? `lookup[${index}]`;

export function createLookup(
  index: number,
  cfg: LookupConfig,
  input: readonly FieldInfo[],
  deps: LookupDeps & { lookupSource?: LookupSourceFactory },
): StagePlan {
  const name = lookupName(cfg, index);
  const { source, familyOf } = (deps.lookupSource ?? lookupSource)(
    cfg,
    `transforms[${index}].lookup`,
  );
  return LookupStage.plan(name, cfg, input, source, familyOf, deps);
}

export function isLookup(stage: unknown): stage is LookupStage {
  return stage instanceof LookupStage;
}

export { LookupStage };
