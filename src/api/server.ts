// The agent's HTTP API: /metrics for Prometheus, /healthz (alive), /readyz (able to do its job).
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  pipelines: Record<string, { ready: boolean; reason?: string }>;
}

export interface ApiDeps {
  registry: Registry;
  readiness: () => Readiness;
}

export function createApp(deps: ApiDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const r = deps.readiness();
    return c.json(
      { status: r.ready ? 'ready' : 'not ready', pipelines: r.pipelines },
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
