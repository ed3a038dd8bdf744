// Exactly-once against the real stack: SIGKILL mid-stream must not double a single row, and the
// start-up check says plainly when a table cannot drop replays.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWeir, waitUntil, weirOnce } from '../helpers/agent.ts';
import {
  generate,
  metricValue,
  metrics,
  pipelineFixture,
  tableCounts,
  waitForDrain,
} from '../helpers/pipeline.ts';

describe('exactly-once into ClickHouse', () => {
  it('SIGKILL three times mid-stream: every row exactly once (no dedup stage, Replicated table)', async () => {
    const f = await pipelineFixture({
      partitions: 4,
      maxDelayMs: 200,
      maxRows: 2000,
      replicated: true,
      sink: { exactly_once: 'required' },
      // A killed member holds its partitions until its session times out.
      source: { session_timeout_ms: 6000 },
    });
    let agent = runWeir(['run', '-c', f.configPath]);
    try {
      const producing = generate(f, { count: 60_000, rate: 10_000, seed: 21 });
      for (let kill = 0; kill < 3; kill++) {
        const before = (await tableCounts(f)).rows;
        await waitUntil(
          'more rows to land',
          async () => (await tableCounts(f)).rows > before + 2000,
          60_000,
          100,
        );
        agent.child.kill('SIGKILL');
        await agent.exited;
        agent = runWeir(['run', '-c', f.configPath]);
      }
      const report = await producing;
      await waitForDrain(f, 180_000);
      assert.deepEqual(await tableCounts(f), {
        rows: report.counts.unique,
        unique: report.counts.unique,
      });
      await waitUntil(
        'metrics',
        async () => metricValue(await metrics(f), 'weir_exactly_once') === 1,
        10_000,
      );
    } finally {
      await agent.stop();
      await f.cleanup();
    }
  });

  it('refuses to start in required mode on a table that keeps replays, saying what to change', async () => {
    const f = await pipelineFixture({ replicated: false, sink: { exactly_once: 'required' } });
    try {
      const r = await weirOnce(['validate', '-c', f.configPath]);
      assert.notEqual(r.code, 0);
      assert.match(r.output, /exactly-once cannot hold/);
      assert.match(r.output, /ReplicatedMergeTree/);
    } finally {
      await f.cleanup();
    }
  });

  it('runs at-least-once with a warning and weir_exactly_once 0 in preferred mode', async () => {
    const f = await pipelineFixture({ replicated: false });
    const agent = runWeir(['run', '-c', f.configPath]);
    try {
      await waitUntil(
        'the at-least-once warning',
        () => /exactly-once cannot hold: running at-least-once/.test(agent.output()),
        30_000,
      );
      assert.match(agent.output(), /keeps a replayed batch twice/);
      assert.equal(metricValue(await metrics(f), 'weir_exactly_once'), 0);
    } finally {
      await agent.stop();
      await f.cleanup();
    }
  });
});
