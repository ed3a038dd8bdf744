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
});
