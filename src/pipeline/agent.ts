// The agent: runs every pipeline of a config, serves the HTTP API, and stops gracefully.
import type { ServerType } from '@hono/node-server';
import type { WeirConfig } from '../config/schema.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { describeError } from '../core/errors.ts';
import type { Tracer } from '@opentelemetry/api';
import { startApi } from '../api/server.ts';
import { HealthChecks, type ReadinessReport } from '../telemetry/health.ts';
import type { Logger } from '../telemetry/logger.ts';
import { createMetrics, type Metrics } from '../telemetry/metrics.ts';
import { startTracing, weirTracer, type Tracing } from '../telemetry/tracing.ts';
import type { CheckOptions, CheckReport } from './check.ts';
import { Pipeline } from './pipeline.ts';

export interface AgentDeps {
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** Where batch spans go; default: the global OpenTelemetry tracer, set up at start. */
  tracer?: Tracer;
}

export class Agent {
  readonly metrics: Metrics;
  readonly pipelines: Pipeline[];
  /** Readiness checks; components (pipelines, state stores) register theirs. */
  readonly health: HealthChecks;
  private tracing: Tracing | undefined;
  private server: ServerType | undefined;
  private stopping: Promise<boolean> | undefined;
  private fatal: unknown;
  private readonly failed: Promise<unknown>;
  private resolveFailed!: (err: unknown) => void;

  constructor(
    readonly cfg: WeirConfig,
    private readonly deps: AgentDeps,
  ) {
    this.metrics = deps.metrics ?? createMetrics();
    const clock = deps.clock ?? systemClock;
    this.failed = new Promise((r) => (this.resolveFailed = r));
    this.health = new HealthChecks({ logger: deps.logger, metrics: this.metrics });
    const tracer = deps.tracer ?? weirTracer();
    this.pipelines = cfg.pipelines.map(
      (p) =>
        new Pipeline(p, {
          logger: deps.logger,
          metrics: this.metrics,
          clock,
          tracer,
          health: this.health,
          stallTimeoutMs: cfg.agent.stall_timeout_ms,
          lagIntervalMs: cfg.agent.telemetry.lag_interval_ms,
          onFatal: (err) => {
            this.fatal ??= err;
            this.resolveFailed(err);
          },
        }),
    );
  }

  /**
   * Checks every pipeline (connections, topics, tables, NATS) without consuming; changes nothing
   * unless `create`. Reports what a run would create.
   */
  async check(opts: CheckOptions = {}): Promise<CheckReport[]> {
    const reports: CheckReport[] = [];
    for (const p of this.pipelines) reports.push(await p.check(opts));
    return reports;
  }

  async start(): Promise<void> {
    const { http, telemetry } = this.cfg.agent;
    if (!this.deps.tracer) this.tracing = startTracing(telemetry.tracing, this.deps.logger);
    this.server = await startApi({
      registry: this.metrics.registry,
      readiness: () => this.readiness(),
      http,
      logger: this.deps.logger,
    });
    // Side by side: a pipeline waiting for its ClickHouse (pipeline/startup.ts) holds up no other.
    await Promise.all(this.pipelines.map((p) => p.start()));
    // A stop during the start (SIGTERM while waiting) has stopped the checks for good.
    if (!this.stopping) this.health.watch();
  }

  /** Resolves with the error when any pipeline fails for good. */
  whenFailed(): Promise<unknown> {
    return this.failed;
  }

  readiness(): ReadinessReport {
    return this.health.evaluate();
  }

  /** Stops all pipelines within the shutdown deadline. Safe to call twice. */
  stop(): Promise<boolean> {
    this.stopping ??= (async () => {
      const deadline = this.cfg.agent.shutdown_timeout_ms;
      const results = await Promise.all(
        this.pipelines.map((p) =>
          p.stop(deadline).catch((err: unknown) => {
            this.deps.logger.error({ pipeline: p.name, err: describeError(err) }, 'stop failed');
            return false;
          }),
        ),
      );
      this.health.stop();
      // After the pipelines: the spans of the last batches and commits are flushed too.
      await this.tracing?.shutdown();
      await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
      return results.every(Boolean) && this.fatal === undefined;
    })();
    return this.stopping;
  }
}
