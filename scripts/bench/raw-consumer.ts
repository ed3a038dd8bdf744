// The benchmark's "raw" contender, run as its own process: a kafkajs consumer group that reads
// every record of a topic and parses its JSON value, and does nothing else (no commits, no
// output). It is the ceiling for a Node consumer on this machine. It fetches with the settings
// Weir's source uses, so the difference to Weir is Weir's own work.
//
//   node --import tsx scripts/bench/raw-consumer.ts <brokers> <topic> <group> <events>
//
// Prints one JSON line when it has parsed <events> records ({"first_at","done_at","parsed",
// "bytes"}, epoch ms), then waits for SIGTERM so its CPU time can still be read from /proc.
import { Kafka, logLevel } from 'kafkajs';

const [brokers = '127.0.0.1:9092', topic, group, eventsText] = process.argv.slice(2);
if (!topic || !group || !eventsText) {
  process.stderr.write('usage: raw-consumer.ts <brokers> <topic> <group> <events>\n');
  process.exit(2);
}
const events = Number(eventsText);
const kafka = new Kafka({
  clientId: 'weir-bench-raw',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
});
// As the pipeline's consumer (src/pipeline/pipeline.ts) with the default source settings.
const maxBytesPerPartition = 1_048_576;
const consumer = kafka.consumer({
  groupId: group,
  maxBytesPerPartition,
  maxBytes: maxBytesPerPartition * 8,
  maxWaitTimeInMs: 200,
  allowAutoTopicCreation: false,
});

let parsed = 0;
let bytes = 0;
let firstAt = 0;
let reported = false;
let sink = 0;

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  autoCommit: false,
  partitionsConsumedConcurrently: 4,
  eachBatch: async ({ batch }) => {
    if (firstAt === 0) firstAt = Date.now();
    for (const m of batch.messages) {
      if (m.value === null) continue;
      const json = JSON.parse(m.value.toString('utf8')) as Record<string, unknown>;
      // Touch the result so the parse cannot be optimised away.
      if (json.event_id !== undefined) sink++;
      bytes += m.value.length;
      parsed++;
    }
    if (!reported && parsed >= events) {
      reported = true;
      process.stdout.write(
        `${JSON.stringify({ first_at: firstAt, done_at: Date.now(), parsed, bytes, with_id: sink })}\n`,
      );
    }
    return Promise.resolve();
  },
});

const stop = () => {
  void consumer.disconnect().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
