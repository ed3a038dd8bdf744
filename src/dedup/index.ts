// Streaming deduplication: the stage, its index and its state stores (README "Deduplication").
export {
  DedupStage,
  MAX_FUTURE_MS,
  type DedupDeps,
  type DedupOutcome,
  type DedupSettings,
} from './stage.ts';
export { openDedup, RETENTION_MARGIN_MS, type OpenDedupDeps } from './open.ts';
export { KeyIndex, type TimeBase } from './key-index.ts';
export { hash64, hashHex, type Hash64 } from './hash.ts';
export { planKey, type DedupKeySpec, type KeyOf } from './key.ts';
export { KeyBuffer, decodeKeys, KEY_BYTES } from './entries.ts';
export type { Claim, GlobalStore, KeyedStore, LoadedPartition } from './store.ts';
export { NatsGlobalStore, NatsKeyedStore } from './nats-store.ts';
export { KafkaDuplicateSink, type DuplicateSink } from './duplicates.ts';
