// A TCP proxy on a random local port in front of a real service (ClickHouse), so a test can take
// the service "down" for one agent without touching the shared server: `block('refuse')` closes
// every connection at once, `block('hang')` accepts connections and never answers; both cut the
// connections already open (pooled keep-alive sockets included). `unblock()` restores traffic.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type BlockMode = 'refuse' | 'hang';

export interface TcpProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>` for HTTP services. */
  readonly url: string;
  block(mode?: BlockMode): void;
  unblock(): void;
  /** Connections accepted so far (including refused ones). */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: BlockMode | undefined;
  let accepted = 0;
  const open = new Set<Socket>();
  const track = (s: Socket) => {
    open.add(s);
    s.once('close', () => open.delete(s));
  };
  const server: Server = createServer((client) => {
    accepted++;
    track(client);
    client.on('error', () => undefined);
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (mode === 'hang') return; // held open, never answered
    const upstream = connect(target.port, target.host);
    track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    block(m: BlockMode = 'refuse') {
      mode = m;
      for (const s of open) s.destroy();
    },
    unblock() {
      mode = undefined;
      // Connections held by 'hang' would never answer: cut them so clients reconnect.
      for (const s of open) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Host and port of an http(s) URL, for `startProxy`. */
export function targetOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
}
