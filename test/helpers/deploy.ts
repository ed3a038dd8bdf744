// Helpers for the deployment-asset tests (test/integration/deploy.test.ts): reading the repo's
// YAML, Compose-style variable interpolation, promtool, and a tiny Dockerfile emulator that runs
// an image's build steps on this machine without a Docker engine.
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import YAML from 'yaml';
import { aptInstall } from '../../scripts/stack/install.ts';

export const repo = resolve(import.meta.dirname, '..', '..');

export const repoPath = (...parts: string[]): string => join(repo, ...parts);

export function readText(path: string): string {
  return readFileSync(repoPath(path), 'utf8');
}

/** Parses a YAML file of the repo; `<<` merge keys are resolved as Compose does. */
export function readYaml<T = unknown>(path: string): T {
  return YAML.parse(readText(path), { merge: true }) as T;
}

export function readYamlDocs(path: string): unknown[] {
  return YAML.parseAllDocuments(readText(path)).map((d) => d.toJS() as unknown);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every file under a repo folder, as repo-relative paths. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(repoPath(rel))) {
      const p = posix.join(rel, name);
      if (statSync(repoPath(p)).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

// ------------------------------------------------------------------ .env and interpolation

export function parseEnvFile(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env.set(m[1]!, m[2]!);
  }
  return env;
}

const VAR_RE =
  /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

export interface Interpolation {
  value: unknown;
  /** Variables referenced, and whether each had a default. */
  refs: Map<string, { required: boolean; hasDefault: boolean }>;
  /** Required variables that were unset or empty. */
  missing: string[];
}

/** Compose-file interpolation: $VAR, ${VAR}, ${VAR:-default}, ${VAR:?error}, ${VAR:+alt}, $$. */
export function interpolateCompose(value: unknown, env: Map<string, string>): Interpolation {
  const refs: Interpolation['refs'] = new Map();
  const missing: string[] = [];
  const sub = (s: string): string =>
    s.replace(VAR_RE, (all, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (all === '$$') return '$';
      const name = (braced ?? bare)!;
      const set = env.get(name);
      const nonEmpty = set !== undefined && set !== '';
      const kind = op?.replace(':', '');
      refs.set(name, {
        required: kind === '?' || (refs.get(name)?.required ?? false),
        hasDefault: kind === '-' || (refs.get(name)?.hasDefault ?? false),
      });
      if (kind === '-') return nonEmpty ? set : (arg ?? '');
      if (kind === '+') return nonEmpty ? (arg ?? '') : '';
      if (kind === '?' && !nonEmpty) missing.push(name);
      return set ?? '';
    });
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return sub(v);
    if (Array.isArray(v)) return v.map(walk);
    if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return { value: walk(value), refs, missing };
}

// ------------------------------------------------------------------ tools from Debian

const log = (msg: string) => process.stderr.write(`# ${msg}\n`);

/** promtool comes with Debian's prometheus package; installed on first use. */
export function ensureTool(binary: string, pkg: string): string {
  const path = `/usr/bin/${binary}`;
  if (!existsSync(path)) aptInstall([pkg], log);
  return path;
}

/** The environment for a child process: this one's, minus what marks node:test workers. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): { status: number | null; output: string } {
  const res = spawnSync(cmd, args, {
    cwd: opts.cwd ?? repo,
    env: childEnv(opts.env),
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    status: res.status,
    output: `${res.stdout ?? ''}${res.stderr ?? ''}${res.error ? String(res.error) : ''}`,
  };
}

/** Like run, without blocking the event loop (for children that talk to this process). */
export function runAsync(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? repo,
      env: childEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolvePromise({ status, output });
    });
  });
}

export function promtool(args: string[], cwd = repo): { status: number | null; output: string } {
  return run(ensureTool('promtool', 'prometheus'), args, { cwd });
}

/** Checks PromQL expressions with promtool by wrapping each one as a recording rule. */
export function checkPromQL(exprs: Record<string, string>): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'weir-promql-'));
  const file = join(dir, 'exprs.rules.yml');
  const rules = Object.values(exprs).map((expr, i) => ({ record: `check:expr:e${i}`, expr }));
  writeFileSync(file, YAML.stringify({ groups: [{ name: 'check', rules }] }));
  const res = promtool(['check', 'rules', file]);
  rmSync(dir, { recursive: true, force: true });
  const names = Object.keys(exprs);
  // Point failures at the caller's names rather than the generated record names.
  const output = res.output.replace(/check:expr:e(\d+)/g, (_, i: string) => names[Number(i)] ?? i);
  return { ok: res.status === 0, output };
}

// ------------------------------------------------------------------ metric names

/** weir_* metric names in a text (PromQL, JSON or YAML). */
export function weirMetricNames(text: string): string[] {
  return [...new Set(text.match(/\bweir_[a-z0-9_]+/g) ?? [])];
}

