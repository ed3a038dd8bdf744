// TLS for the three connections (Kafka, ClickHouse, NATS): reading and checking the files of a
// `tls` config section, and turning a failed handshake into one line that names the option to fix.
// TLS failures are configuration problems (a wrong CA, an expired or missing certificate): they
// are never retriable, so `weir run` stops at start with them instead of waiting for the service.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, ConnectionError, type Peer } from '../core/errors.ts';

export interface TlsFileOptions {
  ca_file?: string;
  cert_file?: string;
  key_file?: string;
}

/** The contents of the files, for tls.connect's ca, cert and key. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const readProblems: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
};

function readOption(section: string, key: keyof TlsFileOptions, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(
      `cannot read ${section}.${key} (${path}): ${readProblems[e.code ?? ''] ?? e.message}`,
      { hint: `fix the path in ${section}.${key}, or let the agent's user read the file` },
    );
  }
}

function certificate(section: string, key: 'ca_file' | 'cert_file', path: string, pem: Buffer) {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError(`${section}.${key} (${path}) holds no PEM certificate`, {
      hint: `give ${section}.${key} a PEM file (-----BEGIN CERTIFICATE-----)`,
    });
  }
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Reads the files of one tls section (`section` is its config path, e.g. `source.tls`) and checks
 * what can be checked without a server: each file is PEM, the key belongs to the certificate, the
 * client certificate is valid today. Every problem is a ConfigError naming the option.
 */
export function loadTlsFiles(tls: TlsFileOptions, section: string, now = new Date()): TlsMaterial {
  const out: TlsMaterial = {};
  if (tls.ca_file !== undefined) {
    out.ca = readOption(section, 'ca_file', tls.ca_file);
    certificate(section, 'ca_file', tls.ca_file, out.ca);
  }
  if (tls.cert_file === undefined || tls.key_file === undefined) return out;
  out.cert = readOption(section, 'cert_file', tls.cert_file);
  out.key = readOption(section, 'key_file', tls.key_file);
  const cert = certificate(section, 'cert_file', tls.cert_file, out.cert);
  let key;
  try {
    key = createPrivateKey(out.key);
  } catch {
    throw new ConfigError(
      `${section}.key_file (${tls.key_file}) holds no unencrypted PEM private key`,
      {
        hint: `give ${section}.key_file the key in PEM (-----BEGIN PRIVATE KEY-----), without a passphrase`,
      },
    );
  }
  if (!cert.checkPrivateKey(key))
    throw new ConfigError(
      `${section}.key_file (${tls.key_file}) is not the key of the certificate in ${section}.cert_file (${tls.cert_file})`,
      { hint: `give ${section}.key_file the private key the certificate was made for` },
    );
  // A server checking client certificates refuses an expired one, saying no more than "bad
  // certificate" (or nothing: TLS 1.3 reports it after the handshake), so say it here.
  const validTo = new Date(cert.validTo);
  const validFrom = new Date(cert.validFrom);
  if (validTo < now)
    throw new ConfigError(
      `the client certificate in ${section}.cert_file (${tls.cert_file}) expired on ${day(validTo)}`,
      { hint: `renew the certificate and point ${section}.cert_file and key_file at the new one` },
    );
  if (validFrom > now)
    throw new ConfigError(
      `the client certificate in ${section}.cert_file (${tls.cert_file}) is valid only from ${validFrom.toISOString()}`,
      { hint: "check this machine's clock, or use a certificate valid now" },
    );
  return out;
}

// ---------------------------------------------------------------- handshake failures

/** Node's codes for a server certificate that does not chain to a trusted CA. */
const untrustedCodes = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

/** Alerts a server sends when it refuses the client's certificate. */
const clientCertAlerts =
  /^ERR_SSL_(SSLV3|TLSV1)_ALERT_(BAD_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_UNKNOWN|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|UNKNOWN_CA|ACCESS_DENIED|DECRYPT_ERROR)$/;

/** What a plaintext server's answer to a TLS hello looks like to OpenSSL. */
const notTlsCodes = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_RECORD_LAYER_FAILURE',
]);

/** Our code for a connection closed during the handshake (Node says ECONNRESET). */
const HANGUP = 'TLS_HANDSHAKE_HANGUP';

interface Coded {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  /** nats.js keeps the underlying error here. */
  chainedError?: unknown;
}

/** The first error in `err`'s chain whose code is a TLS one, with that code. */
function findTlsError(err: unknown): { code: string; message: string } | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0 && seen.size < 20) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || seen.has(e)) continue;
    seen.add(e);
    const o = e as Coded;
    const code = typeof o.code === 'string' ? o.code : '';
    const message = typeof o.message === 'string' ? o.message : code;
    // Not ERR_TLS_HANDSHAKE_TIMEOUT: a server too slow to answer is an outage, not a config problem.
    if (untrustedCodes.has(code) || /^(CERT_|ERR_SSL_|ERR_TLS_CERT_ALTNAME_INVALID$)/.test(code))
      return { code, message };
    // Node reports a plaintext answer to its hello as EPROTO when it came while writing.
    if (code === 'EPROTO' && /wrong version number|packet length too long/.test(message))
      return { code: 'ERR_SSL_WRONG_VERSION_NUMBER', message };
    // A server that hangs up in the middle of the handshake: a plaintext port reading the hello
    // as garbage, or a TLS 1.2 server refusing the client's certificate.
    if (code === 'ECONNRESET' && /before secure TLS connection was established/.test(message))
      return { code: HANGUP, message };
    queue.push(o.cause, o.chainedError);
  }
  return undefined;
}

