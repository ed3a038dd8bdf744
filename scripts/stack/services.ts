// Service definitions for the local stack: where each binary comes from, its config, and how
// to tell that it really answers.
import {
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { request } from 'node:https';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import {
  binMajor,
  bootstrapSql,
  postgresBinDir,
  postgresConf,
  postgresConventions,
  postgresHba,
  postgresOsUser,
  postgresUrl,
  postgresUrlRedacted,
  runPgTool,
} from './postgres.ts';
import { tcpAsk } from './proc.ts';
import { tlsFiles } from './tls.ts';

export interface StackContext {
  root: string; // the state dir, e.g. <repo>/.weir/stack
  cacheDir: string; // download cache (Kafka jars), survives --fresh
  kafkaVersion: string;
}

export interface ServiceDef {
  name: string;
  ports: number[];
  /** Debian packages that must be installed, and a file proving each is. */
  aptPackages: { pkg: string; proves: string }[];
  /** Prepares config files; `fresh` means the data dir was just created. */
  prepare(ctx: StackContext): Promise<void> | void;
  command(ctx: StackContext): {
    command: string;
    args: string[];
    env?: NodeJS.ProcessEnv;
    /** Run as this user and group (a server that refuses root). */
    uid?: number;
    gid?: number;
  };
  ready(ctx: StackContext): Promise<boolean>;
  /** How long a cold start may take before it counts as failed. */
  startTimeoutMs: number;
  /** Where the service's own diagnostics go (besides stdout/stderr). */
  extraLog?(ctx: StackContext): string;
  /** The signal that asks for a clean shutdown (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** Extra words for the status line (a version, a URL without its password). */
  note?(ctx: StackContext): string | undefined;
}

export const dirs = (ctx: StackContext, name: string) => {
  const base = join(ctx.root, name);
  return { base, data: join(base, 'data'), conf: join(base, 'conf'), log: join(base, 'log') };
};

function ensureDirs(ctx: StackContext, name: string): ReturnType<typeof dirs> {
  const d = dirs(ctx, name);
  for (const p of [d.data, d.conf, d.log]) mkdirSync(p, { recursive: true });
  return d;
}

async function httpOk(url: string, expect?: RegExp): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) return false;
  const body = await res.text();
  return expect ? expect.test(body) : true;
}

/** A GET over https trusting only the stack's CA: the TLS listener answers with its certificate. */
function httpsOk(ctx: StackContext, port: number, path: string, expect: RegExp): Promise<boolean> {
  const ca = readFileSync(tlsFiles(ctx.root).ca);
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, ca, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && expect.test(body)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** A TLS handshake with the stack's CA and client certificate. */
function tlsHandshakeOk(ctx: StackContext, port: number): Promise<boolean> {
  const f = tlsFiles(ctx.root);
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(f.ca),
      cert: readFileSync(f.clientCert),
      key: readFileSync(f.clientKey),
      timeout: 2000,
    });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('secureConnect', () => done(socket.authorized));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

export const zookeeper: ServiceDef = {
  name: 'zookeeper',
  ports: [2181],
  aptPackages: [{ pkg: 'zookeeper', proves: '/usr/share/java/zookeeper.jar' }],
  startTimeoutMs: 30_000,
  prepare(ctx) {
    const d = ensureDirs(ctx, 'zookeeper');
    writeFileSync(
      join(d.conf, 'zoo.cfg'),
      [
        'tickTime=2000',
        `dataDir=${d.data}`,
        'clientPort=2181',
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=ruok,srvr,stat',
        'maxClientCnxns=200',
        '',
      ].join('\n'),
    );
  },
  command(ctx) {
    const d = dirs(ctx, 'zookeeper');
    return {
      command: 'java',
      args: [
        '-Xmx256m',
        '-cp',
        `${d.conf}:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar`,
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        join(d.conf, 'zoo.cfg'),
      ],
    };
  },
  async ready() {
    // `ruok` answers imok as soon as the process runs; `srvr` reports a mode only once the server
    // serves sessions. ClickHouse opens its Replicated tables at start and exits if it cannot.
    return /^Mode: standalone$/m.test(await tcpAsk(2181, 'srvr'));
  },
};

