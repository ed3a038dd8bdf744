// NATS JetStream as Weir's state store: connections from config, KV buckets that Weir creates and
// keeps configured, and the one place that turns NATS errors into Weir errors.
import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import {
  Events,
  connect,
  credsAuthenticator,
  type ConnectionOptions,
  type JetStreamManager,
  type KV,
  type NatsConnection,
  type TlsOptions,
} from 'nats';
import { ConfigError, ConnectionError, WeirError, describeError } from '../core/errors.ts';
import { redactUrls, splitCredentials } from '../core/redact.ts';
import { retry } from '../core/retry.ts';
import { explainTlsFailure, loadTlsFiles, type TlsFileOptions } from '../tls/tls.ts';
import type { Logger } from '../telemetry/logger.ts';

export interface NatsConfig {
  servers: string[];
  user?: string;
  password?: string;
  token?: string;
  credentials_file?: string;
  timeout_ms: number;
  tls?: NatsTlsConfig;
}

export interface NatsTlsConfig extends TlsFileOptions {
  server_name?: string;
}

/**
 * nats.js's TLS options: the files' contents (read by Weir, so a bad path is a config error naming
 * the option) and, through to tls.connect, the server name to verify.
 */
export function natsTlsOptions(tls: NatsTlsConfig, section: string): TlsOptions {
  const m = loadTlsFiles(tls, `${section}.tls`);
  const opts: TlsOptions & { servername?: string } = {
    ca: m.ca?.toString('utf8'),
    cert: m.cert?.toString('utf8'),
    key: m.key?.toString('utf8'),
  };
  if (tls.server_name !== undefined) opts.servername = tls.server_name;
  return opts;
}

export interface NatsHandle {
  nc: NatsConnection;
  /** Why NATS cannot be used right now (disconnected, closed), for readiness; else undefined. */
  problem(): string | undefined;
}

/**
 * Connects with the options of one config section; `section` (e.g. `join.nats`) is what error
 * messages tell the user to check.
 */
export async function connectNats(
  cfg: NatsConfig,
  name: string,
  logger: Logger,
  section: string,
): Promise<NatsHandle> {
  const auth = natsAuth(cfg, section);
  const opts: ConnectionOptions = {
    servers: auth.servers,
    name,
    timeout: cfg.timeout_ms,
    // State must stay reachable: reconnect for as long as the process runs.
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
  };
  if (auth.user !== undefined) {
    opts.user = auth.user;
    opts.pass = auth.pass;
  }
  if (auth.token !== undefined) opts.token = auth.token;
  // Any tls object makes nats.js refuse a server that does not offer TLS.
  if (cfg.tls !== undefined) opts.tls = natsTlsOptions(cfg.tls, section);
  if (cfg.credentials_file !== undefined) {
    let creds: Uint8Array;
    try {
      creds = readFileSync(cfg.credentials_file);
    } catch (err) {
      throw new ConfigError(
        `cannot read the NATS credentials file ${cfg.credentials_file}: ${(err as Error).message}`,
        { hint: `check ${section}.credentials_file` },
      );
    }
    opts.authenticator = credsAuthenticator(creds);
  }
  let nc: NatsConnection;
  try {
    nc = await connect(opts);
  } catch (err) {
    // nats.js reports a server that refuses the client after the handshake (how TLS 1.3 says
    // "certificate required") as a timeout: a handshake of our own finds the real reason.
    const why =
      opts.tls && (err as { code?: string }).code === 'TIMEOUT'
        ? await probeNatsTls(auth.servers[0] ?? '', opts.tls, cfg.timeout_ms)
        : undefined;
    throw explainNatsError(why ?? err, cfg.servers, section, cfg.tls);
  }
  let disconnected = false;
  // Servers may carry credentials (nats://user:pass@host): only the redacted list is printed.
  const where = redactUrls(cfg.servers);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === Events.Disconnect) disconnected = true;
      if (s.type === Events.Reconnect) disconnected = false;
      if (s.type === Events.Disconnect || s.type === Events.Reconnect || s.type === Events.Error)
        logger.warn(
          {
            nats: where,
            event: s.type,
            data: typeof s.data === 'string' ? s.data : JSON.stringify(s.data),
          },
          'NATS',
        );
    }
  })().catch(() => undefined);
  return {
    nc,
    problem: () =>
      nc.isClosed()
        ? `the NATS connection to ${where} is closed`
        : disconnected
          ? `NATS at ${where} is disconnected (reconnecting)`
          : undefined,
  };
}

