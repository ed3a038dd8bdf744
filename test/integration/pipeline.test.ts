// End-to-end: generated records through the real `weir run` into the real ClickHouse, with
// malformed records, a graceful restart mid-stream and a ClickHouse outage.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getText, runWeir, waitUntil } from '../helpers/agent.ts';
import {
  generate,
  metricValue,
  metrics,
  pipelineFixture,
  readDeadLetters,
  tableCounts,
  waitForDrain,
} from '../helpers/pipeline.ts';
import { startProxy, targetOf } from '../helpers/proxy.ts';
import { endpoints } from '../helpers/stack.ts';

describe('pipeline end to end', () => {
  it('lands every valid record once and dead-letters every invalid one (100k records)', async () => {
    const f = await pipelineFixture({ partitions: 4 });
    const agent = runWeir(['run', '-c', f.configPath]);
    try {
      const report = await generate(f, { count: 100_000, badRate: 0.03, seed: 7 });
      const malformed =
        report.counts.malformed.invalid_json +
        report.counts.malformed.wrong_type +
        report.counts.malformed.missing_field;
      assert.ok(malformed > 2000, `expected malformed records, got ${malformed}`);
      await waitForDrain(f);
      const counts = await tableCounts(f);
      assert.deepEqual(counts, { rows: report.counts.unique, unique: report.counts.unique });

      const letters = await readDeadLetters(f, malformed);
      assert.equal(letters.length, malformed);
      const byReason = (r: string) => letters.filter((l) => l.reason === r).length;
      assert.equal(byReason('invalid_json'), report.counts.malformed.invalid_json);
      assert.equal(byReason('type_mismatch'), report.counts.malformed.wrong_type);
      assert.equal(byReason('missing_field'), report.counts.malformed.missing_field);
      assert.ok(
        letters.every(
          (l) => l.stage === 'parse' && l.sourceOffset !== '' && l.sourcePartition !== '',
        ),
      );
      // Original bytes are kept: invalid JSON stays invalid JSON.
      assert.ok(
        letters
          .filter((l) => l.reason === 'invalid_json')
          .every((l) => {
            try {
              JSON.parse(l.value);
              return false;
            } catch {
              return true;
            }
          }),
      );

      const text = await metrics(f);
      assert.equal(metricValue(text, 'weir_sink_rows_total'), report.counts.unique);
      assert.equal(metricValue(text, 'weir_dead_letter_records_total'), malformed);
      assert.equal(
        metricValue(text, 'weir_stage_records_received_total', { stage: 'parse' }),
        100_000,
      );
    } finally {
      const agentExit = await agent.stop();
      await f.cleanup();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });

  it('loses and doubles nothing when stopped with SIGTERM mid-stream and started again', async () => {
    const f = await pipelineFixture({ partitions: 4, maxDelayMs: 300 });
    let agent = runWeir(['run', '-c', f.configPath]);
    try {
      const producing = generate(f, { count: 60_000, rate: 10_000, seed: 11 });
      await waitUntil('some rows to land', async () => (await tableCounts(f)).rows > 5_000, 60_000);
      assert.equal(await agent.stop('SIGTERM'), 0, agent.output().slice(-3000));
      const mid = await tableCounts(f);
      assert.ok(mid.rows < 60_000, 'the stop should happen mid-stream');
      assert.match(agent.output(), /"clean":true/);
      agent = runWeir(['run', '-c', f.configPath]);
      const report = await producing;
      await waitForDrain(f);
      assert.deepEqual(await tableCounts(f), {
        rows: report.counts.unique,
        unique: report.counts.unique,
      });
    } finally {
      await agent.stop();
      await f.cleanup();
    }
  });

  it('rides out ClickHouse being down for 30 s: retries, reports it, loses nothing', async () => {
    // ClickHouse goes "down" for this agent only, behind a local proxy: the shared server that
    // other tests use keeps running.
    const proxy = await startProxy(targetOf(endpoints.clickhouse));
    const f = await pipelineFixture({
      partitions: 2,
      maxDelayMs: 300,
      stallTimeoutMs: 5_000,
      sinkUrl: proxy.url,
    });
    const agent = runWeir(['run', '-c', f.configPath]);
    try {
      const producing = generate(f, { count: 60_000, rate: 1_000, seed: 13 });
      await waitUntil('some rows to land', async () => (await tableCounts(f)).rows > 2_000, 60_000);
      proxy.block('refuse');
      const downAt = Date.now();
      await waitUntil(
        'retries to show in the metrics',
        async () => metricValue(await metrics(f), 'weir_sink_retries_total') > 0,
        20_000,
      );
      await waitUntil(
        '/readyz to report not ready',
        async () => (await getText(`http://127.0.0.1:${f.port}/readyz`)).status === 503,
        20_000,
      );
      const readyz = await getText(`http://127.0.0.1:${f.port}/readyz`);
      assert.match(readyz.body, /ClickHouse|acknowledged/);
      await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - downAt))));
      proxy.unblock();
      const report = await producing;
      await waitForDrain(f, 180_000);
      assert.deepEqual(await tableCounts(f), {
        rows: report.counts.unique,
        unique: report.counts.unique,
      });
      assert.match(agent.output(), /ClickHouse insert failed; retrying/);
      await waitUntil(
        '/readyz to report ready again',
        async () => (await getText(`http://127.0.0.1:${f.port}/readyz`)).status === 200,
        30_000,
      );
    } finally {
      proxy.unblock();
      await agent.stop();
      await f.cleanup();
      await proxy.close();
    }
  });
});
