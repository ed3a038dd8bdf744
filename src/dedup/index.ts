// Streaming deduplication: the stage, its index and its global claims (README "Deduplication").
// Keyed state (key plans, per-partition stores) is in ../state/keyed.
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
export { KeyBuffer, decodeKeys, KEY_BYTES } from './entries.ts';
export { NatsGlobalStore, type Claim, type GlobalStore } from './global-store.ts';
export { KafkaDuplicateSink, type DuplicateSink } from './duplicates.ts';
