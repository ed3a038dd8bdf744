// Telemetry against the real stack and the real `weir run`: the standard per-stage counters and
// their balance, one OTLP/protobuf trace per batch (continuing a producer's traceparent), consumer
// lag while ClickHouse is blocked, and /readyz following a ClickHouse outage. ClickHouse is taken
// "down" only for the agent under test, through a local TCP proxy; the shared server keeps running.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { getText, runWeir, waitUntil, type WeirProcess } from '../helpers/agent.ts';
import { startOtlpReceiver, type ReceivedSpan } from '../helpers/otlp.ts';
import {
  generate,
  metricValue,
  metrics,
  pipelineFixture,
  tableCounts,
  waitForDrain,
  type PipelineFixture,
} from '../helpers/pipeline.ts';
import { startProxy, targetOf } from '../helpers/proxy.ts';
import { endpoints, kafka } from '../helpers/stack.ts';

const readyz = async (f: PipelineFixture) => {
  const r = await getText(`http://127.0.0.1:${f.port}/readyz`);
  return {
    status: r.status,
    body: JSON.parse(r.body) as {
      status: string;
      reason: string;
      checks: Record<string, { ok: boolean; reason?: string }>;
    },
  };
};

const waitReady = (f: PipelineFixture, agent: WeirProcess, timeoutMs = 60_000) =>
  waitUntil(
    `/readyz to say ready\n${agent.output().slice(-2000)}`,
    async () => (await readyz(f)).status === 200,
    timeoutMs,
  );

/** Every `name{...stage="x"...}` series' stage label values. */
function stagesIn(text: string): string[] {
  const stages = new Set<string>();
  for (const m of text.matchAll(/^weir_stage_records_received_total\{[^}]*stage="([^"]+)"/gm))
    stages.add(m[1]!);
  return [...stages];
}

