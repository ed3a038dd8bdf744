// Generates docs/config-reference.md from the schema: `npm run docs:config`. A unit test fails
// when the committed file differs from what the schema produces.
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { weirConfigSchema } from './schema.ts';
import { unwrap, walkOptions, type Unwrapped } from './walk.ts';

export const referencePath = fileURLToPath(
  new URL('../../docs/config-reference.md', import.meta.url),
);

const intro = `# Configuration reference

<!-- Generated from src/config/schema.ts by \`npm run docs:config\`. Do not edit by hand. -->

A Weir configuration file is YAML (\`.yaml\`, \`.yml\`) or JSON (\`.json\`). It is checked once, at
start: unknown keys, wrong types and rules across options are all reported together, one line
each, as \`<path>: <problem> (fix: <hint>)\`.

- **Environment variables.** Any string value may contain \`\${VAR}\` or \`\${VAR:-default}\`
  (the default is used when \`VAR\` is unset or empty); \`$\${\` writes a literal \`\${\`. An unset
  variable without a default is an error. Where a number or \`true\`/\`false\` is expected, a value
  read from the environment is taken as one.
- **Secrets** (marked below) are never printed: errors and printed configs mask them. Read them
  from the environment, e.g. \`password: \${CLICKHOUSE_PASSWORD}\`.
- **Paths** below use \`[]\` for list items and \`<name>\` for keys you choose. *Required* means
  required whenever the enclosing option is present.
- **Expressions** (\`filter\`, \`compute\`) refer to fields by name; text literals use double quotes
  (\`status != "test"\`).
`;

interface Row {
  path: string;
  info: Unwrapped;
}

/** The Markdown reference of every option: path, type, whether required, default, description. */
export function generateReference(schema: z.ZodType = weirConfigSchema): string {
  const rows: Row[] = [];
  walkOptions(schema, (path, _schema, info) => rows.push({ path, info }));

  const roots = rows.map((r) => r.path).filter((p) => isSectionRoot(p, rows));
  const sections = new Map<string, Row[]>();
  for (const row of rows) {
    const key = roots.filter((root) => within(row.path, root)).at(-1) ?? row.path;
    sections.set(key, [...(sections.get(key) ?? []), row]);
  }

  const out = [intro];
  for (const [section, sectionRows] of sections) {
    const head = sectionRows.find((r) => r.path === section);
    out.push(`## \`${section}\``, '');
    if (head?.info.meta.description) out.push(head.info.meta.description, '');
    out.push('| Option | Type | Required | Default | Description |', '|---|---|---|---|---|');
    for (const row of sectionRows) out.push(tableRow(row));
    out.push('');
  }
  return out.join('\n');
}

const within = (path: string, root: string) =>
  path === root || path.startsWith(`${root}.`) || path.startsWith(`${root}[]`);

/** Top-level options, and options of a pipeline that have options of their own, start a section. */
function isSectionRoot(path: string, rows: readonly Row[]): boolean {
  const depth = path.split('.').length;
  if (depth === 1) return true;
  return (
    !path.endsWith('[]') &&
    path.startsWith('pipelines[].') &&
    depth === 2 &&
    rows.some((r) => r.path !== path && within(r.path, path))
  );
}

function tableRow({ path, info }: Row): string {
  const required = info.optional || info.hasDefault ? 'no' : 'yes';
  const description =
    (info.meta.secret ? '**Secret.** ' : '') + escapeHtml(info.meta.description ?? '');
  const cells = [`\`${path}\``, typeLabel(info.core), required, defaultLabel(info), description];
  return `| ${cells.map(escapeCell).join(' | ')} |`;
}

function defaultLabel(info: Unwrapped): string {
  if (info.meta.defaultDoc) return `\`${info.meta.defaultDoc}\``;
  if (!info.hasDefault) return '';
  const v = info.defaultValue;
  const isObjectDefault = typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObjectDefault && Object.keys(v).length === 0 && info.core instanceof z.ZodObject)
    return '(each option\u2019s default)';
  return `\`${JSON.stringify(v)}\``;
}

export function typeLabel(s: z.ZodType): string {
  if (s instanceof z.ZodString) return 'string';
  if (s instanceof z.ZodBoolean) return 'boolean';
  if (s instanceof z.ZodNumber) return numberLabel(s);
  if (s instanceof z.ZodEnum) return (s.options as string[]).map((o) => `\`${o}\``).join(' | ');
  if (s instanceof z.ZodObject) return 'object';
  if (s instanceof z.ZodArray) return `list of ${innerLabel(s.element as z.ZodType)}`;
  if (s instanceof z.ZodRecord) return `map of ${innerLabel(s.valueType as z.ZodType)}`;
  if (s instanceof z.ZodUnion)
    return [...new Set((s.options as z.ZodType[]).map((o) => innerLabel(o, true)))].join(' or ');
  if (s instanceof z.ZodUnknown) return 'any';
  return s.def.type;
}

function innerLabel(schema: z.ZodType, inUnion = false): string {
  const s = unwrap(schema).core;
  const label = typeLabel(s);
  if (s instanceof z.ZodEnum && !inUnion) return `(${label})`;
  if (s instanceof z.ZodEnum && s.options.length > 4) return 'type name';
  return label;
}

function numberLabel(s: z.ZodNumber): string {
  const base = s.isInt ? 'integer' : 'number';
  let min = '';
  let max = '';
  for (const check of s.def.checks ?? []) {
    const def = check._zod.def as { check: string; value?: unknown; inclusive?: boolean };
    if (def.check === 'greater_than')
      min = `${def.inclusive ? '\u2265' : '>'} ${String(def.value)}`;
    if (def.check === 'less_than') max = `${def.inclusive ? '\u2264' : '<'} ${String(def.value)}`;
  }
  const range = [min, max].filter(Boolean).join(', ');
  return range ? `${base} (${range})` : base;
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const escapeHtml = (text: string) => text.replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Writes the reference file; returns its path. */
export function writeReference(path = referencePath): string {
  writeFileSync(path, generateReference());
  return path;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`wrote ${writeReference()}`);
}
