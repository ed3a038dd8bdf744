import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { FakeClock } from '../core/clock.ts';
import { LogLimiter } from './log-limit.ts';
import { createLogger } from './logger.ts';
import { diagLogger, ReportingExporter, resolveTracing, type TracingOptions } from './tracing.ts';

const opts: TracingOptions = { enabled: true, sample_ratio: 1, service_name: 'weir' };

describe('tracing settings', () => {
  it('exports OTLP over HTTP as protobuf by default, to the OTLP endpoint variable', () => {
    const r = resolveTracing(opts, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://coroot:8080/' });
    assert.ok(r.enabled);
    assert.equal(r.exporter, 'default');
    assert.equal(r.describe, 'OTLP http/protobuf to http://coroot:8080/v1/traces');
    assert.equal(r.serviceName, 'weir');
    assert.match(r.sampler!.toString(), /ParentBased\{root=AlwaysOnSampler/);
    const traces = resolveTracing(opts, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://x:4318/t' });
    assert.ok(traces.enabled && traces.describe.endsWith('http://x:4318/t'));
  });

  it('describes an endpoint without the credentials in its URL', () => {
    const r = resolveTracing(opts, { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel:key@collector' });
    assert.ok(r.enabled);
    assert.equal(r.describe, 'OTLP http/protobuf to https://***@collector/v1/traces');
  });

  it('can be switched off by the config, OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none', () => {
    assert.equal(resolveTracing({ ...opts, enabled: false }, {}).enabled, false);
    assert.deepEqual(resolveTracing(opts, { OTEL_SDK_DISABLED: 'true' }), {
      enabled: false,
      why: 'OTEL_SDK_DISABLED=true',
    });
    assert.equal(resolveTracing(opts, { OTEL_TRACES_EXPORTER: 'none' }).enabled, false);
    assert.equal(resolveTracing(opts, { OTEL_SDK_DISABLED: 'false' }).enabled, true);
  });

  it('lets the OTEL_* variables win over the config', () => {
    const r = resolveTracing(
      { ...opts, sample_ratio: 0.1 },
      {
        OTEL_SERVICE_NAME: 'weir-prod',
        OTEL_TRACES_SAMPLER: 'always_off',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      },
    );
    assert.ok(r.enabled);
    assert.equal(r.serviceName, undefined, 'the SDK reads OTEL_SERVICE_NAME');
    assert.equal(r.sampler, undefined, 'the SDK reads OTEL_TRACES_SAMPLER');
    assert.equal(r.exporter, 'env', 'the SDK picks the exporter for the protocol');
    const attrs = resolveTracing(opts, { OTEL_RESOURCE_ATTRIBUTES: 'a=b,service.name=x' });
    assert.ok(attrs.enabled && attrs.serviceName === undefined);
    assert.ok(
      (resolveTracing(opts, { OTEL_TRACES_EXPORTER: 'console' }) as { exporter: string })
        .exporter === 'env',
    );
  });

  it('samples the configured ratio of root batches, following a producer parent', () => {
    const r = resolveTracing({ ...opts, sample_ratio: 0.25 }, {});
    assert.ok(r.enabled);
    assert.match(r.sampler!.toString(), /ParentBased\{root=TraceIdRatioBased\{0\.25\}/);
  });

  it("turns the SDK's export errors into short, rate-limited warnings", () => {
    const lines: Record<string, unknown>[] = [];
    const destination = {
      write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>),
    } as unknown as NodeJS.WritableStream;
    const clock = new FakeClock(0);
    const diag = diagLogger(
      createLogger({ level: 'info', destination }),
      new LogLimiter(10_000, clock),
    );
    const failure = (port: number) =>
      JSON.stringify({
        message: `connect ECONNREFUSED 127.0.0.1:${port}`,
        stack: 'Error: …\n  at x',
      });
    diag.error(failure(4318));
    diag.error(failure(4319));
    diag.debug('noise');
    clock.advance(10_000);
    diag.error(failure(4318));
    assert.deepEqual(
      lines.map((l) => [l.msg, l.suppressed]),
      [
        ['OpenTelemetry: connect ECONNREFUSED 127.0.0.1:4318', undefined],
        ['OpenTelemetry: connect ECONNREFUSED 127.0.0.1:4318', 1],
      ],
    );
  });

  it('reports a collector that does not answer once, at warn, and stops trying it on stop', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = {
      write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>),
    } as unknown as NodeJS.WritableStream;
    const answers = [false, false, true, false];
    let attempts = 0;
    const inner: SpanExporter = {
      export: (_spans, done) => {
        const ok = answers[attempts++] ?? false;
        done(
          ok ? { code: 0 } : { code: 1, error: new Error('connect ECONNREFUSED 127.0.0.1:4318') },
        );
      },
      shutdown: () => Promise.resolve(),
    };
    const exporter = new ReportingExporter(
      inner,
      'http://localhost:4318/v1/traces',
      createLogger({ level: 'info', destination }),
    );
    const spans = (n: number) => Array.from({ length: n }, () => ({}) as ReadableSpan);
    const codes: number[] = [];
    for (const n of [2, 3, 1, 4]) exporter.export(spans(n), (r) => codes.push(r.code));
    exporter.stop();
    exporter.export(spans(5), (r) => codes.push(r.code));
    await exporter.shutdown();
    assert.deepEqual(codes, [0, 0, 0, 0, 0], 'the SDK is not asked to log failures again');
    assert.equal(attempts, 4, 'no attempt once stopping with the collector failing');
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l.dropped ?? l.err]),
      [
        [
          'warn',
          'tracing: cannot export spans; dropping them until the collector answers',
          'connect ECONNREFUSED 127.0.0.1:4318',
        ],
        ['info', 'tracing: exporting spans again', 5],
        [
          'warn',
          'tracing: cannot export spans; dropping them until the collector answers',
          'connect ECONNREFUSED 127.0.0.1:4318',
        ],
        ['info', 'tracing: stopped; spans dropped while the collector did not answer', 9],
      ],
    );
    assert.match(String(lines[0]!.fix), /OTEL_EXPORTER_OTLP_ENDPOINT.*OTEL_SDK_DISABLED=true/);
  });
});
