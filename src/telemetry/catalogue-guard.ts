// Guards the catalogue against drift: every `weir_…` metric that a dashboard, rule or Coroot
// config names must exist in src/telemetry/metrics.ts (or be a default process metric, or a
// recording rule defined in one of the scanned files). Histogram series suffixes are allowed.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { catalogueNames, processMetricNames } from './metrics.ts';

export interface UnknownMetric {
  file: string;
  line: number;
  name: string;
}

/** Folders whose files name Weir metrics. */
export const GUARDED_DIRS = ['dashboards', 'deploy', 'coroot'];

const SERIES_SUFFIXES = ['_bucket', '_sum', '_count'];
// A metric-looking token: not part of a path, a file name or a longer identifier.
const TOKEN = /(?<![\w:./-])weir_[a-z0-9_]+(?![\w:]|\.[a-z])/g;
const RECORD = /\brecord:\s*["']?([A-Za-z_:][\w:]*)/g;

export function knownMetricNames(): Set<string> {
  return new Set([...catalogueNames(), ...processMetricNames()]);
}

/** Names defined as Prometheus recording rules (`record: name`) in a text. */
export function recordingRules(text: string): string[] {
  return [...text.matchAll(RECORD)].map((m) => m[1]!);
}

function isKnown(name: string, known: ReadonlySet<string>): boolean {
  if (known.has(name)) return true;
  return SERIES_SUFFIXES.some((s) => name.endsWith(s) && known.has(name.slice(0, -s.length)));
}

/** Metric names in `text` that are neither in `known` nor defined as recording rules. */
export function unknownMetrics(
  text: string,
  file: string,
  known: ReadonlySet<string>,
  rules: ReadonlySet<string> = new Set(),
): UnknownMetric[] {
  const out: UnknownMetric[] = [];
  text.split('\n').forEach((lineText, i) => {
    for (const m of lineText.matchAll(TOKEN)) {
      const name = m[0];
      // `weir_sli_records_*` in prose is a family of metrics: fine if any metric is in it.
      if (lineText[m.index + name.length] === '*') {
        if (![...known].some((k) => k.startsWith(name)))
          out.push({ file, line: i + 1, name: `${name}*` });
        continue;
      }
      if (!isKnown(name, known) && !rules.has(name)) out.push({ file, line: i + 1, name });
    }
  });
  return out;
}

function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

const isText = (buf: Buffer) => !buf.subarray(0, 8000).includes(0);

/** Scans the guarded folders under `root`; returns every unknown metric with file and line. */
export function checkMetricReferences(
  root: string,
  dirs: readonly string[] = GUARDED_DIRS,
  known: ReadonlySet<string> = knownMetricNames(),
): UnknownMetric[] {
  const texts = dirs
    .flatMap((d) => filesUnder(join(root, d)))
    .map((file) => ({ file, buf: readFileSync(file) }))
    .filter(({ buf }) => isText(buf))
    .map(({ file, buf }) => ({ file: relative(root, file), text: buf.toString('utf8') }));
  const rules = new Set(texts.flatMap(({ text }) => recordingRules(text)));
  return texts.flatMap(({ file, text }) => unknownMetrics(text, file, known, rules));
}

export function describeUnknown(found: readonly UnknownMetric[]): string {
  return found
    .map(
      (u) =>
        `${u.file}:${u.line}: ${u.name} is not in the metric catalogue (src/telemetry/metrics.ts)`,
    )
    .join('\n');
}
