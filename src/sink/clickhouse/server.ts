// What a ClickHouse server can do, decided from what it says about itself: its version, its type
// families (system.data_type_families) and its settings (system.settings) - the last two where a
// version number would only be a guess.
import type { EncodingFeatures } from './encode.ts';

export interface ServerInfo extends EncodingFeatures {
  version: string;
  major: number;
  minor: number;
  /** `insert_deduplication_token` (22.2+). */
  supportsInsertDeduplicationToken: boolean;
  /** `async_insert` / `wait_for_async_insert` (21.11+). */
  supportsAsyncInsert: boolean;
  /** The Bool type (21.12+); older servers store booleans in UInt8. */
  supportsBool: boolean;
  supportsDate32: boolean;
  supportsDateTime64: boolean;
  /** Map without an experimental flag (21.8+). */
  supportsMap: boolean;
  supportsLowCardinality: boolean;
}

export interface ServerFacts {
  version: string;
  timezone: string;
  /** Names from system.data_type_families; when absent, decided by version. */
  typeFamilies?: readonly string[];
  /** name -> value from system.settings, for the names in `probedSettings`. */
  settings?: Readonly<Record<string, string>>;
}

export const probedTypes = ['Bool', 'Date32', 'DateTime64', 'Map', 'LowCardinality'] as const;
export const probedSettings = [
  'insert_deduplication_token',
  'async_insert',
  'input_format_json_named_tuples_as_objects',
  'allow_experimental_map_type',
] as const;

export function parseVersion(version: string): { major: number; minor: number } {
  const m = /^(\d+)\.(\d+)/.exec(version.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : { major: 0, minor: 0 };
}

export function serverFeatures(facts: ServerFacts): ServerInfo {
  const { major, minor } = parseVersion(facts.version);
  const atLeast = (ma: number, mi: number): boolean => major > ma || (major === ma && minor >= mi);
  const families = facts.typeFamilies ? new Set(facts.typeFamilies) : undefined;
  const hasType = (name: string, since: [number, number]): boolean =>
    families ? families.has(name) : atLeast(...since);
  const settings = facts.settings;
  const hasSetting = (name: string, since: [number, number]): boolean =>
    settings ? Object.hasOwn(settings, name) : atLeast(...since);
  return {
    version: facts.version,
    major,
    minor,
    timezone: facts.timezone || 'UTC',
    supportsInsertDeduplicationToken: hasSetting('insert_deduplication_token', [22, 2]),
    supportsAsyncInsert: hasSetting('async_insert', [21, 11]),
    supportsBool: hasType('Bool', [21, 12]),
    supportsDate32: hasType('Date32', [21, 9]),
    supportsDateTime64: hasType('DateTime64', [20, 1]),
    supportsMap:
      hasType('Map', [21, 1]) && (atLeast(21, 8) || isOn(settings?.allow_experimental_map_type)),
    supportsLowCardinality: hasType('LowCardinality', [19, 0]),
    // Servers without the setting read named tuples only from arrays.
    namedTuplesAsObjects: settings
      ? isOn(settings.input_format_json_named_tuples_as_objects)
      : atLeast(22, 6),
    // 18.16-era date tables end in 2105 (later dates are stored as 0); Date reaches 2149 by 21.9.
    legacyDateRange: !atLeast(21, 9),
  };
}

const isOn = (value: string | undefined): boolean => value === '1' || value === 'true';
