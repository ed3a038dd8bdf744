// What a benchmarked process costs, read from /proc: CPU time (user + system, all threads) and
// peak resident memory (VmHWM), so a child's CPU cores and RSS are measured by the kernel.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of the times in /proc/<pid>/stat. */
export const CLOCK_TICKS = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** CPU seconds (utime + stime) from the text of /proc/<pid>/stat. */
export function parseCpuSeconds(stat: string, ticks = CLOCK_TICKS): number {
  // The command name (2nd field) may contain spaces and parentheses: split after its last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error(`unexpected /proc stat line: ${stat.slice(0, 80)}`);
  return (utime + stime) / ticks;
}

/** A `Vm…` value of /proc/<pid>/status in MiB (e.g. VmHWM, the peak resident set). */
export function parseStatusMiB(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!m) throw new Error(`no ${key} in /proc status`);
  return Number(m[1]) / 1024;
}

export function cpuSeconds(pid: number): number {
  return parseCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

export function peakRssMiB(pid: number): number {
  return parseStatusMiB(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmHWM');
}

/** CPU used by a process between `start()` and `stop()`, in cores (CPU seconds per second). */
export class CpuMeter {
  private cpu0 = 0;
  private t0 = 0;

  constructor(private readonly pid: number) {}

  start(): void {
    this.cpu0 = cpuSeconds(this.pid);
    this.t0 = performance.now();
  }

  /** Cores used since start(); null if the process is gone. */
  cores(): number | null {
    try {
      const seconds = (performance.now() - this.t0) / 1000;
      return seconds > 0 ? (cpuSeconds(this.pid) - this.cpu0) / seconds : null;
    } catch {
      return null;
    }
  }
}

/** Busy and total CPU seconds of the whole machine, from the first line of /proc/stat. */
export function parseSystemCpu(stat: string, ticks = CLOCK_TICKS): { busy: number; total: number } {
  const line = stat.slice(0, stat.indexOf('\n'));
  const [label, ...fields] = line.trim().split(/\s+/);
  if (label !== 'cpu') throw new Error(`unexpected /proc/stat line: ${line.slice(0, 80)}`);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const v = fields.slice(0, 8).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / ticks, total: total / ticks };
}

/** Cores the whole machine was busy between `start()` and `cores()`: every process, not one. */
export class MachineCpuMeter {
  private busy0 = 0;
  private t0 = 0;

  start(): void {
    this.busy0 = parseSystemCpu(readFileSync('/proc/stat', 'utf8')).busy;
    this.t0 = performance.now();
  }

  cores(): number | null {
    const seconds = (performance.now() - this.t0) / 1000;
    if (!(seconds > 0)) return null;
    return (parseSystemCpu(readFileSync('/proc/stat', 'utf8')).busy - this.busy0) / seconds;
  }
}

/** The pid of a process found by a pid file, if it is running. */
export function pidFromFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    readFileSync(`/proc/${pid}/stat`);
    return pid;
  } catch {
    return undefined;
  }
}
