// Runs the real `weir` CLI as a child process, the way users run it, for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

const repo = resolve(import.meta.dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

export function writeConfig(config: unknown, ext: 'yaml' | 'json' = 'yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'weir-cfg-'));
  const file = join(dir, `weir.${ext}`);
  writeFileSync(file, ext === 'json' ? JSON.stringify(config, null, 2) : stringify(config));
  return file;
}

export interface WeirProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `weir <args>` (TypeScript source through tsx) and captures stdout+stderr. */
export function runWeir(args: string[], env: NodeJS.ProcessEnv = {}): WeirProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repo, 'src/cli/weir.ts'), ...args],
    {
      cwd: repo,
      env: { ...process.env, WEIR_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs a short weir command to completion. */
export async function weirOnce(
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; output: string }> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const p = runWeir(args, { WEIR_LOG_LEVEL: 'error', ...opts.env });
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, output: p.output() };
}

export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastErr instanceof Error ? `: ${lastErr.message}` : ''}`,
  );
}

/** GETs a URL; with `token`, as `Authorization: Bearer <token>` (the agent's API token). */
export async function getText(
  url: string,
  token?: string,
): Promise<{ status: number; body: string }> {
  const headers = token === undefined ? undefined : { authorization: `Bearer ${token}` };
  const res = await fetch(url, { signal: AbortSignal.timeout(5000), headers });
  return { status: res.status, body: await res.text() };
}

/** Reads one sample of a metric from Prometheus text, summing over series matching the labels. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const lbl = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
