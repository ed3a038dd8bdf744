// Whether a target table can drop a replayed batch, and what to change when it cannot.
import type { ServerInfo } from './describe.ts';

export interface ExactlyOnceAssessment {
  ok: boolean;
  /** How replays are dropped, or why they are not. */
  reason: string;
  /** What to change when not ok. */
  fix?: string;
}

export function assessExactlyOnce(
  server: Pick<ServerInfo, 'version' | 'supportsInsertDeduplicationToken'>,
  engine: { engine: string; engineFull: string } | undefined,
): ExactlyOnceAssessment {
  if (!engine)
    return {
      ok: false,
      reason: 'the table engine could not be read',
      fix: 'check the table exists',
    };
  const replicated = /^Replicated\w*MergeTree$/.test(engine.engine);
  const mergeTree = /MergeTree$/.test(engine.engine);
  const windowMatch = /non_replicated_deduplication_window\s*=\s*(\d+)/.exec(engine.engineFull);
  const nonReplicatedWindow = windowMatch ? Number(windowMatch[1]) : 0;
  if (server.supportsInsertDeduplicationToken) {
    if (replicated)
      return {
        ok: true,
        reason: `${engine.engine} drops a replayed batch by its insert_deduplication_token`,
      };
    if (mergeTree && nonReplicatedWindow > 0)
      return {
        ok: true,
        reason: `${engine.engine} with non_replicated_deduplication_window = ${nonReplicatedWindow} drops a replayed batch by its insert_deduplication_token`,
      };
    if (mergeTree)
      return {
        ok: false,
        reason: `${engine.engine} without a deduplication window keeps a replayed batch twice`,
        fix: 'ALTER TABLE … MODIFY SETTING non_replicated_deduplication_window = 1000 (or use ReplicatedMergeTree)',
      };
  } else if (replicated) {
    return {
      ok: true,
      reason: `ClickHouse ${server.version} has no insert tokens; ${engine.engine} drops a replayed batch by its block hash (replays are cut identically)`,
    };
  } else if (mergeTree) {
    return {
      ok: false,
      reason: `ClickHouse ${server.version} deduplicates inserts only in Replicated tables; ${engine.engine} keeps a replayed batch twice`,
      fix: 'use ReplicatedMergeTree (ZooKeeper/Keeper), or ClickHouse 22.2+ with non_replicated_deduplication_window',
    };
  }
  return {
    ok: false,
    reason: `the ${engine.engine} engine does not deduplicate inserts`,
    fix: 'insert into a (Replicated)MergeTree table',
  };
}
