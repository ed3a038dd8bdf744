// The stage options as plain types, shaped like the parsed config (docs/config-shape.md) so the
// validated config passes straight in. Keys with a config default are optional here: the stages
// apply the same defaults, which keeps tests and direct callers short.
import type { LookupConfig } from '../config/schema.ts';
import type { ScalarType } from '../core/fields.ts';

export type FieldTypeName = ScalarType;

/** How numbers (and numeric strings) become date-times; `iso` accepts ISO text only. */
export type TimeFormat = 'auto' | 'epoch_ms' | 'epoch_s' | 'iso';

export type FieldOrigin =
  'value' | 'key' | 'topic' | 'partition' | 'offset' | 'timestamp' | 'header';

export interface FieldSpecObject {
  type: FieldTypeName | 'array' | 'map';
  /** Element type; required when type = array. */
  items?: FieldTypeName;
  /** Value type; required when type = map (keys are strings). */
  values?: FieldTypeName;
  /** Dotted path inside the JSON value; default: the field's name. */
  path?: string;
  /** Default 'value'. */
  from?: FieldOrigin;
  /** Header name; required when from = header. */
  header?: string;
  /** Default false. */
  nullable?: boolean;
  /** Used when the field is missing (not when it is null). */
  default?: unknown;
  /** Default 'auto'. */
  format?: TimeFormat;
}

export type FieldSpec = FieldTypeName | FieldSpecObject;

export type ConvertTarget = FieldTypeName | { to: FieldTypeName; format?: TimeFormat };

export type ComputeSpec = string | { expr: string; type?: FieldTypeName; nullable?: boolean };

export type TransformConfig =
  | { filter: string }
  | { rename: Record<string, string> }
  | { convert: Record<string, ConvertTarget> }
  | { compute: Record<string, ComputeSpec> }
  | { drop: string[] }
  | { ingest_time: string }
  | { lookup: LookupConfig };