export const clickhouse: ServiceDef = {
  name: 'clickhouse',
  ports: [8123, 8443, 9000, 9009],
  aptPackages: [
    { pkg: 'clickhouse-server', proves: '/usr/sbin/clickhouse-server' },
    { pkg: 'clickhouse-client', proves: '/usr/bin/clickhouse-client' },
  ],
  startTimeoutMs: 60_000,
  extraLog: (ctx) => join(dirs(ctx, 'clickhouse').log, 'clickhouse-server.err.log'),
  prepare(ctx) {
    const d = ensureDirs(ctx, 'clickhouse');
    const tls = tlsFiles(ctx.root);
    for (const sub of ['tmp', 'user_files', 'format_schemas'])
      mkdirSync(join(d.data, sub), { recursive: true });
    // <yandex> is the root element the Debian 18.16 server understands; newer servers accept it too.
    writeFileSync(
      join(d.conf, 'config.xml'),
      `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>${d.log}/clickhouse-server.log</log>
    <errorlog>${d.log}/clickhouse-server.err.log</errorlog>
    <size>100M</size>
    <count>2</count>
    <console>0</console>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>8123</http_port>
  <!-- HTTPS beside HTTP, with the stack's certificates (scripts/stack/tls.ts). relaxed: a client
       certificate is checked against the CA when one is sent, and not required. 18.16 needs no
       DH parameters file. -->
  <https_port>8443</https_port>
  <openSSL>
    <server>
      <certificateFile>${tls.serverCert}</certificateFile>
      <privateKeyFile>${tls.serverKey}</privateKeyFile>
      <caConfig>${tls.ca}</caConfig>
      <verificationMode>relaxed</verificationMode>
      <loadDefaultCAFile>false</loadDefaultCAFile>
      <cacheSessions>true</cacheSessions>
      <disableProtocols>sslv2,sslv3</disableProtocols>
      <preferServerCiphers>true</preferServerCiphers>
      <!-- Poco's default asks on the console whether to accept a bad client certificate. -->
      <invalidCertificateHandler><name>RejectCertificateHandler</name></invalidCertificateHandler>
    </server>
  </openSSL>
  <tcp_port>9000</tcp_port>
  <interserver_http_port>9009</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <max_connections>1024</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>${d.data}/</path>
  <tmp_path>${d.data}/tmp/</tmp_path>
  <user_files_path>${d.data}/user_files/</user_files_path>
  <format_schema_path>${d.data}/format_schemas/</format_schema_path>
  <users_config>${d.conf}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
  <zookeeper>
    <node index="1"><host>127.0.0.1</host><port>2181</port></node>
    <session_timeout_ms>30000</session_timeout_ms>
  </zookeeper>
  <macros>
    <shard>01</shard>
    <replica>weir-local-1</replica>
  </macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
`,
    );
    writeFileSync(
      join(d.conf, 'users.xml'),
      `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
    <readonly><readonly>1</readonly></readonly>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <!-- A password-protected user, so credential handling is tested against a real server. -->
    <weir>
      <password>weir-secret</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </weir>
  </users>
  <quotas>
    <default>
      <interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval>
    </default>
  </quotas>
</yandex>
`,
    );
  },
  command(ctx) {
    const d = dirs(ctx, 'clickhouse');
    return { command: '/usr/sbin/clickhouse-server', args: [`--config-file=${d.conf}/config.xml`] };
  },
  async ready(ctx) {
    if (!(await httpOk('http://127.0.0.1:8123/ping', /Ok/))) return false;
    if (!(await httpOk('http://127.0.0.1:8123/?query=SELECT%201', /^1\s*$/))) return false;
    return httpsOk(ctx, 8443, '/ping', /Ok/);
  },
};

/**
 * nats-server with JetStream: its listener lines (`listen`), then what both NATS servers share
 * (payload size, a store of their own).
 */
