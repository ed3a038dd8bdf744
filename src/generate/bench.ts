// Produce throughput benchmark: 200k events, unlimited rate, into a fresh topic that is deleted
// afterwards. Run: node --import tsx src/generate/bench.ts [brokers] [count]
import { randomUUID } from 'node:crypto';
import { describeError } from '../core/errors.ts';
import { createGeneratorKafka } from './kafka.ts';
import { resolveGeneratorOptions } from './options.ts';
import { runGenerator } from './producer.ts';

async function bench(): Promise<number> {
  const brokers = (process.argv[2] ?? '127.0.0.1:9092').split(',');
  const count = Number(process.argv[3] ?? 200_000);
  const topic = `weir-bench-${randomUUID()}`;
  const options = resolveGeneratorOptions({
    brokers,
    topic,
    count,
    rate: 0,
    dupRate: 0.1,
    badRate: 0.01,
  });
  try {
    const report = await runGenerator(options);
    const mb = report.bytes / 1e6 / (report.elapsedMs / 1000);
    process.stdout.write(
      `${report.counts.total} events (${report.messages} messages, ${report.partitions} partitions, keyed) in ${report.elapsedMs} ms: ${report.eventsPerSec} events/s, ${mb.toFixed(1)} MB/s\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`bench failed: ${describeError(err)}\n`);
    return 1;
  } finally {
    const admin = createGeneratorKafka(options).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

process.exitCode = await bench();
