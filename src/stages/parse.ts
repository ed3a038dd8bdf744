// The parse stage: a record's JSON value (and metadata) to a Row with exactly the declared fields.
// Each field compiles once into a reader closure (accessor + missing/null rules + converter), so
// per record the work is one JSON.parse and one closure call per field.
import { ConfigError, RecordError } from '../core/errors.ts';
import type { FieldInfo, FieldType } from '../core/fields.ts';
import { scalarTypes } from '../core/fields.ts';
import type { SourceRecord, Row } from '../core/record.ts';
import { recordBytes } from '../core/record.ts';
import { converter, describeValue } from './convert.ts';
import type { FieldSpec, FieldSpecObject, TimeFormat } from './options.ts';
import type { Stage } from './stage.ts';
import { recordStage } from './stage.ts';

type Json = Record<string, unknown>;

/** Marks an absent value; distinct from null, which the record states explicitly. */
const MISSING = Symbol('missing');

type Getter = (json: Json, source: SourceRecord) => unknown;
type FieldReader = (json: Json, source: SourceRecord) => unknown;

interface CompiledField {
  readonly name: string;
  readonly read: FieldReader;
}

export interface ParserOptions {
  /** source.max_record_bytes: larger records are dead-lettered (`oversize`) before parsing. */
  maxRecordBytes?: number;
}

/** The parse stage for a pipeline's `schema.fields`; throws ConfigError on an invalid spec. */
export function createParser(
  fields: Record<string, FieldSpec>,
  name = 'parse',
  opts: ParserOptions = {},
): Stage {
  const entries = Object.entries(fields);
  if (entries.length === 0) throw new ConfigError('schema.fields: declare at least one field');
  const compiled: CompiledField[] = entries.map(([name, spec]) => compileField(name, spec));
  const needsValue = entries.some(([, spec]) => (normalize(spec).from ?? 'value') === 'value');
  const count = compiled.length;
  const maxBytes = opts.maxRecordBytes ?? Infinity;

  return recordStage(name, 'parse', (env) => {
    const source = env.source;
    checkSize(source, maxBytes);
    const json = needsValue ? parseValue(source.value) : EMPTY;
    const row: Row = {};
    for (let i = 0; i < count; i++) {
      const field = compiled[i]!;
      row[field.name] = field.read(json, source);
    }
    env.row = row;
    return env;
  });
}

/** The fields the parse stage produces, in declaration order. */
export function schemaFields(fields: Record<string, FieldSpec>): FieldInfo[] {
  return Object.entries(fields).map(([name, spec]) => {
    const s = normalize(spec);
    return { name, type: fieldType(name, s), nullable: s.nullable ?? false };
  });
}

const EMPTY: Json = Object.freeze({});

/** Refuses a record over the limit before its value is decoded (a cheap check on lengths). */
function checkSize(source: SourceRecord, maxBytes: number): void {
  const bytes = recordBytes(source);
  if (bytes > maxBytes)
    throw new RecordError(
      'oversize',
      `record is ${bytes} bytes (key, value and headers); source.max_record_bytes is ${maxBytes}`,
    );
}

