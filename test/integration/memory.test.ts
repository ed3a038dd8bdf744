// Memory bounded in bytes, against the real stack and the real `weir run`: with big records and
// ClickHouse unreachable (through a local TCP proxy), the records read but not yet inserted stop
// at source.max_in_flight_bytes, however few records that is; once ClickHouse answers again every
// record lands exactly once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWeir, waitUntil } from '../helpers/agent.ts';
import {
  generate,
  metricValue,
  metrics,
  pipelineFixture,
  waitAgentReady,
  tableCounts,
  waitForDrain,
} from '../helpers/pipeline.ts';
import { startProxy, targetOf } from '../helpers/proxy.ts';
import { endpoints } from '../helpers/stack.ts';

const MiB = 1024 * 1024;

describe('memory bounded in bytes', () => {
  it('holds at most max_in_flight_bytes of 10 KB records while ClickHouse is away, then lands them all', async () => {
    const records = 1500; // ~15 MiB: far more than the bound, far fewer than max_in_flight_records
    const bound = 2 * MiB;
    const proxy = await startProxy(targetOf(endpoints.clickhouse));
    const f = await pipelineFixture({
      partitions: 2,
      maxDelayMs: 300,
      sinkUrl: proxy.url,
      source: { max_in_flight_bytes: bound, max_bytes_per_partition: 256 * 1024 },
    });
    const agent = runWeir(['run', '-c', f.configPath], { OTEL_SDK_DISABLED: 'true' });
    try {
      await waitAgentReady(f, agent);
      proxy.block('refuse');
      // 20 records a send: each record batch (~200 KB) fits in one fetch of a partition. Kafka
      // returns a record batch whole even when it is larger than max_bytes_per_partition, so
      // bigger producer batches would overshoot by their own size.
      const report = await generate(f, {
        count: records,
        recordBytes: 10_240,
        batchSize: 20,
        seed: 11,
      });
      assert.equal(report.counts.unique, records);
      assert.ok(report.bytes >= records * 10_000, `records are ~10 KB (${report.bytes} bytes)`);
      // Backpressure: the partitions are paused once the bound is passed and stay paused.
      await waitUntil(
        'both partitions paused for backpressure',
        async () => metricValue(await metrics(f), 'weir_paused_partitions') === 2,
        60_000,
      );
      await new Promise((r) => setTimeout(r, 2000));
      const text = await metrics(f);
      const inFlightBytes = metricValue(text, 'weir_in_flight_bytes');
      const inFlight = metricValue(text, 'weir_in_flight_records');
      // A fetch already taken when the bound was crossed may overshoot it: one per partition
      // (max_bytes_per_partition, the record batches being smaller), plus headers.
      const slack = 2 * 256 * 1024 + 64 * 1024;
      assert.ok(inFlightBytes >= bound, `at least the bound in flight (${inFlightBytes})`);
      assert.ok(
        inFlightBytes <= bound + slack,
        `in flight ${inFlightBytes} bytes, bound ${bound} + ${slack}`,
      );
      assert.ok(inFlight < records / 2, `${inFlight} of ${records} records in flight`);
      assert.equal(metricValue(text, 'weir_sink_rows_total'), 0);
      proxy.unblock();
      await waitForDrain(f, 180_000);
      assert.deepEqual(await tableCounts(f), { rows: records, unique: records });
      const after = await metrics(f);
      assert.equal(metricValue(after, 'weir_in_flight_bytes'), 0);
      assert.equal(metricValue(after, 'weir_paused_partitions'), 0);
    } finally {
      proxy.unblock();
      const agentExit = await agent.stop();
      await f.cleanup();
      await proxy.close();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });
});