/** Node's message without OpenSSL's "error:0A000412:SSL routines::" and kafkajs's prefixes. */
function cleanDetail(message: string): string {
  return message
    .replace(/^(Connection error|Failed to connect):\s*/i, '')
    .replace(/^.*?error:[0-9A-F]+:[^:]*:[^:]*:/, '')
    .replace(/:\.\.\/.*$/s, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export interface TlsFailureContext {
  peer: Peer;
  /** The servers, as the message names them (e.g. 127.0.0.1:9095). */
  where: string;
  /** The config path of the tls section, e.g. `source.tls`. */
  section: string;
  /** The tls section as configured, if any. */
  tls?: TlsFileOptions;
  /** Whether the section has server_name (NATS): the fix for a name mismatch can use it. */
  serverNameOption?: boolean;
}

/**
 * Whether `err` (or one of its causes) is a TLS failure that retrying cannot fix: a certificate
 * refused by either side, or a server that does not speak TLS. Not a connection closed during the
 * handshake, which a restarting server causes too.
 */
export function isTlsFailure(err: unknown): boolean {
  const found = findTlsError(err);
  return found !== undefined && found.code !== HANGUP;
}

/**
 * If `err` is a failed TLS handshake, one line saying which side's certificate failed and which
 * option fixes it: not retriable, it is a configuration problem (except a hang-up, see above).
 * Otherwise undefined.
 */
export function explainTlsFailure(err: unknown, o: TlsFailureContext): ConnectionError | undefined {
  const found = findTlsError(err);
  if (!found) return undefined;
  const { code } = found;
  const s = o.section;
  const hasCa = o.tls?.ca_file !== undefined;
  const hasCert = o.tls?.cert_file !== undefined;
  let problem: string;
  let hint: string;
  if (untrustedCodes.has(code)) {
    problem = hasCa
      ? `the server's certificate is not signed by the CA in ${s}.ca_file`
      : `the server's certificate is not signed by a CA this machine trusts (${s}.ca_file is not set)`;
    hint = `set ${s}.ca_file to the PEM file of the CA that signed the server's certificate`;
  } else if (code === 'CERT_HAS_EXPIRED') {
    problem = "the server's certificate has expired";
    hint = `renew the certificate of ${o.peer} (and check this machine's clock)`;
  } else if (code === 'CERT_NOT_YET_VALID') {
    problem = "the server's certificate is not valid yet";
    hint = `check the clocks of this machine and of ${o.peer}`;
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    problem = "the server's certificate is not made out to this host name";
    hint = o.serverNameOption
      ? `connect with a name the certificate lists, or set ${s}.server_name to one`
      : 'connect with a host name or address the certificate lists';
  } else if (
    code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' ||
    // Without a certificate to complain about, any of these alerts means one is wanted (Kafka
    // sends "bad certificate").
    (!hasCert && (clientCertAlerts.test(code) || code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'))
  ) {
    problem = hasCert
      ? `the server did not accept the client certificate in ${s}.cert_file`
      : 'the server requires a client certificate';
    hint = `set ${s}.cert_file and ${s}.key_file to a client certificate signed by a CA that ${o.peer} trusts`;
  } else if (clientCertAlerts.test(code) || code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE') {
    problem = `the server refused the client certificate in ${s}.cert_file`;
    hint = `use a client certificate signed by a CA that ${o.peer} trusts (${s}.cert_file, ${s}.key_file)`;
  } else if (code === HANGUP) {
    problem = 'the server closed the connection during the handshake';
    hint = hasCert
      ? `check that this is a TLS port of ${o.peer} and that it trusts the client certificate in ${s}.cert_file`
      : `check that this is a TLS port of ${o.peer}; if it requires a client certificate, set ${s}.cert_file and ${s}.key_file`;
  } else if (notTlsCodes.has(code)) {
    problem = 'the server does not speak TLS on this port';
    hint = `point at the TLS port of ${o.peer}, or connect without TLS`;
  } else {
    problem = 'the handshake failed';
    hint = `check ${s} against the TLS settings of ${o.peer}`;
  }
  return new ConnectionError(
    `TLS to ${o.peer} at ${o.where} failed: ${problem} (${cleanDetail(found.message)})`,
    // A hang-up is also what a server restarting mid-handshake does: worth waiting for.
    { cause: err, retriable: code === HANGUP, peer: o.peer, hint },
  );
}
