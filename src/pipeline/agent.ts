// The agent: runs every pipeline of a config, serves the HTTP API, and stops gracefully.
import type { ServerType } from '@hono/node-server';
import type { WeirConfig } from '../config/schema.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { describeError } from '../core/errors.ts';
import { createApp, startServer, type Readiness } from '../api/server.ts';
import type { Logger } from '../telemetry/logger.ts';
import { createMetrics, type Metrics } from '../telemetry/metrics.ts';
import { Pipeline } from './pipeline.ts';

export interface AgentDeps {
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
}

export class Agent {
  readonly metrics: Metrics;
  readonly pipelines: Pipeline[];
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
    this.pipelines = cfg.pipelines.map(
      (p) =>
        new Pipeline(p, {
          logger: deps.logger,
          metrics: this.metrics,
          clock,
          onFatal: (err) => {
            this.fatal ??= err;
            this.resolveFailed(err);
          },
        }),
    );
  }

  /** Checks every pipeline (connections, topics, tables) without consuming. */
  async check(): Promise<void> {
    for (const p of this.pipelines) await p.check();
  }

  async start(): Promise<void> {
    const { http } = this.cfg.agent;
    this.server = await startServer(
      createApp({ registry: this.metrics.registry, readiness: () => this.readiness() }),
      http.host,
      http.port,
    );
    this.deps.logger.info({ host: http.host, port: http.port }, 'HTTP API listening');
    for (const p of this.pipelines) await p.start();
  }

  /** Resolves with the error when any pipeline fails for good. */
  whenFailed(): Promise<unknown> {
    return this.failed;
  }

  readiness(): Readiness {
    const pipelines: Readiness['pipelines'] = {};
    let ready = true;
    for (const p of this.pipelines) {
      const reason = p.notReadyReason(this.cfg.agent.stall_timeout_ms);
      pipelines[p.name] = reason ? { ready: false, reason } : { ready: true };
      if (reason) ready = false;
    }
    return { ready, pipelines };
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
      await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
      return results.every(Boolean) && this.fatal === undefined;
    })();
    return this.stopping;
  }
}