function natsServer(o: {
  name: string;
  ports: number[];
  listen: (ctx: StackContext) => string[];
  memoryStore: string;
  fileStore: string;
  ready: (ctx: StackContext) => Promise<boolean>;
}): ServiceDef {
  return {
    name: o.name,
    ports: o.ports,
    aptPackages: [{ pkg: 'nats-server', proves: '/usr/sbin/nats-server' }],
    startTimeoutMs: 20_000,
    prepare(ctx) {
      const d = ensureDirs(ctx, o.name);
      writeFileSync(
        join(d.conf, 'nats.conf'),
        [
          ...o.listen(ctx),
          'max_payload: 8MB',
          'jetstream {',
          `  store_dir: "${d.data}"`,
          `  max_memory_store: ${o.memoryStore}`,
          `  max_file_store: ${o.fileStore}`,
          '}',
          '',
        ].join('\n'),
      );
    },
    command(ctx) {
      const d = dirs(ctx, o.name);
      return { command: '/usr/sbin/nats-server', args: ['-c', join(d.conf, 'nats.conf')] };
    },
    ready: o.ready,
  };
}

export const nats = natsServer({
  name: 'nats',
  ports: [4222, 8222],
  listen: () => ['listen: "127.0.0.1:4222"', 'http: "127.0.0.1:8222"', 'server_name: "weir-local"'],
  memoryStore: '1GB',
  fileStore: '20GB',
  ready: () => httpOk('http://127.0.0.1:8222/healthz?js-enabled-only=true'),
});

/**
 * A second NATS server that only speaks TLS and requires client certificates (verify): nats-server
 * 2.9 cannot serve plaintext and TLS clients on one port. Its own JetStream store: state written
 * over TLS stays apart from the plaintext server's.
 */
export const natsTls = natsServer({
  name: 'nats-tls',
  ports: [4223],
  listen: (ctx) => {
    const tls = tlsFiles(ctx.root);
    return [
      'listen: "127.0.0.1:4223"',
      'server_name: "weir-local-tls"',
      'tls {',
      `  cert_file: "${tls.serverCert}"`,
      `  key_file: "${tls.serverKey}"`,
      `  ca_file: "${tls.ca}"`,
      '  verify: true',
      // The default (0.5 s) is short for a handshake on a busy 2-core machine.
      '  timeout: 5',
      '}',
    ];
  },
  memoryStore: '256MB',
  fileStore: '4GB',
  async ready(ctx) {
    // Connected over TLS with the client certificate, and JetStream answers.
    const { connect } = await import('nats');
    const f = tlsFiles(ctx.root);
    const nc = await connect({
      servers: '127.0.0.1:4223',
      timeout: 2000,
      reconnect: false,
      tls: {
        ca: readFileSync(f.ca, 'utf8'),
        cert: readFileSync(f.clientCert, 'utf8'),
        key: readFileSync(f.clientKey, 'utf8'),
      },
    });
    try {
      await (await nc.jetstreamManager({ timeout: 2000 })).getAccountInfo();
      return true;
    } finally {
      await nc.close();
    }
  },
});

export function kafkaLibDir(ctx: StackContext): string {
  return join(ctx.cacheDir, `kafka-${ctx.kafkaVersion}`, 'lib');
}