export interface NatsAuth {
  /** The servers without credentials. */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
}

/**
 * The servers and credentials to connect with. nats.js ignores credentials in a server URL, so
 * `nats://user:pass@host` and `nats://token@host` are turned into user/pass or token here (for
 * every server: the client has one set). Servers that disagree, or URL credentials beside
 * user/token options, are a config error rather than a silent choice.
 */
export function natsAuth(cfg: NatsConfig, section: string): NatsAuth {
  const parts = cfg.servers.map(splitCredentials);
  const given = parts.filter((p) => p.username !== undefined || p.password !== undefined);
  if (given.length === 0)
    return { servers: cfg.servers, user: cfg.user, pass: cfg.password, token: cfg.token };
  if (new Set(given.map((p) => `${p.username}:${p.password}`)).size > 1)
    throw new ConfigError(`the servers of ${section} carry different credentials`, {
      hint: `give every server of ${section}.servers the same user:password@ (or token@), or use ${section}.user/password or token`,
    });
  if (cfg.user !== undefined || cfg.token !== undefined)
    throw new ConfigError(`${section}.servers carry credentials and ${section} sets them too`, {
      hint: `keep one: the user:password@ (or token@) in the servers, or ${section}.user/password or token`,
    });
  const { username, password } = given[0]!;
  const servers = parts.map((p) => p.url);
  return password === undefined
    ? { servers, token: username }
    : { servers, user: username ?? '', pass: password };
}

/**
 * Connects to one NATS server the way a client upgrading to TLS does (the server's INFO line in
 * plaintext, then the handshake, then CONNECT and PING) and returns the error that ends it, or
 * undefined when the server answers or nothing happens within `timeoutMs`.
 */
