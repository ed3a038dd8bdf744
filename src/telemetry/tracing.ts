// Tracing setup: the OpenTelemetry Node SDK with an OTLP exporter (HTTP + protobuf by default —
// Coroot rejects JSON). The standard OTEL_* variables win over the config where the spec gives them
// a meaning: OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT,
// _HEADERS, _TIMEOUT, _PROTOCOL, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER
// (+ _ARG), OTEL_BSP_*, OTEL_PROPAGATORS. No instrumentation is registered: the exporter's own HTTP
// calls and the Kafka / ClickHouse clients' internals are never traced, only Weir's batch spans.
// Tracing is on by default, to the standard local collector address; when nothing listens there,
// that is said once, at warn, with the fix, and stopping does not wait on the absent collector.
import { DiagLogLevel, diag, trace, type DiagLogger, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { core, NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import {
  AlwaysOnSampler,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { redactUrl } from '../core/redact.ts';
import { LogLimiter } from './log-limit.ts';
import type { Logger } from './logger.ts';

export const TRACER_NAME = 'weir';

export interface TracingOptions {
  enabled: boolean;
  /** Fraction of batches traced when no producer trace context decides (parent-based). */
  sample_ratio: number;
  /** `service.name` unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES sets it. */
  service_name: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

export type ResolvedTracing =
  | { enabled: false; why: string }
  | {
      enabled: true;
      /** undefined: the SDK takes it from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES. */
      serviceName: string | undefined;
      /** undefined: the SDK builds it from OTEL_TRACES_SAMPLER(_ARG). */
      sampler: Sampler | undefined;
      /** `default`: Weir's OTLP/protobuf exporter; `env`: the SDK picks from OTEL_* variables. */
      exporter: 'default' | 'env';
      /** Where the default exporter sends spans (may carry credentials: print it redacted). */
      endpoint: string;
      /** What is exported, for the start-up log line. */
      describe: string;
    };

const set = (env: Env, name: string) => (env[name] ?? '').trim() !== '';

/** Decides how tracing runs from the config and the environment (which wins where it speaks). */
export function resolveTracing(opts: TracingOptions, env: Env = process.env): ResolvedTracing {
  if (!opts.enabled) return { enabled: false, why: 'agent.telemetry.tracing.enabled is false' };
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true')
    return { enabled: false, why: 'OTEL_SDK_DISABLED=true' };
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '' && s !== 'null');
  if (exporters.length === 1 && exporters[0] === 'none')
    return { enabled: false, why: 'OTEL_TRACES_EXPORTER=none' };
  const protocolSet =
    set(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') || set(env, 'OTEL_EXPORTER_OTLP_PROTOCOL');
  const custom = protocolSet || exporters.some((e) => e !== 'otlp');
  const serviceFromEnv =
    set(env, 'OTEL_SERVICE_NAME') ||
    /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  const ratio = Math.min(1, Math.max(0, opts.sample_ratio));
  const sampler = set(env, 'OTEL_TRACES_SAMPLER')
    ? undefined
    : new ParentBasedSampler({
        root: ratio >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(ratio),
      });
  const endpoint =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`
      : 'http://localhost:4318/v1/traces');
  return {
    enabled: true,
    serviceName: serviceFromEnv ? undefined : opts.service_name,
    sampler,
    exporter: custom ? 'env' : 'default',
    endpoint,
    describe: custom
      ? `as OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_PROTOCOL say`
      : `OTLP http/protobuf to ${redactUrl(endpoint)}`,
  };
}

export interface Tracing {
  readonly enabled: boolean;
  /** Flushes pending spans and stops exporting. Safe to call twice. */
  shutdown(): Promise<void>;
}

/** One line of an OTel diagnostic, which is sometimes a serialized error with its stack. */
function summarize(message: string): string {
  try {
    const parsed = JSON.parse(message) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    /* plain text */
  }
  return message.split('\n')[0]!.slice(0, 300);
}

/** OTel's own diagnostics (export failures, bad variables) as rate-limited Weir log lines. */
export function diagLogger(logger: Logger, limiter = new LogLimiter()): DiagLogger {
  const log = (message: string, ...args: unknown[]) => {
    const text = summarize(message);
    // Ports and counts vary between otherwise identical failures.
    const suppressed = limiter.take(`otel:${text.replace(/\d+/g, '#')}`);
    if (suppressed === undefined) return;
    const detail = args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
    logger.warn(
      {
        component: 'opentelemetry',
        detail: detail || undefined,
        suppressed: suppressed || undefined,
      },
      `OpenTelemetry: ${text}`,
    );
  };
  const quiet = () => undefined;
  return { error: log, warn: log, info: quiet, debug: quiet, verbose: quiet };
}

const { ExportResultCode } = core;
type ExportDone = Parameters<SpanExporter['export']>[1];

/**
 * Wraps the OTLP exporter so that a collector which does not answer is reported once per outage,
 * at warn with the fix, instead of by the SDK for every batch and once more on stop. While it
 * fails, spans are dropped and counted; the first success after that says so. Once `stop()` is
 * called, a failing collector gets no more attempts, so the last flush does not hold up a stop.
 */
export class ReportingExporter implements SpanExporter {
  private failing = false;
  private dropped = 0;
  private stopping = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly endpoint: string,
    private readonly logger: Logger,
  ) {}

  export(spans: ReadableSpan[], done: ExportDone): void {
    if (this.failing && this.stopping) {
      this.dropped += spans.length;
      done({ code: ExportResultCode.SUCCESS });
      return;
    }
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.recovered();
      else this.failed(spans.length, result.error);
      // A failure is reported here; passed on, the SDK would log it again for every batch.
      done({ code: ExportResultCode.SUCCESS });
    });
  }

  private failed(spans: number, error: Error | undefined): void {
    this.dropped += spans;
    if (this.failing) return;
    this.failing = true;
    this.logger.warn(
      {
        endpoint: this.endpoint,
        err: summarize(error?.message ?? 'export failed'),
        fix: 'run a collector there, point OTEL_EXPORTER_OTLP_ENDPOINT at one, or turn tracing off (agent.telemetry.tracing.enabled: false or OTEL_SDK_DISABLED=true)',
      },
      'tracing: cannot export spans; dropping them until the collector answers',
    );
  }

  private recovered(): void {
    if (!this.failing) return;
    this.logger.info(
      { endpoint: this.endpoint, dropped: this.dropped },
      'tracing: exporting spans again',
    );
    this.failing = false;
    this.dropped = 0;
  }

  /** The agent is stopping: from now on a failing collector is not tried again. */
  stop(): void {
    this.stopping = true;
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.stop();
    if (this.failing)
      this.logger.info(
        { endpoint: this.endpoint, dropped: this.dropped },
        'tracing: stopped; spans dropped while the collector did not answer',
      );
    return this.inner.shutdown();
  }
}

/**
 * Starts the SDK and registers it globally (tracer provider, context manager, propagator), so
 * `trace.getTracer(TRACER_NAME)` handed out before the start begins to record once it runs.
 */
export function startTracing(
  opts: TracingOptions,
  logger: Logger,
  env: Env = process.env,
): Tracing {
  const resolved = resolveTracing(opts, env);
  if (!resolved.enabled) {
    logger.info({ why: resolved.why }, 'tracing is off');
    return { enabled: false, shutdown: () => Promise.resolve() };
  }
  diag.setLogger(diagLogger(logger), {
    logLevel: DiagLogLevel.WARN,
    suppressOverrideMessage: true,
  });
  const config: Partial<NodeSDKConfiguration> = {
    instrumentations: [],
    // Metrics are Prometheus (/metrics) and logs are JSON lines: the SDK exports only traces.
    metricReaders: [],
    logRecordProcessors: [],
  };
  if (resolved.serviceName !== undefined) config.serviceName = resolved.serviceName;
  if (resolved.sampler) config.sampler = resolved.sampler;
  const exporter =
    resolved.exporter === 'default'
      ? new ReportingExporter(new OTLPTraceExporter(), redactUrl(resolved.endpoint), logger)
      : undefined;
  if (exporter) config.traceExporter = exporter;
  const sdk = new NodeSDK(config);
  sdk.start();
  logger.info({ export: resolved.describe }, 'tracing: one trace per batch');
  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown: () => {
      exporter?.stop();
      return (stopping ??= Promise.race([
        sdk.shutdown().catch((err: unknown) => {
          logger.warn({ err: String(err) }, 'could not flush the last spans');
        }),
        new Promise<void>((r) => setTimeout(r, 5000).unref()),
      ]));
    },
  };
}

/** The tracer Weir's spans come from; a no-op until (unless) tracing starts. */
export function weirTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}