export const kafka: ServiceDef = {
  name: 'kafka',
  ports: [9092, 9093, 9094, 9095],
  aptPackages: [{ pkg: 'maven', proves: '/usr/bin/mvn' }],
  startTimeoutMs: 90_000,
  prepare(ctx) {
    const d = ensureDirs(ctx, 'kafka');
    const tls = tlsFiles(ctx.root);
    writeFileSync(
      join(d.conf, 'server.properties'),
      [
        'process.roles=broker,controller',
        'node.id=1',
        'controller.quorum.voters=1@127.0.0.1:9093',
        'listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,SASL_PLAINTEXT://127.0.0.1:9094,SSL://127.0.0.1:9095',
        'advertised.listeners=PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9094,SSL://127.0.0.1:9095',
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL',
        // Port 9095 is TLS with the stack's certificates (scripts/stack/tls.ts), read as PEM, and
        // requires a client certificate signed by the stack's CA: mutual TLS is tested for real.
        'listener.name.ssl.ssl.keystore.type=PEM',
        `listener.name.ssl.ssl.keystore.location=${tls.serverKeystore}`,
        'listener.name.ssl.ssl.truststore.type=PEM',
        `listener.name.ssl.ssl.truststore.location=${tls.ca}`,
        'listener.name.ssl.ssl.client.auth=required',
        // Port 9094 takes SASL so credential handling is tested for real; the user is weir/weir-secret.
        // OAUTHBEARER uses Kafka's built-in validator of unsecured (unsigned) JWTs: it checks the
        // token's form, subject and expiry, which is what a client can get wrong.
        'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
        'listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="weir";',
        // Sessions end when the token expires (or after a minute): clients must re-authenticate
        // with a fresh token, so token refresh is tested for real.
        'listener.name.sasl_plaintext.oauthbearer.connections.max.reauth.ms=60000',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_weir="weir-secret";',
        'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
        'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
        `log.dirs=${d.data}`,
        'num.partitions=1',
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=8',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'group.initial.rebalance.delay.ms=0',
        'auto.create.topics.enable=false',
        'log.retention.hours=24',
        'log.segment.bytes=268435456',
        'num.network.threads=2',
        'num.io.threads=4',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(d.conf, 'log4j.properties'),
      [
        'log4j.rootLogger=WARN, stdout',
        'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
        'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
        'log4j.logger.kafka.server.BrokerServer=INFO',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(d.conf, 'log4j2.yaml'),
      [
        'Configuration:',
        '  Appenders:',
        '    Console:',
        '      name: STDOUT',
        '      PatternLayout:',
        '        Pattern: "[%d] %p %m (%c)%n"',
        '  Loggers:',
        '    Root:',
        '      level: WARN',
        '      AppenderRef:',
        '        - ref: STDOUT',
        '',
      ].join('\n'),
    );
  },
  command(ctx) {
    const d = dirs(ctx, 'kafka');
    return {
      command: 'java',
      args: [
        '-Xms256m',
        '-Xmx1g',
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-Djava.awt.headless=true',
        `-Dlog4j.configuration=file:${d.conf}/log4j.properties`,
        `-Dlog4j2.configurationFile=${d.conf}/log4j2.yaml`,
        '-cp',
        `${kafkaLibDir(ctx)}/*`,
        'kafka.Kafka',
        join(d.conf, 'server.properties'),
      ],
    };
  },
  async ready(ctx) {
    if (!(await tlsHandshakeOk(ctx, 9095))) return false;
    const { Kafka, logLevel } = await import('kafkajs');
    const admin = new Kafka({
      clientId: 'weir-stack',
      brokers: ['127.0.0.1:9092'],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 1000,
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
};

/** Where Debian puts the server when none is installed yet: proves nothing exists, so apt runs. */
const PG_MISSING = '/usr/lib/postgresql/(none)/bin/postgres';

function requirePgBin(): string {
  const bin = postgresBinDir();
  if (!bin)
    throw new Error(
      "no PostgreSQL server under /usr/lib/postgresql; install Debian's package: apt-get install postgresql",
    );
  return bin;
}

const lastLines = (text: string, n = 15): string => text.trim().split('\n').slice(-n).join('\n');

/**
 * PostgreSQL's data and config. As root the server runs as the 'postgres' system user, which must
 * reach them: when the checkout is somewhere it cannot enter (a 0700 home or temporary folder),
 * they live under /var/lib/weir-stack/<hash of the state dir> instead (logs stay in the stack).
 */
function pgDirs(ctx: StackContext): ReturnType<typeof dirs> {
  const d = dirs(ctx, 'postgres');
  const user = postgresOsUser();
  if (!user) return d;
  mkdirSync(ctx.root, { recursive: true });
  if (runPgTool('/usr/bin/test', ['-x', ctx.root], user).ok) return d;
  const alt = join(
    '/var/lib/weir-stack',
    createHash('sha1').update(ctx.root).digest('hex').slice(0, 12),
  );
  return { ...d, data: join(alt, 'data'), conf: join(alt, 'conf') };
}

export const postgres: ServiceDef = {
  name: 'postgres',
  ports: [postgresConventions.port],
  get aptPackages() {
    const bin = postgresBinDir();
    return [{ pkg: 'postgresql', proves: bin ? join(bin, 'postgres') : PG_MISSING }];
  },
  startTimeoutMs: 60_000,
  // SIGINT is PostgreSQL's fast shutdown: it ends the sessions, checkpoints and exits. SIGTERM
  // (smart) would wait for every client to disconnect.
  stopSignal: 'SIGINT',
  prepare(ctx) {
    const d = pgDirs(ctx);
    for (const p of [d.data, d.conf, d.log]) mkdirSync(p, { recursive: true });
    const bin = requirePgBin();
    const user = postgresOsUser();
    writeFileSync(join(d.conf, 'pg_hba.conf'), postgresHba);
    writeFileSync(join(d.conf, 'pg_ident.conf'), '');
    writeFileSync(
      join(d.conf, 'postgresql.conf'),
      postgresConf({
        hbaFile: join(d.conf, 'pg_hba.conf'),
        identFile: join(d.conf, 'pg_ident.conf'),
      }),
    );
    // The server's user must reach its data: every parent needs search (x) permission for it.
    if (user) {
      const probe = runPgTool('/usr/bin/test', ['-r', join(d.conf, 'postgresql.conf')], user);
      if (!probe.ok)
        throw new Error(
          `the 'postgres' system user cannot reach ${d.base} (PostgreSQL refuses to run as root, so the stack runs it as 'postgres'); give every parent directory search permission (see 'namei -l ${d.base}', then chmod o+x on those lacking it) or set WEIR_STACK_DIR to a directory it can reach`,
        );
    }
    const versionFile = join(d.data, 'PG_VERSION');
    if (existsSync(versionFile)) {
      const had = readFileSync(versionFile, 'utf8').trim();
      if (had !== binMajor(bin))
        throw new Error(
          `the postgres data in ${d.data} was made by PostgreSQL ${had}, but the server installed is ${binMajor(bin)}; move that directory away (or delete it: rm -rf ${d.data}) and run 'npm run stack -- up --only postgres' to make a new one`,
        );
      return;
    }
    // First start: initdb into a side directory, create the weir role and database there in
    // single-user mode, then move it into place, so a failure half-way leaves no cluster behind.
    const init = `${d.data}.init`;
    rmSync(init, { recursive: true, force: true });
    mkdirSync(init, { mode: 0o700 });
    if (user) chownSync(init, user.uid, user.gid);
    const initdb = runPgTool(
      join(bin, 'initdb'),
      [
        '-D',
        init,
        '--username=postgres',
        '--auth-local=reject',
        '--auth-host=reject',
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      user,
    );
    if (!initdb.ok) throw new Error(`initdb failed for ${init}:\n${lastLines(initdb.output)}`);
    // The role's password goes in as a SCRAM verifier: the server never sees it in clear.
    const boot = runPgTool(
      join(bin, 'postgres'),
      ['--single', '-D', init, '-c', 'log_min_messages=warning', 'postgres'],
      user,
      bootstrapSql(),
    );
    if (!boot.ok || /\b(ERROR|FATAL|PANIC):/.test(boot.output))
      throw new Error(
        `creating the weir role and database in ${init} failed:\n${lastLines(boot.output.replace(/SCRAM-SHA-256\$[^'\s]*/g, 'SCRAM-SHA-256$***'))}`,
      );
    rmSync(d.data, { recursive: true, force: true });
    renameSync(init, d.data);
  },
  command(ctx) {
    const d = pgDirs(ctx);
    const user = postgresOsUser();
    return {
      command: join(requirePgBin(), 'postgres'),
      args: ['-D', d.data, '-c', `config_file=${join(d.conf, 'postgresql.conf')}`],
      env: { LC_ALL: 'C', LANG: 'C' },
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    };
  },
  async ready() {
    // A real login as weir with its password, and a query: the conventions hold, not just a port.
    const { default: pg } = await import('pg');
    const client = new pg.Client({
      connectionString: postgresUrl(),
      connectionTimeoutMillis: 2000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const res = await client.query<{ u: string }>('SELECT current_user AS u');
      return res.rows[0]?.u === postgresConventions.user;
    } finally {
      await client.end().catch(() => undefined);
    }
  },
  note(ctx) {
    const version = join(pgDirs(ctx).data, 'PG_VERSION');
    const v = existsSync(version) ? ` postgres ${readFileSync(version, 'utf8').trim()}` : '';
    return `${v} ${postgresUrlRedacted()}`;
  },
};

export const services: ServiceDef[] = [zookeeper, clickhouse, nats, natsTls, kafka, postgres];

export function kafkaFormatted(ctx: StackContext): boolean {
  return existsSync(join(dirs(ctx, 'kafka').data, 'meta.properties'));
}
