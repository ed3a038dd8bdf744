// The dedup stage: one contract, two implementations chosen by the mode.
//   - keyed (keyed.ts): the topic is keyed by the dedup key, so a key's copies share a partition
//     and each partition's keys are the state of the agent that owns it, rebuilt on assignment;
//   - global (global.ts): any agent may see any key, so a key is claimed in NATS shared by all
//     agents (one round trip per new key: its cost is documented in the README).
// For each record: its key (hashed to 64 bits), its time (an event-time field or arrival) and its
// origin (topic/partition/offset), judged against an in-memory index:
//   - the key's live entry has this very origin   → a replay of the record itself: passed on;
//   - a live entry less than `window` away         → a duplicate: dropped (reason `duplicate`);
//   - otherwise, unless the record is late        → accepted and remembered.
// The index is updated record by record, so duplicates inside one batch are caught. While the
// index holds dedup.max_keys keys, a batch waits before any of it is judged (common.ts).
import type { Clock } from '../core/clock.ts';
import type { Envelope, StageOutput } from '../core/record.ts';
import type { Stage } from '../stages/stage.ts';
import type { KeyOf, KeyedStore } from '../state/keyed/index.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { DuplicateSink } from './duplicates.ts';
import { GlobalDedup } from './global.ts';
import type { GlobalStore } from './global-store.ts';
import type { KeyIndex } from './key-index.ts';
import { KeyedDedup } from './keyed.ts';

export type DedupOutcome = 'unique' | 'duplicate' | 'replay' | 'late' | 'no_key';

export interface DedupSettings {
  pipeline: string;
  keyOf: KeyOf;
  windowMs: number;
  /** Event-time field (epoch ms); arrival time when undefined. */
  timeField?: string;
  late: 'keep' | 'drop';
  mode: 'keyed' | 'global';
  /** dedup.max_keys: records are held while the index holds this many keys; no cap if undefined. */
  maxKeys?: number;
}

export interface DedupDeps {
  /** Keyed mode's store. */
  keyed?: KeyedStore;
  /** Global mode's store. */
  global?: GlobalStore;
  duplicates?: DuplicateSink;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** Why the state store cannot be used right now (e.g. NATS disconnected), for readiness. */
  storeProblem?: () => string | undefined;
  /** Releases the store's connection on close. */
  closeStore?: () => Promise<void>;
  snapshotEvery?: number;
  retryInitialMs?: number;
  /**
   * Keeps the consumer in its group while records are held at the key cap (a held batch sends
   * no heartbeats otherwise, and the broker would drop the member after its session timeout).
   */
  keepAlive?: () => void;
  /** How often a hold at the key cap looks again (default 1 s). */
  capCheckMs?: number;
}

export interface DedupStage extends Stage {
  /** Keyed mode: the owned partitions' keys; global mode: a cache of the claims seen. */
  readonly index: KeyIndex;
  process(batch: Envelope[]): Promise<StageOutput>;
  /** Resolves once every key accepted so far (and every duplicate for the side topic) is durable. */
  checkpoint(): Promise<void>;
  onAssign(topic: string, partition: number): Promise<void>;
  onRevoke(topic: string, partition: number): void;
  /** Readiness: not ready while partitions are being rebuilt or the store is unreachable. */
  check(): { ok: boolean; reason?: string };
  /** Readiness: not ready while records are held because the index is at dedup.max_keys. */
  capCheck(): { ok: boolean; reason?: string };
  /** Waits for running writes (up to `graceMs`), then releases the store. Safe to call twice. */
  close(graceMs?: number): Promise<void>;
}

/** The dedup stage of `settings.mode`, with that mode's store from `deps`. */
export function createDedup(settings: DedupSettings, deps: DedupDeps): DedupStage {
  return settings.mode === 'keyed'
    ? new KeyedDedup(settings, deps)
    : new GlobalDedup(settings, deps);
}
