// The record stages: parse, then one stage per transform.
export type { Stage, StagePlan, Drop, RecordFn } from './stage.ts';
export { recordStage, toEnvelopes } from './stage.ts';
export type {
  ComputeSpec,
  ConvertTarget,
  FieldOrigin,
  FieldSpec,
  FieldSpecObject,
  FieldTypeName,
  TimeFormat,
  TransformConfig,
} from './options.ts';
export type { Converter } from './convert.ts';
export { converter, converterFrom, EPOCH_MS_THRESHOLD } from './convert.ts';
export { parseDateTime } from './datetime.ts';
export { createParser, schemaFields } from './parse.ts';
export type { Expression } from './expr.ts';
export { compileExpression, functionNames } from './expr.ts';
export type { ExpressionFunction } from './functions.ts';
export { expressionFunctions } from './functions.ts';
export { createFilter } from './filter.ts';
export { createCompute, createConvert, createDrop, createRename } from './map.ts';
export type { TransformPlan } from './transforms.ts';
export { buildTransforms, planTransforms } from './transforms.ts';
