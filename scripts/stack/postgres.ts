// PostgreSQL for the local stack: Debian's server binaries run on a data directory of the stack's
// own, as the `postgres` system user when the stack runs as root (PostgreSQL refuses root).
// Conventions others rely on: role weir, password weir, database weir, on 127.0.0.1:5432, with
// scram-sha-256 password authentication over TCP and no Unix socket.
import { spawnSync } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PgConventions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export const postgresConventions: Readonly<PgConventions> = {
  host: '127.0.0.1',
  port: 5432,
  user: 'weir',
  password: 'weir',
  database: 'weir',
};

/** postgres://weir:weir@127.0.0.1:5432/weir */
export const postgresUrl = (c: PgConventions = postgresConventions): string =>
  `postgres://${c.user}:${c.password}@${c.host}:${c.port}/${c.database}`;

/** The same URL with the password masked, for logs and status lines. */
export const postgresUrlRedacted = (c: PgConventions = postgresConventions): string =>
  `postgres://${c.user}:***@${c.host}:${c.port}/${c.database}`;

const PG_LIB = '/usr/lib/postgresql';

/** The bin directory of the newest PostgreSQL server installed from Debian, if any. */
export function postgresBinDir(root = PG_LIB): string | undefined {
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .filter((v) => ['postgres', 'initdb'].every((b) => existsSync(join(root, v, 'bin', b))))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** The server's major version, from the bin directory's path (/usr/lib/postgresql/15/bin). */
export const binMajor = (binDir: string): string => binDir.split('/').at(-2) ?? '';

/**
 * Which user runs the server: the `postgres` system user (created by Debian's package) when this
 * process is root, else this process's own user (undefined: no switch).
 */
export function postgresOsUser(
  passwd = '/etc/passwd',
): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = existsSync(passwd)
    ? readFileSync(passwd, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('postgres:'))
    : undefined;
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error(
      "PostgreSQL refuses to run as root and there is no 'postgres' system user to run it as; reinstall Debian's package: apt-get install --reinstall postgresql-common",
    );
  return { name: 'postgres', uid: Number(uid), gid: Number(gid) };
}

/**
 * A SCRAM-SHA-256 verifier as PostgreSQL stores it (RFC 5802/7677). Creating the role with it
 * means the password itself is never sent to the server, nor echoed in any log.
 */
export function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = 4096,
): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** postgresql.conf of the stack's server: TCP on 127.0.0.1 only, no Unix socket. */
export function postgresConf(o: { hbaFile: string; identFile: string }): string {
  return [
    `hba_file = '${o.hbaFile}'`,
    `ident_file = '${o.identFile}'`,
    `listen_addresses = '${postgresConventions.host}'`,
    `port = ${postgresConventions.port}`,
    // No socket: nothing to connect to without a password, and no path length limit to hit.
    "unix_socket_directories = ''",
    "password_encryption = 'scram-sha-256'",
    'max_connections = 100',
    'shared_buffers = 128MB',
    'ssl = off',
    "log_destination = 'stderr'",
    'logging_collector = off',
    'log_min_messages = warning',
    'log_checkpoints = off',
    "log_line_prefix = '%m [%p] %q%u@%d '",
    "log_timezone = 'UTC'",
    "timezone = 'UTC'",
    "datestyle = 'iso, ymd'",
    "lc_messages = 'C'",
    '',
  ].join('\n');
}

/** pg_hba.conf: password (SCRAM) logins over TCP from 127.0.0.1, nothing else. */
export const postgresHba = [
  '# TYPE  DATABASE  USER  ADDRESS        METHOD',
  'host    all       all   127.0.0.1/32   scram-sha-256',
  '',
].join('\n');

/** SQL run once in single-user mode on a fresh cluster: the weir role (by verifier) and database. */
export function bootstrapSql(c: PgConventions = postgresConventions): string {
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return [
    `CREATE ROLE ${c.user} LOGIN PASSWORD ${quote(scramSha256Verifier(c.password))};`,
    `CREATE DATABASE ${c.database} OWNER ${c.user};`,
    '',
  ].join('\n');
}

export interface RunAs {
  uid: number;
  gid: number;
}

/** Runs a server tool (initdb, postgres --single) as the server's user. */
export function runPgTool(
  command: string,
  args: string[],
  user: RunAs | undefined,
  input?: string,
): { ok: boolean; output: string } {
  const res = spawnSync(command, args, {
    encoding: 'utf8',
    input,
    cwd: '/',
    env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    maxBuffer: 16 * 1024 * 1024,
  });
  const output = `${res.stdout ?? ''}${res.stderr ?? ''}${res.error ? String(res.error) : ''}`;
  return { ok: res.status === 0, output };
}
