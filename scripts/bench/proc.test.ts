import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuSeconds, parseCpuSeconds, parseStatusMiB, peakRssMiB } from './proc.ts';

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

  it('measures this process', () => {
    assert.ok(cpuSeconds(process.pid) > 0);
    assert.ok(peakRssMiB(process.pid) > 10);
  });
});
