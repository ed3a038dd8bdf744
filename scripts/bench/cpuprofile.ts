// Summarises V8 .cpuprofile files (from `node --cpu-prof`, e.g. `npm run bench -- --cpu-prof DIR`):
// self time aggregated by function (name + file + line) and by package or source folder, so the
// top of the list says where the agent's CPU goes.
//
//   node --import tsx scripts/bench/cpuprofile.ts [--top N] file.cpuprofile…
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of the samples in which the thread was idle (waiting for I/O). */
  idleShare: number;
  byFunction: SelfTime[];
  byArea: SelfTime[];
}

/** Where a script lives: its npm package, a folder of this repository, or node's internals. */
export function areaOf(url: string): string {
  if (url === '') return '(native / V8)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:internal';
  const src = /\/(src|scripts)\/([^/]+)\//.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  const file = /\/(src|scripts)\/([^/]+)$/.exec(url);
  return file ? `${file[1]}/${file[2]}` : url;
}

function shortUrl(url: string): string {
  const pkg = url.lastIndexOf('node_modules/');
  if (pkg >= 0) return url.slice(pkg + 'node_modules/'.length);
  const src = /\/((?:src|scripts)\/.*)$/.exec(url);
  return src ? src[1]! : url.replace(/^file:\/\//, '');
}

export function summarize(profiles: readonly CpuProfile[], top = 25): ProfileSummary {
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const p of profiles) {
    const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) {
      // A sample's time is the gap to the next sample (the delta stored with the next one).
      const us = deltas[i + 1] ?? 0;
      const f = frames.get(samples[i]!);
      if (!f) continue;
      total += us;
      if (f.functionName === '(idle)') {
        idle += us;
        continue;
      }
      const fn = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
      const area = areaOf(f.url);
      byArea.set(area, (byArea.get(area) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>): SelfTime[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
  return {
    totalMs: total / 1000,
    idleShare: total > 0 ? idle / total : 0,
    byFunction: rank(byFunction),
    byArea: rank(byArea),
  };
}

export function formatSummary(s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  const lines = [
    `profiled ${(s.totalMs / 1000).toFixed(1)} s, idle ${pct(s.idleShare).trim()}; shares are of the busy time`,
    '',
    'self time by package / folder:',
    ...s.byArea.map((e) => `  ${pct(e.share)}  ${e.ms.toFixed(0).padStart(7)} ms  ${e.name}`),
    '',
    'self time by function:',
    ...s.byFunction.map((e) => `  ${pct(e.share)}  ${e.ms.toFixed(0).padStart(7)} ms  ${e.name}`),
  ];
  return lines.join('\n');
}

// Run directly (not imported by a test): summarise the files named on the command line.
if (process.argv[1] === import.meta.filename) {
  const args = process.argv.slice(2);
  let top = 25;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else files.push(args[i]!);
  }
  if (files.length === 0) {
    process.stderr.write('usage: cpuprofile.ts [--top N] file.cpuprofile…\n');
    process.exit(2);
  }
  const profiles = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as CpuProfile);
  process.stdout.write(`${formatSummary(summarize(profiles, top))}\n`);
}
