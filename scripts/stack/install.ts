// Installs what the stack needs: Debian packages with apt, Kafka broker jars with Maven.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { kafkaLibDir, type ServiceDef, type StackContext } from './services.ts';

export class StackError extends Error {
  override name = 'StackError';
}

let aptUpdated = false;

function run(
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): { ok: boolean; output: string; stdout: string } {
  const res = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${res.stdout ?? ''}${res.stderr ?? ''}${res.error ? String(res.error) : ''}`;
  return { ok: res.status === 0, output, stdout: res.stdout ?? '' };
}

const lastLines = (text: string, n = 15): string => text.trim().split('\n').slice(-n).join('\n');

export function aptInstall(packages: string[], log: (msg: string) => void): void {
  if (packages.length === 0) return;
  const asRoot = process.getuid?.() === 0;
  const exec = (args: string[]) =>
    asRoot
      ? run(args[0]!, args.slice(1), { DEBIAN_FRONTEND: 'noninteractive' })
      : run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', ...args]);
  // Packages must not start their own system services: the stack runs them itself.
  if (asRoot && !existsSync('/usr/sbin/policy-rc.d')) {
    writeFileSync('/usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  }
  if (!aptUpdated) {
    log(`apt-get update (to install ${packages.join(', ')})`);
    const upd = exec(['apt-get', 'update']);
    if (!upd.ok)
      throw new StackError(
        `apt-get update failed; check network access to the Debian mirror and that you are root or have passwordless sudo.\n${lastLines(upd.output)}`,
      );
    aptUpdated = true;
  }
  log(`apt-get install ${packages.join(' ')}`);
  const res = exec(['apt-get', 'install', '-y', '--no-install-recommends', ...packages]);
  if (!res.ok)
    throw new StackError(
      `installing ${packages.join(', ')} with apt-get failed; run 'apt-get install ${packages.join(' ')}' by hand to see why.\n${lastLines(res.output)}`,
    );
}

export function ensureAptPackages(defs: ServiceDef[], log: (msg: string) => void): void {
  const missing = new Set<string>();
  for (const def of defs)
    for (const p of def.aptPackages) if (!existsSync(p.proves)) missing.add(p.pkg);
  if (!existsSync('/usr/bin/java')) missing.add('openjdk-17-jre-headless');
  // The stack's certificates are made with it (tls.ts), whichever services start.
  if (!existsSync('/usr/bin/openssl')) missing.add('openssl');
  aptInstall([...missing], log);
}

/** Kafka's log binding differs by major version: reload4j for 3.x, log4j2 for 4.x. */
function logDeps(version: string): string {
  const major = Number(version.split('.')[0]);
  if (major >= 4)
    return `
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>com.fasterxml.jackson.dataformat</groupId><artifactId>jackson-dataformat-yaml</artifactId><version>2.16.2</version></dependency>`;
  return `
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>`;
}

export function ensureKafkaJars(ctx: StackContext, log: (msg: string) => void): void {
  const lib = kafkaLibDir(ctx);
  if (existsSync(lib) && readdirSync(lib).some((f) => f.startsWith('kafka_2.13-'))) return;
  const work = dirname(lib);
  mkdirSync(work, { recursive: true });
  writeFileSync(
    join(work, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.weir.stack</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${ctx.kafkaVersion}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${ctx.kafkaVersion}</version></dependency>${logDeps(ctx.kafkaVersion)}
  </dependencies>
</project>
`,
  );
  log(`fetching Apache Kafka ${ctx.kafkaVersion} broker jars from Maven Central`);
  const tmp = `${lib}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const res = run('mvn', [
    '-q',
    '-B',
    '-f',
    join(work, 'pom.xml'),
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${tmp}`,
  ]);
  if (!res.ok)
    throw new StackError(
      `could not fetch Kafka ${ctx.kafkaVersion} from Maven Central (is the version published? try --kafka-version 3.9.1).\n${lastLines(res.output)}`,
    );
  renameSync(tmp, lib);
}

export function formatKafkaStorage(ctx: StackContext, configFile: string): void {
  const cp = `${kafkaLibDir(ctx)}/*`;
  const uuid = run('java', ['-cp', cp, 'kafka.tools.StorageTool', 'random-uuid']);
  const clusterId = uuid.stdout.trim().split('\n').pop()?.trim() ?? '';
  if (!uuid.ok || !/^[A-Za-z0-9_-]{22}$/.test(clusterId))
    throw new StackError(`kafka-storage random-uuid failed:\n${lastLines(uuid.output)}`);
  const res = run('java', [
    '-Dlog4j.configuration=file:/dev/null',
    '-cp',
    cp,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    configFile,
    '--add-scram',
    'SCRAM-SHA-256=[name=weir,password=weir-secret]',
    '--add-scram',
    'SCRAM-SHA-512=[name=weir,password=weir-secret]',
  ]);
  if (!res.ok)
    throw new StackError(`formatting Kafka's KRaft storage failed:\n${lastLines(res.output)}`);
}
