import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isAlive, portOwner, runningPid, startDetached, stopGroup, tailFile } from './proc.ts';

describe('stack process helpers', () => {
  it('names the process that holds a port', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const owner = portOwner(port);
      assert.equal(owner?.pid, process.pid);
      assert.match(owner?.name ?? '', /node/);
    } finally {
      server.close();
    }
    assert.equal(portOwner(port), undefined);
  });

  it('starts a detached process group and stops it with its children', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-proc-'));
    const pidFile = join(dir, 'x.pid');
    const logFile = join(dir, 'x.log');
    // A parent that spawns a child which ignores SIGTERM: down must still leave nothing behind.
    const pid = startDetached({
      command: 'bash',
      args: ['-c', `echo started; (trap '' TERM; sleep 300) & echo child=$!; wait`],
      cwd: dir,
      logFile,
      pidFile,
    });
    assert.equal(runningPid(pidFile), pid);
    for (let i = 0; i < 200 && !/child=\d+/.test(tailFile(logFile)); i++)
      await new Promise((r) => setTimeout(r, 50));
    const child = Number(/child=(\d+)/.exec(readFileSync(logFile, 'utf8'))?.[1]);
    assert.ok(isAlive(child), 'child should be running');
    const how = await stopGroup(pid, 1000);
    assert.equal(how, 'killed');
    assert.equal(isAlive(pid), false);
    assert.equal(isAlive(child), false);
  });

  it("asks with the service's own stop signal first (PostgreSQL: SIGINT, a fast shutdown)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-proc-'));
    const pidFile = join(dir, 'x.pid');
    const logFile = join(dir, 'x.log');
    // Ignores TERM, leaves cleanly on INT: only the right first signal stops it without KILL.
    const pid = startDetached({
      command: 'bash',
      args: [
        '-c',
        `trap '' TERM; trap 'echo bye; exit 0' INT; echo ready; while :; do sleep 0.1; done`,
      ],
      cwd: dir,
      logFile,
      pidFile,
    });
    for (let i = 0; i < 200 && !/ready/.test(tailFile(logFile)); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(await stopGroup(pid, 5000, 'SIGINT'), 'stopped');
    assert.match(readFileSync(logFile, 'utf8'), /bye/);
  });
});
