// Streaming deduplication: the stage (keyed or global mode), its index and its global claims
// (README "Deduplication"). Keyed state (key plans, per-partition stores) is in ../state/keyed.
export {
  createDedup,
  type DedupDeps,
  type DedupOutcome,
  type DedupSettings,
  type DedupStage,
} from './stage.ts';
export { MAX_FUTURE_MS } from './common.ts';
export { openDedup, RETENTION_MARGIN_MS, type OpenDedupDeps } from './open.ts';
export { KeyIndex, type TimeBase } from './key-index.ts';
export { hash64, hashHex, type Hash64 } from './hash.ts';
export { KeyBuffer, decodeKeys, KEY_BYTES } from './entries.ts';
export { NatsGlobalStore, type Claim, type GlobalStore } from './global-store.ts';
export { KafkaDuplicateSink, type DuplicateSink } from './duplicates.ts';
