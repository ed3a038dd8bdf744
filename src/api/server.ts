// The agent's HTTP API: /metrics for Prometheus, /healthz (the process is alive and answering),
// /readyz (every registered readiness check passes), each with a small JSON body saying why.
// With a token (agent.http.token or WEIR_API_TOKEN), everything but /healthz needs it, except that
// /readyz still answers its status code without it, so probes need no secret.
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { WeirConfig } from '../config/schema.ts';
import type { ReadinessReport } from '../telemetry/health.ts';
import type { Logger } from '../telemetry/logger.ts';
import { accessOf, openApiWarning, requireToken } from './auth.ts';

export interface ApiDeps {
  registry: Registry;
  readiness: () => ReadinessReport;
  /** Epoch ms the process started, for /healthz. */
  startedAt?: number;
  /** Bearer token the API requires; undefined leaves it open. */
  token?: string;
}

export function createApp(deps: ApiDeps): Hono {
  const app = new Hono();
  const startedAt = deps.startedAt ?? Date.now();
  app.use(requireToken(deps.token, ['/healthz', '/readyz']));
  app.get('/healthz', (c) =>
    c.json({
      status: 'alive',
      reason: 'the process is running and its event loop answers',
      uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
    }),
  );
  app.get('/readyz', (c) => {
    const r = deps.readiness();
    // Check reasons name hosts and quote peers' errors: only for callers with the token.
    if (accessOf(c, deps.token) === 'denied')
      return c.json(
        {
          status: r.ready ? 'ready' : 'not ready',
          detail: 'send Authorization: Bearer <token> for the checks',
        },
        r.ready ? 200 : 503,
      );
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

export interface StartApiOptions extends ApiDeps {
  http: WeirConfig['agent']['http'];
  logger: Logger;
}

/** Creates and starts the API as agent.http says, and logs where it listens and how it is guarded. */
export async function startApi(o: StartApiOptions): Promise<ServerType> {
  const { host, port } = o.http;
  // An empty token (e.g. `token: ${VAR:-}`) means none, as an empty WEIR_API_TOKEN does.
  const token = o.http.token || undefined;
  const server = await startServer(createApp({ ...o, token }), host, port);
  o.logger.info({ host, port, auth: token ? 'bearer token' : 'none' }, 'HTTP API listening');
  const warning = openApiWarning(host, token);
  if (warning) o.logger.warn(warning);
  return server;
}
