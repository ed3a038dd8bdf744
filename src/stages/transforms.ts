// The `transforms` list of a pipeline as stages, planned in order against the parsed fields.
import { ConfigError } from '../core/errors.ts';
import type { FieldInfo } from '../core/fields.ts';
import { createFilter } from './filter.ts';
import { createCompute, createConvert, createDrop, createIngestTime, createRename } from './map.ts';
import { createLookup, type LookupSourceFactory } from '../lookup/open.ts';
import type { LookupDeps } from '../lookup/stage.ts';
import type { TransformConfig } from './options.ts';
import type { Stage, StagePlan } from './stage.ts';

export interface TransformPlan {
  readonly stages: Stage[];
  /** The fields rows carry after the last transform: what the sink maps to columns. */
  readonly fields: readonly FieldInfo[];
}

const KINDS = ['filter', 'rename', 'convert', 'compute', 'drop', 'ingest_time', 'lookup'] as const;

/**
 * What stages that reach outside need (lookups): the pipeline, metrics, logs, the clock. Without
 * it a lookup cannot be planned.
 */
export type TransformContext = LookupDeps & { lookupSource?: LookupSourceFactory };

/** Builds one stage per transform entry (`transform[i].<kind>`); throws ConfigError. */
export function planTransforms(
  transforms: readonly TransformConfig[],
  input: readonly FieldInfo[],
  context?: TransformContext,
): TransformPlan {
  const stages: Stage[] = [];
  let fields = input;
  transforms.forEach((t, i) => {
    const keys = Object.keys(t);
    const kind = KINDS.find((k) => k === keys[0]);
    if (keys.length !== 1 || kind === undefined) {
      throw new ConfigError(
        `transform[${i}]: expected exactly one of ${KINDS.join(', ')}, got ${keys.join(', ') || 'nothing'}`,
      );
    }
    const plan =
      'lookup' in t
        ? createLookup(i, t.lookup, fields, requireContext(i, context))
        : planOne(`transform[${i}].${kind}`, t, fields);
    stages.push(plan.stage);
    fields = plan.fields;
  });
  return { stages, fields };
}

/** The transform stages alone; see planTransforms for the resulting fields. */
export function buildTransforms(
  transforms: readonly TransformConfig[],
  input: readonly FieldInfo[],
  context?: TransformContext,
): Stage[] {
  return planTransforms(transforms, input, context).stages;
}

function requireContext(i: number, context: TransformContext | undefined): TransformContext {
  if (!context)
    throw new Error(`transform[${i}].lookup: a lookup needs the pipeline's context to be planned`);
  return context;
}

function planOne(
  name: string,
  t: Exclude<TransformConfig, { lookup: unknown }>,
  fields: readonly FieldInfo[],
): StagePlan {
  if ('filter' in t) return createFilter(name, t.filter, fields);
  if ('rename' in t) return createRename(name, t.rename, fields);
  if ('convert' in t) return createConvert(name, t.convert, fields);
  if ('compute' in t) return createCompute(name, t.compute, fields);
  if ('drop' in t) return createDrop(name, t.drop, fields);
  return createIngestTime(name, t.ingest_time, fields);
}
