// The agent's HTTP API: /metrics for Prometheus, /healthz (the process is alive and answering),
// /readyz (every registered readiness check passes), each with a small JSON body saying why.
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { ReadinessReport } from '../telemetry/health.ts';

export interface ApiDeps {
  registry: Registry;
  readiness: () => ReadinessReport;
  /** Epoch ms the process started, for /healthz. */
  startedAt?: number;
}

export function createApp(deps: ApiDeps): Hono {
  const app = new Hono();
  const startedAt = deps.startedAt ?? Date.now();
  app.get('/healthz', (c) =>
    c.json({
      status: 'alive',
      reason: 'the process is running and its event loop answers',
      uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
    }),
  );
  app.get('/readyz', (c) => {
    const r = deps.readiness();
    const failing = Object.entries(r.checks)
      .filter(([, v]) => !v.ok)
      .map(([k, v]) => `${k}: ${v.reason ?? 'failing'}`);
    return c.json(
      {
        status: r.ready ? 'ready' : 'not ready',
        reason: r.ready ? 'every check passes' : failing.join('; '),
        checks: r.checks,
      },
      r.ready ? 200 : 503,
    );
  });
  app.get('/metrics', async (c) => {
    const body = await deps.registry.metrics();
    return c.body(body, 200, { 'content-type': deps.registry.contentType });
  });
  app.notFound((c) =>
    c.json({ error: 'not found', endpoints: ['/healthz', '/readyz', '/metrics'] }, 404),
  );
  return app;
}

export function startServer(app: Hono, host: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(server));
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(
              `port ${port} for the HTTP API is already in use; set agent.http.port to a free port`,
            )
          : err,
      );
    });
  });
}
