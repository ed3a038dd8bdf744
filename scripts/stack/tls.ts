// Certificates for the stack's TLS listeners and for TLS tests, made with the openssl command line
// (Debian's package; nothing is downloaded). Generated once per state dir, at `stack up`, and kept:
// the services and the tests read the same files.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';

/** The files under <state dir>/tls, by role. */
export interface TlsFiles {
  dir: string;
  /** The CA that signs every certificate below except otherCa's. */
  ca: string;
  /** Server certificate for 127.0.0.1 and localhost, followed by the CA (the chain servers send). */
  serverCert: string;
  serverKey: string;
  /** Key and chain in one file: a Kafka PEM keystore. */
  serverKeystore: string;
  /** Client certificate (CN weir-client) signed by the CA, for mutual TLS. */
  clientCert: string;
  clientKey: string;
  /** An unrelated CA: trusting it instead of ca must fail every handshake. */
  otherCa: string;
  /** Signed by the CA but valid only in 2020: expired. */
  expiredClientCert: string;
  expiredClientKey: string;
  expiredServerCert: string;
  expiredServerKey: string;
}

export function tlsFiles(root: string): TlsFiles {
  const dir = join(root, 'tls');
  const f = (name: string) => join(dir, name);
  return {
    dir,
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    serverKeystore: f('server-keystore.pem'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    otherCa: f('other-ca.pem'),
    expiredClientCert: f('expired-client.pem'),
    expiredClientKey: f('expired-client.key'),
    expiredServerCert: f('expired-server.pem'),
    expiredServerKey: f('expired-server.key'),
  };
}

function openssl(args: string[], cwd: string): void {
  const res = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (res.status !== 0)
    throw new Error(
      `openssl ${args.slice(0, 2).join(' ')} failed: ${(res.stderr || String(res.error)).trim()}`,
    );
}

// `openssl ca` is used for every signature because it alone (in OpenSSL 3.0) takes explicit
// validity dates, which the expired certificates need. It wants a database and a serial file.
const caConfig = `[ ca ]
default_ca = weir
[ weir ]
dir = .
database = ./index.txt
new_certs_dir = ./issued
serial = ./serial
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
[ any ]
commonName = supplied
[ server ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[ client ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
`;

/**
 * `openssl req` making `<name>.key` and, from `out`, a certificate or a request for `/CN=<cn>`.
 * -nodes: unencrypted PKCS#8 keys, which Kafka's PEM keystore, NATS and Node all read.
 */
const newKey = (name: string, cn: string, out: string) => [
  'req',
  '-newkey',
  'rsa:2048',
  '-nodes',
  '-keyout',
  `${name}.key`,
  '-out',
  out,
  '-subj',
  `/CN=${cn}`,
];

/** A self-signed CA: `<name>.pem` and `<name>.key` in `dir`. */
function makeCa(dir: string, name: string, cn: string): void {
  openssl(
    [
      ...newKey(name, cn, `${name}.pem`),
      '-x509',
      '-days',
      '3650',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

/** A key and a certificate signed by ca.pem: valid ten years, or between the given dates. */
function makeSigned(
  dir: string,
  name: string,
  cn: string,
  ext: 'server' | 'client',
  dates?: { start: string; end: string },
): void {
  openssl(newKey(name, cn, `${name}.csr`), dir);
  const validity = dates ? ['-startdate', dates.start, '-enddate', dates.end] : ['-days', '3650'];
  openssl(
    [
      'ca',
      '-batch',
      '-notext',
      '-config',
      'ca.cnf',
      '-extensions',
      ext,
      '-cert',
      'ca.pem',
      '-keyfile',
      'ca.key',
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.pem`,
      ...validity,
    ],
    dir,
  );
  rmSync(join(dir, `${name}.csr`));
}

/**
 * Makes the certificates unless they are all there. They are made in a scratch dir renamed into
 * place, so a stack started concurrently, or a run interrupted, never leaves a half-made set.
 */
export function ensureTlsFiles(root: string, log: (msg: string) => void): TlsFiles {
  const files = tlsFiles(root);
  const wanted = (Object.keys(files) as (keyof TlsFiles)[])
    .filter((k) => k !== 'dir')
    .map((k) => files[k]);
  if (wanted.every((p) => existsSync(p))) return files;
  log(`generating TLS certificates in ${files.dir}`);
  mkdirSync(root, { recursive: true });
  const tmp = `${files.dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'issued'), { recursive: true });
  writeFileSync(join(tmp, 'ca.cnf'), caConfig);
  writeFileSync(join(tmp, 'index.txt'), '');
  writeFileSync(join(tmp, 'serial'), '1000\n');
  makeCa(tmp, 'ca', 'Weir local stack CA');
  makeCa(tmp, 'other-ca', 'Unrelated CA');
  makeSigned(tmp, 'server', 'localhost', 'server');
  makeSigned(tmp, 'client', 'weir-client', 'client');
  const in2020 = { start: '20200101000000Z', end: '20201231000000Z' };
  makeSigned(tmp, 'expired-server', 'localhost', 'server', in2020);
  makeSigned(tmp, 'expired-client', 'weir-client', 'client', in2020);
  const read = (name: string) => readFileSync(join(tmp, name), 'utf8');
  // Servers send their certificate and the CA, as most deployments do (a full chain).
  const chain = read('server.pem') + read('ca.pem');
  writeFileSync(join(tmp, 'server.pem'), chain);
  writeFileSync(join(tmp, 'server-keystore.pem'), read('server.key') + chain);
  // Only the files above stay: the CA keys are not needed any more, nothing else is signed.
  const keep = new Set(wanted.map((p) => basename(p)));
  for (const name of readdirSync(tmp))
    if (!keep.has(name)) rmSync(join(tmp, name), { recursive: true, force: true });
  rmSync(files.dir, { recursive: true, force: true });
  try {
    renameSync(tmp, files.dir);
  } catch (err) {
    // Another `stack up` got there first: use its certificates.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(files.ca)) throw err;
  }
  return files;
}
