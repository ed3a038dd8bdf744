// An agent started while ClickHouse cannot be reached waits for it instead of crash-looping: the
// process stays up, /healthz answers, /readyz names ClickHouse and the fix, one warning is logged
// for the outage, and once ClickHouse answers the pipeline starts and every row lands exactly once.
// A stop while waiting is prompt and clean. ClickHouse is "down" behind a local proxy (or a closed
// port): the shared server keeps running for the other tests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getText, runWeir, waitUntil, type WeirProcess } from '../helpers/agent.ts';
import {
  generate,
  metricValue,
  metrics,
  pipelineFixture,
  tableCounts,
  waitForDrain,
} from '../helpers/pipeline.ts';
import { startProxy, targetOf } from '../helpers/proxy.ts';
import { endpoints } from '../helpers/stack.ts';

const WAITING = 'waiting for ClickHouse: the pipeline starts once it can be reached';

/** The agent's log lines with this message. */
function logged(agent: WeirProcess, msg: string): Record<string, unknown>[] {
  return agent
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === msg);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('starting while ClickHouse cannot be reached', () => {
  it('waits (alive, not ready, naming ClickHouse), then starts when it answers; rows exactly once', async () => {
    const proxy = await startProxy(targetOf(endpoints.clickhouse));
    proxy.block('refuse');
    const f = await pipelineFixture({
      partitions: 2,
      maxDelayMs: 300,
      sinkUrl: proxy.url,
      sink: { exactly_once: 'required' },
    });
    const agent = runWeir(['run', '-c', f.configPath]);
    const base = `http://127.0.0.1:${f.port}`;
    try {
      await waitUntil(
        'the agent to wait for ClickHouse',
        () => logged(agent, WAITING).length > 0,
        90_000,
      );
      const producing = generate(f, { count: 5_000, rate: 2_000, seed: 31 });
      // Several retries go by (about 1, 2, 4 s apart): the process stays up and warns once.
      await sleep(8_000);
      assert.equal(agent.child.exitCode, null, `the agent exited:\n${agent.output().slice(-3000)}`);
      assert.equal((await getText(`${base}/healthz`)).status, 200);
      const readyz = await getText(`${base}/readyz`);
      assert.equal(readyz.status, 503);
      assert.match(readyz.body, /e2e\/startup/);
      assert.match(
        readyz.body,
        /waiting for ClickHouse: cannot reach ClickHouse at http:\/\/127\.0\.0\.1:\d+/,
      );
      assert.match(readyz.body, /sink\.clickhouse\.url/);
      assert.equal(logged(agent, WAITING).length, 1, agent.output().slice(-3000));
      assert.equal(metricValue(await metrics(f), 'weir_pipeline_up'), 0);

      proxy.unblock();
      await waitUntil(
        '/readyz to report ready',
        async () => (await getText(`${base}/readyz`)).status === 200,
        60_000,
      );
      assert.equal(logged(agent, 'ClickHouse can be reached again: starting').length, 1);
      const report = await producing;
      await waitForDrain(f, 120_000);
      assert.deepEqual(await tableCounts(f), {
        rows: report.counts.unique,
        unique: report.counts.unique,
      });
      assert.equal(logged(agent, WAITING).length, 1);
    } finally {
      proxy.unblock();
      const agentExit = await agent.stop();
      await f.cleanup();
      await proxy.close();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });

  it('stops at once and cleanly on SIGTERM while waiting', async (t) => {
    const f = await pipelineFixture({ partitions: 1, sinkUrl: 'http://127.0.0.1:1' });
    const agent = runWeir(['run', '-c', f.configPath]);
    try {
      await waitUntil(
        'the agent to wait for ClickHouse',
        () => logged(agent, WAITING).length > 0,
        90_000,
      );
      // Retries are about 4-8 s apart by now: a stop that waited for the next one would show.
      await sleep(10_000);
      const t0 = performance.now();
      const code = await agent.stop('SIGTERM');
      const ms = performance.now() - t0;
      t.diagnostic(`SIGTERM -> exit: ${Math.round(ms)} ms`);
      assert.equal(code, 0, agent.output().slice(-3000));
      assert.ok(ms < 4_000, `stopped after ${Math.round(ms)} ms`);
      assert.match(agent.output(), /"stopped"/);
    } finally {
      await agent.stop();
      await f.cleanup();
    }
  });
});
