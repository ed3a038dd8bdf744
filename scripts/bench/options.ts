// The benchmark's command line, with every default visible here.

export interface BenchOptions {
  /** Events produced per run (including duplicates). */
  events: number;
  /** Pad every event to about this many bytes of JSON (a `note` field); 0 = ~250-byte orders. */
  recordBytes: number;
  /** source.max_in_flight_bytes of the agent; default: the config's default. */
  maxInFlightBytes: number | undefined;
  /** Fraction of events that repeat an earlier one. */
  dupRate: number;
  /** Partitions of the topic. */
  partitions: number;
  /** Runs of every measurement; the figures are their medians. */
  runs: number;
  /** Target events/s of the latency measurement. */
  rate: number;
  /** Duration of the latency measurement. */
  latencySeconds: number;
  /** Rows per insert at most (sink.clickhouse.batch.max_rows) in the throughput runs. */
  maxRows: number;
  /** Kafka engine consumers (kafka_num_consumers); default min(partitions, CPU cores). */
  kafkaEngineConsumers: number | undefined;
  /** Also run Weir at-least-once (exactly_once: off, plain MergeTree). */
  atLeastOnce: boolean;
  kafkaEngine: boolean;
  raw: boolean;
  latency: boolean;
  /** Write a V8 CPU profile of every throughput run of the agent into this folder. */
  cpuProf: string | undefined;
  /** Extra flags for the agent's node process, e.g. --max-semi-space-size=64. */
  nodeFlags: string[];
  /** Keep topics, tables and buckets for inspection. */
  keep: boolean;
  seed: number;
  /** Print the usage and do nothing else. */
  help: boolean;
}

export const defaults: BenchOptions = {
  events: 1_000_000,
  recordBytes: 0,
  maxInFlightBytes: undefined,
  dupRate: 0.1,
  partitions: 4,
  runs: 3,
  rate: 5000,
  latencySeconds: 60,
  maxRows: 50_000,
  kafkaEngineConsumers: undefined,
  atLeastOnce: true,
  kafkaEngine: true,
  raw: true,
  latency: true,
  cpuProf: undefined,
  nodeFlags: [],
  keep: false,
  seed: 1,
  help: false,
};

export const usage = `usage: npm run bench -- [options]
  --events N              events per run (default ${defaults.events})
  --record-bytes B        pad every event to about B bytes of JSON, e.g. 10240 (default: ~250-byte orders)
  --max-in-flight-bytes B the agent's source.max_in_flight_bytes (default: the config's, 64 MiB)
  --dup-rate R            fraction of duplicates (default ${defaults.dupRate})
  --partitions P          partitions of the topic (default ${defaults.partitions})
  --runs K                runs of every measurement; medians are reported (default ${defaults.runs})
  --rate E                events/s of the latency run (default ${defaults.rate})
  --latency-seconds S     duration of the latency run (default ${defaults.latencySeconds})
  --max-rows N            rows per insert at most in the throughput runs (default ${defaults.maxRows})
  --kafka-engine-consumers N   kafka_num_consumers (default: min(partitions, CPU cores))
  --no-at-least-once | --no-kafka-engine | --no-raw | --no-latency   skip a measurement
  --cpu-prof DIR          V8 CPU profiles of the agent's throughput runs into DIR
  --node-flags "F…"       extra node flags for the agent, e.g. "--max-semi-space-size=64"
  --seed S                generator seed (default ${defaults.seed})
  --keep                  keep topics, tables and NATS buckets
  -h, --help              this help`;

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const o: BenchOptions = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${usage}`);
      return v;
    };
    const num = (min: number, max = Number.MAX_SAFE_INTEGER, integer = true): number => {
      const v = Number(value());
      if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v)))
        throw new Error(
          `${a} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`,
        );
      return v;
    };
    switch (a) {
      case '--events':
        o.events = num(1000);
        break;
      case '--record-bytes':
        o.recordBytes = num(0, 1_000_000);
        break;
      case '--max-in-flight-bytes':
        o.maxInFlightBytes = num(1024);
        break;
      case '--dup-rate':
        o.dupRate = num(0, 0.9, false);
        break;
      case '--partitions':
        o.partitions = num(1, 256);
        break;
      case '--runs':
        o.runs = num(1, 99);
        break;
      case '--rate':
        o.rate = num(1, 1_000_000);
        break;
      case '--latency-seconds':
        o.latencySeconds = num(5, 3600);
        break;
      case '--max-rows':
        o.maxRows = num(1, 10_000_000);
        break;
      case '--kafka-engine-consumers':
        o.kafkaEngineConsumers = num(1, 16);
        break;
      case '--no-at-least-once':
        o.atLeastOnce = false;
        break;
      case '--no-kafka-engine':
        o.kafkaEngine = false;
        break;
      case '--no-raw':
        o.raw = false;
        break;
      case '--no-latency':
        o.latency = false;
        break;
      case '--cpu-prof':
        o.cpuProf = value();
        break;
      case '--node-flags':
        o.nodeFlags = value().split(/\s+/).filter(Boolean);
        if (o.nodeFlags.some((f) => !f.startsWith('--')))
          throw new Error(`--node-flags takes node options, each starting with --`);
        break;
      case '--seed':
        o.seed = num(0);
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--help':
      case '-h':
        o.help = true;
        break;
      default:
        throw new Error(`unknown option ${a}\n${usage}`);
    }
  }
  return o;
}
