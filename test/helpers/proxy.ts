// A TCP proxy on a random local port in front of a real service (ClickHouse, NATS), so a test can
// disturb the service for one client without touching the shared server: `block('refuse')` closes
// every connection at once, `block('hang')` accepts connections and never answers; both cut the
// connections already open (pooled keep-alive sockets included). `unblock()` restores traffic.
// `delay(ms)` makes the service slow (every byte held ms each way) and `dropReplies()` makes it
// act on requests whose answers never arrive (a timeout after the server applied a write).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';

export type BlockMode = 'refuse' | 'hang';

export interface TcpProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>` for HTTP services. */
  readonly url: string;
  block(mode?: BlockMode): void;
  /** Ends a block or `dropReplies`, cutting open connections; a delay stays. */
  unblock(): void;
  /** Holds traffic `ms` each way, open connections included; 0 ends the delay. */
  delay(ms: number): void;
  /** Discards what the server sends, open connections included; requests still arrive. */
  dropReplies(): void;
  /** Connections accepted so far (including refused ones). */
  readonly accepted: number;
  close(): Promise<void>;
}

interface Faults {
  delayMs: number;
  dropReplies: boolean;
}

/** One direction of a connection: passes chunks on in order, late by the current delay. */
class Relay extends Transform {
  private readonly queue: { at: number; chunk: Buffer }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushed: TransformCallback | undefined;

  constructor(
    private readonly faults: Faults,
    private readonly replies: boolean,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.replies && this.faults.dropReplies) return done();
    if (this.faults.delayMs <= 0 && this.queue.length === 0) return done(null, chunk);
    const last = this.queue[this.queue.length - 1]?.at ?? 0;
    this.queue.push({ at: Math.max(Date.now() + this.faults.delayMs, last), chunk });
    this.schedule();
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.queue.length === 0) done();
    else this.flushed = done;
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    clearTimeout(this.timer);
    done(err);
  }

  private schedule(): void {
    const head = this.queue[0];
    if (this.timer || !head) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = Date.now();
        while (this.queue[0] && this.queue[0].at <= now) this.push(this.queue.shift()!.chunk);
        if (this.queue.length > 0) this.schedule();
        else this.flushed?.();
      },
      Math.max(0, head.at - Date.now()),
    );
  }
}

export async function startProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: BlockMode | undefined;
  let accepted = 0;
  const faults: Faults = { delayMs: 0, dropReplies: false };
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
    client.pipe(new Relay(faults, false)).pipe(upstream);
    upstream.pipe(new Relay(faults, true)).pipe(client);
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
      faults.dropReplies = false;
      // Connections held by 'hang' would never answer, and those whose replies were dropped
      // lost their place in the protocol: cut them so clients reconnect.
      for (const s of open) s.destroy();
    },
    delay(ms: number) {
      faults.delayMs = ms;
    },
    dropReplies() {
      faults.dropReplies = true;
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
