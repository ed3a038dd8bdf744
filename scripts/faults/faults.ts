// The faults the chaos and soak scripts inject, one function each kind: the agent killed with
// SIGKILL (and started again), ClickHouse or NATS stopped for 2-5 s through the stack manager
// (which disturbs everything else using the shared stack), ClickHouse made slow through a proxy.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { TcpProxy } from '../../test/helpers/proxy.ts';
import type { AgentProcess } from './agent.ts';
import { sleep, type Log } from './script.ts';

const repo = resolve(import.meta.dirname, '..', '..');

export const FAULT_KINDS = ['kill', 'clickhouse', 'nats', 'slow_clickhouse'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultTargets {
  agent: AgentProcess;
  log: Log;
  /** The proxy between the agent and ClickHouse: needed for slow_clickhouse. */
  clickhouseProxy?: TcpProxy;
  /** slow_clickhouse: how long, and how late each byte is each way. */
  slow?: { forMs: number; delayMs: number };
}

/** Runs `npm run stack -- <args>`; throws with its output when it fails. */
export function stack(...args: string[]): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/stack/main.ts', ...args], {
    cwd: repo,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`stack ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
}

/** Injects one fault and waits until it is over (the agent or service back, the proxy fast). */
export async function injectFault(kind: FaultKind, t: FaultTargets): Promise<void> {
  switch (kind) {
    case 'kill':
      await t.agent.kill('SIGKILL');
      t.log(`SIGKILL`);
      await sleep(200 + Math.random() * 1500);
      t.agent.start();
      return;
    case 'clickhouse':
    case 'nats':
      t.log(`restarting ${kind}`);
      stack('down', '--only', kind);
      await sleep(2000 + Math.random() * 3000);
      stack('up', '--only', kind);
      return;
    case 'slow_clickhouse': {
      const proxy = t.clickhouseProxy;
      const slow = t.slow ?? { forMs: 15_000, delayMs: 1000 };
      if (!proxy) throw new Error('slow_clickhouse needs the proxy in front of ClickHouse');
      t.log(`ClickHouse slow (+${slow.delayMs} ms each way) for ${slow.forMs / 1000} s`);
      proxy.delay(slow.delayMs);
      await sleep(slow.forMs);
      proxy.delay(0);
      return;
    }
  }
}
