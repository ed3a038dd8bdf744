// The load generator behind `weir generate` (docs/generator.md).
export {
  generateFlags,
  generateHelp,
  generateMain,
  parseGenerateArgs,
  PASSWORD_ENV,
} from './cli.ts';
export type { GenerateIo } from './cli.ts';
export { EventFactory, emptyCounts, eventDefaults } from './events.ts';
export type {
  EventFactoryOptions,
  GeneratedRecord,
  GeneratorCounts,
  JoinPair,
  RecordKind,
} from './events.ts';
export { classifyOrder, malformedKinds } from './malformed.ts';
export type { MalformedKind } from './malformed.ts';
export {
  GeneratorOptionsError,
  generatorOptionsSchema,
  resolveGeneratorOptions,
} from './options.ts';
export type { GeneratorOptions, ResolvedGeneratorOptions } from './options.ts';
export type { Order, OrderItem } from './orders.ts';
export type { Payment } from './payments.ts';
export { murmur2, partitionForKey } from './partitioner.ts';
export { eventOptionsFor, runGenerator } from './producer.ts';
export type { GeneratorDeps, GeneratorReport } from './producer.ts';
export { TRACEPARENT } from './traceparent.ts';