function parseValue(value: Buffer | null): Json {
  if (value === null || value.length === 0) {
    throw new RecordError('invalid_json', 'value is empty; expected a JSON object');
  }
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new RecordError('invalid_json', `value is not valid JSON: ${why}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new RecordError(
      'invalid_json',
      `value is ${describeValue(json)}; expected a JSON object`,
    );
  }
  return json as Json;
}

function normalize(spec: FieldSpec): FieldSpecObject {
  return typeof spec === 'string' ? { type: spec } : spec;
}

function fieldType(name: string, spec: FieldSpecObject): FieldType {
  const scalar = (t: unknown, key: string): FieldType => {
    if (!(scalarTypes as readonly unknown[]).includes(t)) {
      throw new ConfigError(
        `schema.fields.${name}: ${key} must be one of ${scalarTypes.join(', ')}, got ${String(t)}`,
      );
    }
    return { kind: t as FieldType['kind'] } as FieldType;
  };
  if (spec.type === 'array') return { kind: 'array', items: scalar(spec.items, 'items') };
  if (spec.type === 'map') return { kind: 'map', values: scalar(spec.values, 'values') };
  return scalar(spec.type, 'type');
}

function compileField(name: string, raw: FieldSpec): CompiledField {
  const spec = normalize(raw);
  const type = fieldType(name, spec);
  const from = spec.from ?? 'value';
  // Kafka timestamps are epoch ms; `auto` would read early ones as seconds.
  const format: TimeFormat =
    from === 'timestamp' && (spec.format ?? 'auto') === 'auto'
      ? 'epoch_ms'
      : (spec.format ?? 'auto');
  const convert = converter(type, name, format);
  const nullable = spec.nullable ?? false;
  const get = getter(name, spec);
  const whenMissing = missingValue(name, spec, convert, nullable);

  const read: FieldReader = nullable
    ? (json, source) => {
        const value = get(json, source);
        if (value === MISSING) return whenMissing();
        return value === null ? null : convert(value);
      }
    : (json, source) => {
        const value = get(json, source);
        if (value === MISSING) return whenMissing();
        if (value === null) throw new RecordError('null_field', `field "${name}" is null`);
        return convert(value);
      };
  return { name, read };
}

function missingValue(
  name: string,
  spec: FieldSpecObject,
  convert: (v: unknown) => unknown,
  nullable: boolean,
): () => unknown {
  if (spec.default !== undefined) {
    const value = convertDefault(name, spec.default, convert, nullable);
    return () => value;
  }
  if (nullable) return () => null;
  const where =
    (spec.from ?? 'value') === 'value' ? `at path "${spec.path ?? name}"` : 'in metadata';
  return () => {
    throw new RecordError('missing_field', `field "${name}" is missing ${where}`);
  };
}

function convertDefault(
  name: string,
  value: unknown,
  convert: (v: unknown) => unknown,
  nullable: boolean,
): unknown {
  if (value === null) {
    if (nullable) return null;
    throw new ConfigError(`schema.fields.${name}: default is null but the field is not nullable`, {
      hint: 'set nullable: true or give a non-null default',
    });
  }
  try {
    // Frozen: every row shares this one value.
    return Object.freeze(convert(value));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`schema.fields.${name}: invalid default: ${why}`);
  }
}

function getter(name: string, spec: FieldSpecObject): Getter {
  switch (spec.from ?? 'value') {
    case 'value':
      return pathGetter(name, spec.path ?? name);
    case 'key':
      return (_json, source) => (source.key === null ? null : source.key.toString('utf8'));
    case 'topic':
      return (_json, source) => source.topic;
    case 'partition':
      return (_json, source) => source.partition;
    case 'offset':
      return (_json, source) => source.offset;
    case 'timestamp':
      return (_json, source) => source.timestamp;
    case 'header': {
      const header = spec.header;
      if (!header) {
        throw new ConfigError(`schema.fields.${name}: from: header needs a header name`, {
          hint: `add header: <name> to field ${name}`,
        });
      }
      return (_json, source) => {
        if (!Object.hasOwn(source.headers, header)) return MISSING;
        const value = source.headers[header];
        if (value === undefined) return MISSING;
        return typeof value === 'string' ? value : value.toString('utf8');
      };
    }
    default:
      throw new ConfigError(`schema.fields.${name}: unknown from: ${String(spec.from)}`);
  }
}

/**
 * Compiles a dotted path into an accessor. Keys that also name an Object.prototype member
 * (`constructor`, `__proto__`…) are checked as own properties so the prototype never leaks in;
 * other keys take the cheaper plain lookup (JSON never holds undefined, so undefined = absent).
 */
function pathGetter(name: string, path: string): Getter {
  const keys = path.split('.');
  if (keys.some((k) => k === '')) {
    throw new ConfigError(`schema.fields.${name}: invalid path "${path}" (empty segment)`);
  }
  const guarded = keys.some((k) => k in Object.prototype);
  const first = keys[0]!;
  if (keys.length === 1 && !guarded) {
    return (json) => {
      const value = json[first];
      return value === undefined ? MISSING : value;
    };
  }
  if (keys.length === 2 && !guarded) {
    const second = keys[1]!;
    return (json) => {
      const parent = json[first];
      if (typeof parent !== 'object' || parent === null) return MISSING;
      const value = (parent as Json)[second];
      return value === undefined ? MISSING : value;
    };
  }
  return (json) => {
    let current: unknown = json;
    for (let i = 0; i < keys.length; i++) {
      if (typeof current !== 'object' || current === null) return MISSING;
      const key = keys[i]!;
      if (guarded && !Object.hasOwn(current, key)) return MISSING;
      current = (current as Json)[key];
    }
    return current === undefined ? MISSING : current;
  };
}
