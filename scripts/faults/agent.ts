// The agent under test as a child process (`weir run`), the way users run it: killed and started
// again by the fault scripts, restarted after 500 ms when it exits on its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Log } from './script.ts';

const repo = resolve(import.meta.dirname, '..', '..');

export class AgentProcess {
  private child: ChildProcess | undefined;
  /** Processes started so far. */
  starts = 0;
  /** Times it exited on its own (a fatal error), not killed by us. */
  exits = 0;
  private tail: string[] = [];

  constructor(
    private readonly configPath: string,
    private readonly log: Log,
  ) {}

  /** The running process's pid, if any. */
  get pid(): number | undefined {
    const c = this.child;
    return c && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
  }

  start(): void {
    this.starts++;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repo, 'src/cli/weir.ts'), 'run', '-c', this.configPath],
      {
        cwd: repo,
        env: { ...process.env, WEIR_LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (d: Buffer) => {
      this.tail.push(...d.toString().split('\n').filter(Boolean));
      if (this.tail.length > 200) this.tail.splice(0, this.tail.length - 200);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('exit', (code, signal) => {
      if (this.child === child && signal !== 'SIGKILL' && signal !== 'SIGTERM') {
        this.exits++;
        this.log(
          `agent exited on its own (code ${code}); restarting. Last lines:\n${this.tail.slice(-10).join('\n')}`,
        );
        this.child = undefined;
        setTimeout(() => this.start(), 500);
      }
    });
    this.child = child;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  }
}