describe('telemetry', () => {
  it('every stage emits the standard counters and they balance (filtered, invalid and valid records)', async () => {
    const f = await pipelineFixture({
      partitions: 2,
      extraTransforms: [{ filter: 'status != "test"' }],
      pipeline: { event_time_field: 'created_at' },
    });
    const agent = runWeir(['run', '-c', f.configPath]);
    try {
      const report = await generate(f, { count: 20_000, badRate: 0.05, seed: 21 });
      await waitForDrain(f);
      const text = await metrics(f);
      const v = (name: string, labels: Record<string, string> = {}) =>
        metricValue(text, name, { pipeline: 'e2e', ...labels });

      const stages = stagesIn(text);
      assert.deepEqual(stages, ['parse', 'transform[0].filter', 'sink']);
      for (const stage of stages) {
        const received = v('weir_stage_records_received_total', { stage });
        const emitted = v('weir_stage_records_emitted_total', { stage });
        const dropped = v('weir_stage_records_dropped_total', { stage });
        assert.ok(
          text.includes(`weir_stage_records_emitted_total{pipeline="e2e",stage="${stage}"}`),
        );
        assert.equal(received, emitted + dropped, `${stage}: in = out + dropped`);
      }
      // The stages form a chain: what one emits, the next receives.
      for (let i = 1; i < stages.length; i++)
        assert.equal(
          v('weir_stage_records_emitted_total', { stage: stages[i - 1]! }),
          v('weir_stage_records_received_total', { stage: stages[i]! }),
          `${stages[i - 1]} → ${stages[i]}`,
        );
      const sum = (name: string) => stages.reduce((n, stage) => n + v(name, { stage }), 0);
      assert.equal(
        sum('weir_stage_records_received_total'),
        sum('weir_stage_records_emitted_total') + sum('weir_stage_records_dropped_total'),
      );

      const malformed =
        report.counts.malformed.invalid_json +
        report.counts.malformed.wrong_type +
        report.counts.malformed.missing_field;
      const filtered = v('weir_stage_records_dropped_total', { reason: 'filtered' });
      assert.ok(malformed > 500 && filtered > 50, `malformed ${malformed}, filtered ${filtered}`);
      assert.equal(v('weir_source_records_total'), report.counts.total);
      assert.equal(v('weir_stage_records_received_total', { stage: 'parse' }), report.counts.total);
      assert.equal(v('weir_stage_records_dropped_total', { stage: 'parse' }), malformed);
      assert.equal(v('weir_stage_errors_total', { stage: 'parse', class: 'record' }), malformed);
      assert.equal(v('weir_dead_letter_records_total'), malformed);
      const { rows } = await tableCounts(f);
      assert.equal(rows, report.counts.total - malformed - filtered);
      assert.equal(v('weir_stage_records_emitted_total', { stage: 'sink' }), rows);
      assert.equal(v('weir_sink_rows_total'), rows);
      // SLIs: good / total delivered, and delivered within thresholds from the histogram buckets.
      assert.equal(v('weir_sli_records_delivered_total'), rows);
      assert.equal(v('weir_sli_records_total'), rows);
      assert.equal(v('weir_end_to_end_latency_seconds_count'), rows);
      for (const le of ['1', '5', '30', '60', '300', '+Inf'])
        assert.ok(
          text.includes(`weir_end_to_end_latency_seconds_bucket{le="${le}",pipeline="e2e"}`),
          `bucket le=${le}`,
        );
      assert.ok(v('weir_end_to_end_latency_seconds_bucket', { le: '+Inf' }) === rows);
      assert.ok(v('weir_sink_last_success_timestamp_seconds') > Date.now() / 1000 - 300);
      assert.ok(v('weir_sink_batch_rows_count') > 0 && v('weir_sink_batch_bytes_sum') > 0);
      assert.equal(v('weir_in_flight_records'), 0);
      assert.equal(v('weir_paused_partitions'), 0);
      // The ClickHouse probe pings every few seconds; one slow ping on a loaded machine may have
      // failed just before the scrape, so readiness must be (back) at 1 within a few probes.
      await waitUntil(
        'the clickhouse readiness check to be 1',
        async () =>
          metricValue(await metrics(f), 'weir_readiness_check', {
            pipeline: 'e2e',
            check: 'clickhouse',
          }) === 1,
        20_000,
      );
    } finally {
      const agentExit = await agent.stop();
      await f.cleanup();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });

  it('exports one trace per batch over OTLP/protobuf and continues the producer traceparent', async () => {
    const receiver = await startOtlpReceiver();
    const f = await pipelineFixture({
      partitions: 1,
      maxDelayMs: 1000,
      extraTransforms: [{ filter: 'status != "test"' }],
      agent: { log_level: 'debug' },
    });
    const agent = runWeir(['run', '-c', f.configPath], {
      WEIR_LOG_LEVEL: 'debug',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SERVICE_NAME: 'weir-e2e',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
    const producer = kafka().producer();
    try {
      await waitReady(f, agent);
      const traceId = randomUUID().replaceAll('-', '');
      const spanId = randomUUID().replaceAll('-', '').slice(0, 16);
      const others = Array.from({ length: 5 }, () => ({
        traceId: randomUUID().replaceAll('-', ''),
        spanId: randomUUID().replaceAll('-', '').slice(0, 16),
      }));
      const order = (status = 'paid') =>
        JSON.stringify({
          event_id: randomUUID(),
          user_id: 'u1',
          amount: 12.5,
          currency: 'EUR',
          status,
          ts: Date.now(),
          items: [{ sku: 'a', qty: 1 }],
        });
      const tp = (t: string, s: string) => ({ traceparent: `00-${t}-${s}-01` });
      await producer.connect();
      await producer.send({
        topic: f.topic,
        messages: [
          { value: order(), headers: tp(traceId, spanId) },
          { value: order(), headers: tp(traceId, spanId) },
          ...others.map((o) => ({ value: order(), headers: tp(o.traceId, o.spanId) })),
          { value: order() },
          { value: '{not json' },
          { value: order('test') },
        ],
      });
      const spansOf = (t: string) => receiver.spans.filter((s) => s.traceId === t);
      await waitUntil(
        'the batch trace to arrive at the OTLP receiver',
        () => spansOf(traceId).some((s) => s.name === 'batch'),
        60_000,
      );
      const spans = spansOf(traceId);
      const only = (name: string): ReceivedSpan => {
        const found = spans.filter((s) => s.name === name);
        assert.equal(found.length, 1, `one ${name} span: ${spans.map((s) => s.name).join(', ')}`);
        return found[0]!;
      };
      const batch = only('batch');
      assert.equal(batch.parentSpanId, spanId, "the producer's span is the batch's parent");
      assert.equal(batch.kind, 'SPAN_KIND_CONSUMER');
      assert.equal(batch.scope, 'weir');
      assert.equal(batch.resource['service.name'], 'weir-e2e');
      assert.deepEqual(
        {
          pipeline: batch.attributes['weir.pipeline'],
          topic: batch.attributes['messaging.destination.name'],
          partition: batch.attributes['messaging.destination.partition.id'],
          first: batch.attributes['weir.offset.first'],
          last: batch.attributes['weir.offset.last'],
          records: batch.attributes['weir.records'],
          rows: batch.attributes['weir.rows'],
          dead: batch.attributes['weir.dead_letters'],
          dropped: batch.attributes['weir.dropped'],
          outcome: batch.attributes['weir.outcome'],
        },
        {
          pipeline: 'e2e',
          topic: f.topic,
          partition: '0',
          first: '0',
          last: '9',
          records: 10,
          rows: 8,
          dead: 1,
          dropped: 1,
          outcome: 'committed',
        },
      );
      assert.ok(typeof batch.attributes['weir.bytes'] === 'number');
      assert.deepEqual(
        batch.links.map((l) => l.traceId).sort(),
        others.map((o) => o.traceId).sort(),
        "other producers' contexts are links",
      );

      const fetches = spans.filter((s) => s.name === 'fetch');
      assert.ok(fetches.length >= 1);
      assert.ok(fetches.every((s) => s.parentSpanId === batch.spanId));
      assert.equal(
        fetches.reduce((n, s) => n + Number(s.attributes['weir.records']), 0),
        10,
      );
      const fetchIds = new Set(fetches.map((s) => s.spanId));
      for (const stage of ['parse', 'transform[0].filter']) {
        const stageSpans = spans.filter((s) => s.name === `stage ${stage}`);
        assert.ok(stageSpans.length >= 1, stage);
        assert.ok(
          stageSpans.every((s) => fetchIds.has(s.parentSpanId!)),
          `${stage} under fetch`,
        );
        assert.ok(stageSpans.every((s) => s.attributes['weir.stage'] === stage));
      }
      const parse = spans.filter((s) => s.name === 'stage parse');
      assert.equal(
        parse.reduce((n, s) => n + Number(s.attributes['weir.dead_letters']), 0),
        1,
      );
      const insert = only('insert');
      assert.equal(insert.parentSpanId, batch.spanId);
      assert.equal(insert.kind, 'SPAN_KIND_CLIENT');
      assert.equal(insert.attributes['db.system.name'], 'clickhouse');
      assert.equal(insert.attributes['weir.rows'], 8);
      const dead = only('dead_letter');
      assert.equal(dead.parentSpanId, batch.spanId);
      assert.equal(dead.attributes['weir.records'], 1);
      const commit = only('commit');
      assert.equal(commit.parentSpanId, batch.spanId);
      assert.equal(commit.attributes['weir.offset.committed'], '10');
      assert.ok(insert.startMs >= dead.startMs && commit.startMs >= insert.endMs - 1);
      assert.ok(batch.endMs >= commit.endMs - 1);

      // Only Weir's spans: the exporter's HTTP calls and the clients' internals are not traced.
      const allowed = /^(batch|fetch|stage .+|insert|dead_letter|checkpoint|commit)$/;
      const stray = receiver.spans.filter((s) => !allowed.test(s.name) || s.scope !== 'weir');
      assert.deepEqual(
        stray.map((s) => `${s.scope}:${s.name}`),
        [],
      );
      assert.ok(receiver.contentTypes.every((c) => c === 'application/x-protobuf'));
      assert.deepEqual(receiver.strayRequests, []);

      // The batch's log lines carry its trace id.
      const lines = agent
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const committed = lines.find((l) => l.msg === 'batch committed' && l.trace_id === traceId);
      assert.ok(committed, 'a "batch committed" line with the trace id');
      assert.equal(committed.pipeline, 'e2e');
      assert.match(String(committed.span_id), /^[0-9a-f]{16}$/);
    } finally {
      await producer.disconnect();
      const agentExit = await agent.stop();
      await receiver.close();
      await f.cleanup();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });

  it('shows 50k records produced while the sink is blocked as consumer lag, back to 0 after', async () => {
    const proxy = await startProxy(targetOf(endpoints.clickhouse));
    const f = await pipelineFixture({
      partitions: 4,
      maxDelayMs: 300,
      sinkUrl: proxy.url,
      agent: { telemetry: { lag_interval_ms: 1000 } },
    });
    const agent = runWeir(['run', '-c', f.configPath], { OTEL_SDK_DISABLED: 'true' });
    const lag = async () => metricValue(await metrics(f), 'weir_consumer_lag_records');
    try {
      await waitReady(f, agent);
      proxy.block('refuse');
      const report = await generate(f, { count: 50_000, seed: 5 });
      assert.equal(report.counts.total, 50_000);
      await waitUntil(
        'the lag gauge to show all 50k records',
        async () => (await lag()) === 50_000,
        60_000,
      );
      const text = await metrics(f);
      assert.ok(metricValue(text, 'weir_sink_retries_total') > 0);
      assert.equal(metricValue(text, 'weir_sink_rows_total'), 0);
      assert.ok(metricValue(text, 'weir_in_flight_records') > 0);
      assert.equal((await readyz(f)).status, 503);
      // The lag keeps being refreshed while the pipeline is stalled.
      const refreshed = metricValue(text, 'weir_consumer_lag_refresh_timestamp_seconds');
      await waitUntil(
        'another lag refresh while stalled',
        async () =>
          metricValue(await metrics(f), 'weir_consumer_lag_refresh_timestamp_seconds') > refreshed,
        10_000,
      );
      proxy.unblock();
      await waitUntil('the lag gauge to return to 0', async () => (await lag()) === 0, 120_000);
      assert.deepEqual(await tableCounts(f), { rows: 50_000, unique: 50_000 });
      await waitReady(f, agent, 30_000);
    } finally {
      proxy.unblock();
      const agentExit = await agent.stop();
      await f.cleanup();
      await proxy.close();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });

  it('/readyz turns not ready within the stall time when ClickHouse is down, and ready after', async () => {
    const stallTimeoutMs = 4_000;
    const proxy = await startProxy(targetOf(endpoints.clickhouse));
    const f = await pipelineFixture({
      partitions: 2,
      maxDelayMs: 300,
      sinkUrl: proxy.url,
      stallTimeoutMs,
    });
    const agent = runWeir(['run', '-c', f.configPath], { OTEL_SDK_DISABLED: 'true' });
    try {
      await waitReady(f, agent);
      const producing = generate(f, { count: 20_000, rate: 1_000, seed: 9 });
      for (const mode of ['refuse', 'hang'] as const) {
        await waitUntil('rows to land', async () => (await tableCounts(f)).rows > 0, 30_000);
        const downAt = Date.now();
        proxy.block(mode);
        await waitUntil(
          `/readyz to turn not ready (ClickHouse ${mode})`,
          async () => (await readyz(f)).status === 503,
          stallTimeoutMs + 5_000,
          100,
        );
        const took = Date.now() - downAt;
        assert.ok(took <= stallTimeoutMs, `not ready after ${took} ms (${mode})`);
        const { body } = await readyz(f);
        assert.equal(body.status, 'not ready');
        assert.equal(body.checks['e2e/clickhouse']?.ok, false);
        assert.match(body.checks['e2e/clickhouse']?.reason ?? '', /ClickHouse|inserts/);
        assert.equal(body.checks['e2e/kafka']?.ok, true);
        assert.match(body.reason, /e2e\/clickhouse: /);
        // With records waiting, the stall check fires too once the stall time has passed.
        await waitUntil(
          'the progress check to report the stall',
          async () => (await readyz(f)).body.checks['e2e/progress']?.ok === false,
          stallTimeoutMs + 5_000,
        );
        assert.match((await readyz(f)).body.checks['e2e/progress']!.reason!, /stalled/);
        proxy.unblock();
        await waitUntil(
          `/readyz to be ready again after ${mode}`,
          async () => (await readyz(f)).status === 200,
          30_000,
          100,
        );
        const after = await readyz(f);
        assert.ok(Object.values(after.body.checks).every((c) => c.ok));
      }
      const report = await producing;
      await waitForDrain(f);
      assert.deepEqual(await tableCounts(f), {
        rows: report.counts.unique,
        unique: report.counts.unique,
      });
      const lines = agent.output();
      assert.match(lines, /"msg":"readiness check fails"/);
      assert.match(lines, /"msg":"readiness check passes again"/);
    } finally {
      proxy.unblock();
      const agentExit = await agent.stop();
      await f.cleanup();
      await proxy.close();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });
});
