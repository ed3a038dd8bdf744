// What a pipeline consumes from: the source contract and its Kafka implementation.
export {
  partitionKey,
  type Assignment,
  type PartitionBatch,
  type Source,
  type SourceHandler,
  type SourceStatus,
  type TopicPartition,
} from './source.ts';
export { KafkaSource, type KafkaSourceOptions } from './kafka-source.ts';
export {
  createKafka,
  explainKafkaError,
  kafkaSsl,
  type KafkaConnectionConfig,
} from './kafka-client.ts';
