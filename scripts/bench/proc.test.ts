import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuSeconds, parseCpuSeconds, parseStatusMiB, parseSystemCpu, peakRssMiB } from './proc.ts';

describe('/proc readers', () => {
  it('reads utime + stime after a command name with spaces and parentheses', () => {
    const stat =
      '4242 (node (tsx) x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 50 0 0 20 0 11 0 100 0 0';
    assert.equal(parseCpuSeconds(stat, 100), 3);
  });

  it('reads VmHWM in MiB', () => {
    const status = 'Name:\tnode\nVmPeak:\t 2048000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t 102400 kB\n';
    assert.equal(parseStatusMiB(status, 'VmHWM'), 200);
    assert.equal(parseStatusMiB(status, 'VmRSS'), 100);
    assert.throws(() => parseStatusMiB(status, 'VmSwap'));
  });

  it('reads the machine-wide busy and total CPU time', () => {
    const stat = 'cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n';
    assert.deepEqual(parseSystemCpu(stat, 100), { busy: 1.5, total: 10 });
  });

  it('measures this process', () => {
    assert.ok(cpuSeconds(process.pid) > 0);
    assert.ok(peakRssMiB(process.pid) > 10);
  });
});
