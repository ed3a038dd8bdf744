// Keyed state in a NATS JetStream KV bucket, per topic-partition:
//
//   d.<topic>.<partition>.<writer>.<n>       a delta: what changed since the previous persist
//   s.<topic>.<partition>.<snapshot>.<chunk> a snapshot chunk: the whole live state at snapshot time
//   m.<topic>.<partition>                    the manifest: which snapshot is current
//
// (`.` in a topic name is written `=`.) A rebuild reads the manifest, then every entry of the
// partition through one ordered consumer (a KV watch). A snapshot is written chunk by chunk, then
// the manifest (compare-and-set, so two writers cannot both win), then older snapshots and the
// deltas it covers are purged by sequence. The bucket's max age, if any, removes whatever outlives
// the stage's window.
import { randomBytes } from 'node:crypto';
import type { KV, KvEntry } from 'nats';
import { isWrongLastSequence, type Bucket } from '../nats.ts';
import type { KeyedStore, LoadedPartition } from './store.ts';

/** Give up on a rebuild that receives nothing for this long (the server pruned what it announced). */
const IDLE_TIMEOUT_MS = 15_000;

interface Manifest {
  snapshot: string;
  chunks: number;
}

const topicToken = (topic: string) => topic.replaceAll('.', '=');

export class NatsKeyedStore implements KeyedStore {
  private readonly writer = randomBytes(4).toString('hex');
  private sequence = 0;
  private readonly covered = new Map<string, number>();
  private readonly manifestRevision = new Map<string, number>();

  constructor(
    private readonly bucket: Bucket,
    private readonly bucketName: string,
    readonly maxEntryBytes: number,
  ) {}

  private base(topic: string, partition: number): string {
    return `${topicToken(topic)}.${partition}`;
  }

  async load(topic: string, partition: number): Promise<LoadedPartition> {
    const base = this.base(topic, partition);
    const { kv } = this.bucket;
    const m = await kv.get(`m.${base}`);
    const manifest = m && m.operation === 'PUT' && m.length > 0 ? m.json<Manifest>() : null;
    this.manifestRevision.set(base, m?.revision ?? 0);
    const entries: Uint8Array[] = [];
    let deltas = 0;
    let covered = 0;
    await readAll(kv, `*.${base}.>`, (e) => {
      if (e.operation !== 'PUT') return;
      const kind = e.key.charAt(0);
      if (kind === 'd') {
        entries.push(e.value);
        deltas++;
        covered = Math.max(covered, e.revision);
      } else if (kind === 's') {
        // Chunks of older or unfinished snapshots are left for the purge or the max age.
        const snapshot = e.key.split('.').at(-2);
        if (!manifest || snapshot === manifest.snapshot) entries.push(e.value);
      }
    });
    this.covered.set(base, Math.max(this.covered.get(base) ?? 0, covered));
    return { entries, deltas };
  }

  async append(topic: string, partition: number, entries: Uint8Array[]): Promise<void> {
    const base = this.base(topic, partition);
    const seqs = await Promise.all(
      entries.map((e) => this.bucket.kv.put(`d.${base}.${this.writer}.${this.sequence++}`, e)),
    );
    this.covered.set(base, Math.max(this.covered.get(base) ?? 0, ...seqs));
  }

  coverage(topic: string, partition: number): number {
    return this.covered.get(this.base(topic, partition)) ?? 0;
  }

  async snapshot(
    topic: string,
    partition: number,
    chunks: Uint8Array[],
    coverage: number,
  ): Promise<void> {
    const base = this.base(topic, partition);
    const { kv, jsm, stream } = this.bucket;
    const id = `${this.writer}-${this.sequence++}`;
    let first = Infinity;
    for (let i = 0; i < chunks.length; i++)
      first = Math.min(first, await kv.put(`s.${base}.${id}.${i}`, chunks[i]!));
    const manifest = new TextEncoder().encode(
      JSON.stringify({ snapshot: id, chunks: chunks.length } satisfies Manifest),
    );
    const revision = this.manifestRevision.get(base) ?? 0;
    let written: number;
    try {
      written =
        revision > 0
          ? await kv.update(`m.${base}`, manifest, revision)
          : await kv.create(`m.${base}`, manifest);
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
      // Another agent owns the partition now and wrote its own snapshot: drop ours.
      await jsm.streams.purge(stream, { filter: this.subject(`s.${base}.${id}.>`) });
      return;
    }
    this.manifestRevision.set(base, written);
    const firstOfSnapshot = chunks.length > 0 ? first : written;
    await jsm.streams.purge(stream, { filter: this.subject(`s.${base}.>`), seq: firstOfSnapshot });
    if (coverage > 0)
      await jsm.streams.purge(stream, { filter: this.subject(`d.${base}.>`), seq: coverage + 1 });
  }

  private subject(key: string): string {
    return `$KV.${this.bucketName}.${key}`;
  }
}

/**
 * Reads every entry under `key` that exists now (a KV watch: an ordered consumer, last value per
 * key), then stops. Fails if the server stops delivering before the end (entries pruned meanwhile).
 */
async function readAll(kv: KV, key: string, onEntry: (e: KvEntry) => void): Promise<void> {
  let initialized = false;
  const started: { watch?: { stop(): void } } = {};
  const watch = await kv.watch({
    key,
    initializedFn: () => {
      initialized = true;
      started.watch?.stop();
    },
  });
  started.watch = watch;
  if (initialized) {
    watch.stop();
    return;
  }
  let idle: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => watch.stop(), IDLE_TIMEOUT_MS);
  };
  arm();
  try {
    for await (const e of watch) {
      onEntry(e);
      arm();
    }
  } finally {
    clearTimeout(idle);
    watch.stop();
  }
  if (!initialized)
    throw new Error(`reading the state under ${key} stalled (nothing received for 15 s)`);
}
