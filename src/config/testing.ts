// Small valid configs for tests (here and in other modules) to modify one option at a time.
import type { WeirConfigInput } from './schema.ts';

type PipelineInput = WeirConfigInput['pipelines'][number];

/** A pipeline with only the required options. */
export function minimalPipeline(overrides: Partial<PipelineInput> = {}): PipelineInput {
  return {
    name: 'orders',
    source: { brokers: ['127.0.0.1:9092'], topics: ['orders'] },
    schema: { fields: { id: 'uuid', amount: 'number' } },
    sink: { clickhouse: { table: 'orders' } },
    ...overrides,
  };
}

/** A config of the given pipelines (default: one minimal pipeline). */
export function minimalConfig(...pipelines: PipelineInput[]): WeirConfigInput {
  return { pipelines: pipelines.length ? pipelines : [minimalPipeline()] };
}
