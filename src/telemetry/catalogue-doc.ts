// The README's metrics table, generated from the catalogue:
//   node --import tsx src/telemetry/catalogue-doc.ts && npx prettier --write README.md
// A unit test fails when the README's table differs from what the catalogue produces (cell by
// cell, so Prettier's column alignment does not matter).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { catalogue, type MetricSpec } from './metrics.ts';

export const readmePath = fileURLToPath(new URL('../../README.md', import.meta.url));
export const BEGIN = '<!-- metrics-table: generated from src/telemetry/metrics.ts -->';
export const END = '<!-- /metrics-table -->';

const row = (m: MetricSpec) =>
  `| \`${m.name}\` | ${m.type} | ${m.unit} | ${m.labels.join(', ') || '–'} | ${m.help.replaceAll('|', '\\|')} |`;

/** The Markdown table of every metric, between its markers. */
export function metricsTable(specs: readonly MetricSpec[] = catalogue()): string {
  return [
    BEGIN,
    '',
    '| Metric | Type | Unit | Labels | Meaning |',
    '| --- | --- | --- | --- | --- |',
    ...specs.map(row),
    '',
    END,
  ].join('\n');
}

/** The README text with its table replaced by the generated one. */
export function withTable(readme: string, table = metricsTable()): string {
  const from = readme.indexOf(BEGIN);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) throw new Error(`README.md has no ${BEGIN} … ${END} block`);
  return readme.slice(0, from) + table + readme.slice(to + END.length);
}

/** The cells of a Markdown table's rows (header included, separator row left out). */
export function tableCells(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[\s|:-]+\|$/.test(l))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );
}

/** The table as the README has it now. */
export function currentTable(readme: string): string | undefined {
  const from = readme.indexOf(BEGIN);
  const to = readme.indexOf(END);
  return from < 0 || to < from ? undefined : readme.slice(from, to + END.length);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(readmePath, withTable(readFileSync(readmePath, 'utf8')));
  process.stdout.write(`wrote the metrics table into ${readmePath}\n`);
}