/** weir:<what>:<operation> recording-rule names in a text. */
export function weirRecordingNames(text: string): string[] {
  return [...new Set(text.match(/\bweir:[a-z][a-z0-9_]*:[a-z0-9_]+/g) ?? [])];
}

// ------------------------------------------------------------------ .dockerignore

/** Whether a context path survives a .dockerignore (last matching pattern wins, `!` re-includes). */
export function dockerIncluded(path: string, ignoreText: string): boolean {
  const patterns = ignoreText
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const toRe = (glob: string) =>
    new RegExp(
      `^${glob
        .replace(/\/$/, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '%ANYDIR%')
        .replace(/\*\*/g, '.*')
        .replace(/\*/g, '[^/]*')
        .replace(/%ANYDIR%/g, '(?:.*/)?')}$`,
    );
  const candidates = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const re = toRe(negate ? raw.slice(1) : raw);
    if (candidates.some((c) => re.test(c))) included = negate;
  }
  return included;
}

// ------------------------------------------------------------------ Dockerfile emulation

export interface DockerInstruction {
  op: string;
  args: string;
}

export interface DockerStage {
  name: string;
  from: string;
  instructions: DockerInstruction[];
}

/** Splits a Dockerfile into stages; global ARG defaults are substituted into FROM lines. */
export function parseDockerfile(text: string): {
  args: Map<string, string>;
  stages: DockerStage[];
} {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: DockerStage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args.set(k!, v ?? '');
    } else if (op === 'FROM') {
      const fm = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      const from = fm![1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? '');
      stages.push({ name: fm![2] ?? String(stages.length), from, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ op, args: rest });
    }
  }
  return { args, stages };
}

export interface EmulatedImage {
  /** Host directory standing for the final stage's filesystem root. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  entrypoint: string[];
  cmd: string[];
  /** Host path for a path inside the final image. */
  path(p: string): string;
}

/**
 * Runs a Dockerfile's stages on this machine: each stage gets a directory for its root, WORKDIR
 * and COPY (from the build context or an earlier stage) move files there, RUN executes with sh in
 * that directory. The base images' contents are this machine's (Node, npm).
 */
export function emulateDockerfile(
  dockerfile: string,
  context: string,
  ignoreText: string,
  work = mkdtempSync(join(tmpdir(), 'weir-image-')),
): EmulatedImage {
  const { stages } = parseDockerfile(readFileSync(dockerfile, 'utf8'));
  const roots = new Map<string, string>();
  let image: EmulatedImage | undefined;
  for (const stage of stages) {
    const root = join(work, stage.name);
    mkdirSync(root, { recursive: true });
    roots.set(stage.name, root);
    let workdir = '/';
    const env: Record<string, string> = {};
    let user = 'root';
    let entrypoint: string[] = [];
    let cmd: string[] = [];
    const inImage = (p: string) => join(root, posix.resolve(workdir, p));
    for (const { op, args } of stage.instructions) {
      switch (op) {
        case 'WORKDIR':
          workdir = posix.resolve(workdir, args);
          mkdirSync(inImage('.'), { recursive: true });
          break;
        case 'ENV':
          for (const m of args.matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
          break;
        case 'USER':
          user = args;
          break;
        case 'ENTRYPOINT':
          entrypoint = JSON.parse(args) as string[];
          break;
        case 'CMD':
          cmd = JSON.parse(args) as string[];
          break;
        case 'COPY': {
          const words = args.split(/\s+/);
          const fromFlag = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
          const [dest, ...srcsReversed] = words.filter((w) => !w.startsWith('--')).reverse();
          const srcs = srcsReversed.reverse();
          const destIsDir = dest!.endsWith('/') || srcs.length > 1;
          for (const src of srcs) {
            const from = fromFlag ? join(roots.get(fromFlag) ?? '', src) : join(context, src);
            if (!existsSync(from)) throw new Error(`COPY ${src}: ${from} does not exist`);
            const target = destIsDir ? join(inImage(dest!), posix.basename(src)) : inImage(dest!);
            mkdirSync(dirname(target), { recursive: true });
            cpSync(from, target, {
              recursive: true,
              filter: fromFlag
                ? undefined
                : (p) => dockerIncluded(relative(context, p) || '.', ignoreText) || p === from,
            });
          }
          break;
        }
        case 'RUN': {
          const res = run('sh', ['-c', args], { cwd: inImage('.'), env, timeoutMs: 600_000 });
          if (res.status !== 0)
            throw new Error(`stage ${stage.name}: RUN ${args} failed:\n${res.output.slice(-3000)}`);
          break;
        }
        default:
          break; // EXPOSE, HEALTHCHECK, LABEL: metadata only
      }
    }
    image = {
      root,
      workdir,
      env,
      user,
      entrypoint,
      cmd,
      path: (p: string) => join(root, posix.resolve(workdir, p)),
    };
  }
  if (!image) throw new Error(`${dockerfile} has no stage`);
  return image;
}
