// Keyed state: what a stateful stage (dedup, join, aggregation) keeps per topic-partition, made
// durable in NATS KV as deltas plus snapshots and rebuilt on assignment; and the row key it is
// kept by. The in-memory store for unit tests is `./memory-store.ts`.
export { planKey, type KeyOf, type KeySpec } from './key.ts';
export type { KeyedStore, LoadedPartition } from './store.ts';
export { NatsKeyedStore } from './nats-store.ts';
export { StateCalls, type StateCallsOptions } from './calls.ts';
export { KeyedState, StatePartition, type KeyedStateOptions } from './partitions.ts';
export { traceRebuild } from './trace.ts';