export function probeNatsTls(
  server: string,
  tls: TlsOptions & { servername?: string },
  timeoutMs: number,
): Promise<Error | undefined> {
  const m = /^(?:\w+:\/\/)?(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/.exec(server);
  const host = (m?.[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
  const port = Number(m?.[2] ?? 4222);
  return new Promise((resolve) => {
    let secure: TLSSocket | undefined;
    const plain = netConnect({ host, port });
    const done = (err: Error | undefined) => {
      clearTimeout(timer);
      secure?.destroy();
      plain.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    plain.once('error', () => done(undefined));
    let info = '';
    plain.on('data', (d: Buffer) => {
      info += d.toString();
      if (!info.includes('\r\n') || secure) return;
      plain.removeAllListeners('data');
      secure = tlsConnect({
        socket: plain,
        servername: tls.servername ?? (isIP(host) ? undefined : host),
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
      });
      secure.once('secureConnect', () => secure?.write('CONNECT {"verbose":false}\r\nPING\r\n'));
      // Any answer (PONG, or -ERR about the account) means TLS is not the problem.
      secure.once('data', () => done(undefined));
      secure.once('error', (err: Error) => done(err));
    });
  });
}

export function explainNatsError(
  err: unknown,
  servers: readonly string[],
  section: string,
  tls?: NatsTlsConfig,
): ConnectionError {
  const e = err as { code?: string; message?: string };
  const where = `NATS at ${redactUrls(servers)}`;
  const msg = e.message ?? String(err);
  // Without a tls section too: nats.js starts TLS by itself when the server requires it.
  const tlsFailure = explainTlsFailure(err, {
    peer: 'NATS',
    where: redactUrls(servers),
    section: `${section}.tls`,
    tls,
    serverNameOption: true,
  });
  if (tlsFailure) return tlsFailure;
  // nats.js's check that the server offers what the options ask for: here, TLS.
  if (e.code === 'SERVER_OPT_NA' && /tls/i.test(msg))
    return new ConnectionError(`TLS to ${where} failed: the server does not offer TLS`, {
      cause: err,
      peer: 'NATS',
      hint: `point ${section}.servers at a NATS server with TLS, or remove ${section}.tls`,
    });
  if (e.code === 'AUTHORIZATION_VIOLATION' || /authorization|authentication/i.test(msg))
    return new ConnectionError(`${where} rejected the credentials: ${msg}`, {
      cause: err,
      hint: `check ${section}.user/password, token or credentials_file`,
    });
  if (e.code === 'CONNECTION_REFUSED' || /ECONNREFUSED|timeout|ENOTFOUND|EAI_AGAIN/i.test(msg))
    return new ConnectionError(`cannot reach ${where}: ${msg}`, {
      cause: err,
      retriable: true,
      peer: 'NATS',
      hint: `check ${section}.servers and that nats-server runs with JetStream enabled`,
    });
  return new ConnectionError(`${where} failed: ${msg}`, { cause: err });
}

/**
 * Whether a NATS error is worth retrying: timeouts, disconnects, no responders, the connection
 * state during a server restart; never a compare-and-set conflict.
 */
export function isTransientNatsError(err: unknown): boolean {
  if (isWrongLastSequence(err)) return false;
  const e = err as { code?: string; message?: string; api_error?: { code?: number } };
  if (e.api_error?.code !== undefined) return e.api_error.code >= 500;
  return (
    // '503' is the client's code for "no responders".
    [
      'TIMEOUT',
      'DISCONNECT',
      'CONNECTION_CLOSED',
      'CONNECTION_DRAINING',
      'CONNECTION_REFUSED',
      '503',
    ].includes(e.code ?? '') || /timeout|disconnect|no responders|closed/i.test(e.message ?? '')
  );
}

/**
 * The retry decision for a NATS call: a transient failure becomes a retriable ConnectionError
 * (same message, the NATS error as its cause); any other error is returned as it is - it carries
 * no `retriable` flag, so it is not retried.
 */
export function natsFailure(err: unknown): unknown {
  if (err instanceof WeirError || !isTransientNatsError(err)) return err;
  return new ConnectionError(describeError(err), { cause: err, retriable: true, peer: 'NATS' });
}

/** Compare-and-set conflict: the key exists, or was changed since the revision we read. */
export function isWrongLastSequence(err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } }).api_error?.err_code === 10071;
}

export interface BucketOptions {
  /** Entries older than this are removed by the server. */
  maxAgeMs: number;
  replicas: number;
  maxValueBytes: number;
  description: string;
}

export interface Bucket {
  kv: KV;
  jsm: JetStreamManager;
  /** Name of the stream behind the bucket. */
  stream: string;
}

/** Opens the bucket, creating it, and brings its age limit and value size up to date. */
export async function ensureBucket(
  nc: NatsConnection,
  name: string,
  opts: BucketOptions,
): Promise<Bucket> {
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  const kv = await js.views.kv(name, {
    history: 1,
    ttl: opts.maxAgeMs,
    replicas: opts.replicas,
    maxValueSize: opts.maxValueBytes,
    description: opts.description,
  });
  const stream = `KV_${name}`;
  const info = await jsm.streams.info(stream);
  const maxAgeNs = opts.maxAgeMs * 1_000_000;
  if (info.config.max_age !== maxAgeNs || info.config.max_msg_size < opts.maxValueBytes) {
    await jsm.streams.update(stream, {
      ...info.config,
      max_age: maxAgeNs,
      max_msg_size: Math.max(info.config.max_msg_size, opts.maxValueBytes),
    });
  }
  return { kv, jsm, stream };
}

/** `ensureBucket` with its failures explained: JetStream off, or no permission on the KV API. */
export async function openBucket(
  nc: NatsConnection,
  name: string,
  opts: BucketOptions,
  section: string,
): Promise<Bucket> {
  try {
    return await ensureBucket(nc, name, opts);
  } catch (err) {
    if (err instanceof WeirError) throw err;
    const msg = (err as Error).message ?? String(err);
    throw new ConnectionError(`cannot use the NATS KV bucket ${name}: ${msg}`, {
      cause: err,
      hint: /jetstream/i.test(msg)
        ? 'enable JetStream on the NATS server (nats-server -js)'
        : `check ${section} and the permissions of the NATS user on $JS.API.>`,
    });
  }
}

/**
 * Retries a state operation through transient NATS errors (disconnects, timeouts) for as long as
 * it takes or until `signal` aborts, logging the first failure and every tenth; other errors
 * reject at once. Backoff (core/retry.ts): the first delay up to `initialMs` (default 200),
 * doubling to a cap of 5 s.
 */
export function retryNats<T>(
  fn: () => Promise<T>,
  o: { what: string; logger: Logger; signal: AbortSignal; initialMs?: number },
): Promise<T> {
  const initialMs = o.initialMs ?? 200;
  return retry(
    () =>
      fn().catch((err: unknown) => {
        throw natsFailure(err);
      }),
    {
      initialMs,
      maxMs: Math.max(initialMs, 5000),
      signal: o.signal,
      onRetry: (err, attempt, delayMs) => {
        if (attempt === 1 || attempt % 10 === 0)
          o.logger.warn(
            { err: describeError(err), attempt, retry_in_ms: delayMs },
            `could not ${o.what}; retrying`,
          );
      },
    },
  );
}

/** Entries stay well under NATS's default 1 MiB max payload. */
const MAX_ENTRY_BYTES = 1_000_000;

/** A stateful stage's own connection and bucket. */
export interface StateBucket {
  bucket: Bucket;
  /** Largest value to write: under the server's max payload, with room for headers. */
  maxEntryBytes: number;
  /** Why NATS cannot be used right now, for readiness. */
  problem: () => string | undefined;
  /** Drains and closes the connection (safe to call twice). */
  close: () => Promise<void>;
}

/**
 * Connects for one stateful stage (`section` is its config path, e.g. `join.nats`), opens its
 * bucket and builds the stage with `build`. If any step fails the connection is closed and the
 * failure explained.
 */
export async function openStateBucket<T>(
  cfg: NatsConfig & { bucket: string },
  o: {
    client: string;
    section: string;
    logger: Logger;
    bucket: Omit<BucketOptions, 'maxValueBytes'>;
  },
  build: (state: StateBucket) => T,
): Promise<T> {
  const handle = await connectNats(cfg, o.client, o.logger, o.section);
  const { nc } = handle;
  try {
    const maxEntryBytes = Math.min(MAX_ENTRY_BYTES, nc.info?.max_payload ?? MAX_ENTRY_BYTES) - 1024;
    const bucket = await openBucket(
      nc,
      cfg.bucket,
      { ...o.bucket, maxValueBytes: maxEntryBytes },
      o.section,
    );
    return build({
      bucket,
      maxEntryBytes,
      problem: () => handle.problem(),
      close: async () => {
        if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
      },
    });
  } catch (err) {
    await nc.close().catch(() => undefined);
    if (err instanceof WeirError) throw err;
    throw explainNatsError(err, cfg.servers, o.section, cfg.tls);
  }
}

/**
 * Whether a KV bucket exists, creating nothing (`weir validate`): connects with the options of one
 * config section (`section`, e.g. `dedup.nats`), looks the bucket up and disconnects.
 */
export async function bucketExists(
  cfg: NatsConfig,
  bucket: string,
  o: { client: string; section: string; logger: Logger },
): Promise<boolean> {
  const { nc } = await connectNats(cfg, o.client, o.logger, o.section);
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.info(`KV_${bucket}`);
    return true;
  } catch (err) {
    const streamNotFound = 10059;
    if ((err as { api_error?: { err_code?: number } }).api_error?.err_code === streamNotFound)
      return false;
    const msg = describeError(err);
    throw new ConnectionError(`cannot look up the NATS KV bucket ${bucket}: ${msg}`, {
      cause: err,
      hint: /jetstream/i.test(msg)
        ? 'enable JetStream on the NATS server (nats-server -js)'
        : `check ${o.section} and the permissions of the NATS user on $JS.API.>`,
    });
  } finally {
    await nc.close().catch(() => undefined);
  }
}
