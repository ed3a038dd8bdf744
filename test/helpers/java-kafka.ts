// Kafka's own Java console producer and consumer, run from the jars the local stack runs the broker
// with (`npm run stack -- up` fetches them): a real non-kafkajs client, for interop tests.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stackContext } from '../../scripts/stack/context.ts';
import { kafkaLibDir } from '../../scripts/stack/services.ts';
import { endpoints } from './stack.ts';

export type JavaCodec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

function classpath(): string {
  const lib = kafkaLibDir(stackContext());
  if (!existsSync(lib))
    throw new Error(`no Kafka jars at ${lib}: run 'npm run stack -- up', which fetches them`);
  return `${lib}/*`;
}

/** Runs a Kafka tool's main class, feeding `stdin`; resolves with stdout, rejects on failure. */
function runTool(mainClass: string, args: string[], stdin = '', timeoutMs = 120_000) {
  const child = spawn(
    'java',
    [
      '-Xms64m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dlog4j.configuration=file:/dev/null',
      '-cp',
      classpath(),
      mainClass,
      ...args,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.end(stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ stdout: out, stderr: err, code });
    });
  });
}

/** Writes one record per line with kafka.tools.ConsoleProducer (acks=all, idempotent). */
export async function javaProduce(
  topic: string,
  lines: string[],
  opts: { compression: JavaCodec; properties?: Record<string, string> },
): Promise<void> {
  const properties = { acks: 'all', 'linger.ms': '50', ...opts.properties };
  const res = await runTool(
    'kafka.tools.ConsoleProducer',
    [
      '--bootstrap-server',
      endpoints.kafka,
      '--topic',
      topic,
      '--compression-codec',
      opts.compression,
      ...Object.entries(properties).flatMap(([k, v]) => ['--producer-property', `${k}=${v}`]),
    ],
    `${lines.join('\n')}\n`,
  );
  if (res.code !== 0)
    throw new Error(`the Java console producer exited with ${res.code}:\n${res.stderr}`);
}

/** Reads `count` record values from the start of a topic with Kafka's ConsoleConsumer. */
export async function javaConsume(
  topic: string,
  count: number,
  opts: { timeoutMs?: number } = {},
): Promise<string[]> {
  const res = await runTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
    '--bootstrap-server',
    endpoints.kafka,
    '--topic',
    topic,
    '--from-beginning',
    '--max-messages',
    String(count),
    '--timeout-ms',
    String(opts.timeoutMs ?? 30_000),
  ]);
  const values = res.stdout.split('\n').filter((l) => l !== '');
  if (res.code !== 0 && values.length < count)
    throw new Error(`the Java console consumer exited with ${res.code}:\n${res.stderr}`);
  return values;
}
