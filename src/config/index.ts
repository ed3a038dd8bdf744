// Public surface of the configuration layer.
export {
  weirConfigSchema,
  pipelineSchema,
  outputFields,
  fieldTypeOf,
  type WeirConfig,
  type WeirConfigInput,
  type AgentConfig,
  type PipelineConfig,
  type KafkaSourceConfig,
  type FieldTypeName,
  type FieldSpec,
  type FieldObjectSpec,
  type TransformConfig,
  type ConvertTarget,
  type ComputeSpec,
  type ClickHouseSinkConfig,
  type TlsConfig,
  type RetryConfig,
  type OptionMeta,
} from './schema.ts';
export { applyTransform, declaredFields, metadataType } from './output-fields.ts';
export {
  loadConfig,
  parseConfigText,
  validateConfig,
  formatOf,
  type ConfigFormat,
} from './load.ts';
export type { Env } from './interpolate.ts';
export { InvalidConfigError, formatPath, formatProblem, type ConfigProblem } from './problems.ts';
export { MASK, secretPaths, isSecretPath, redact, redactConfig } from './secrets.ts';
export { consumerGroup, deadLetterTopic } from './pipeline-rules.ts';
export { generateReference } from './reference.ts';
