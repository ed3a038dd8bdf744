// The lookup's memo (Stage.memo): what each round used, per partition, so a replayed batch carries
// exactly the rows of its first attempt even when the dimension changed in between.
//
// A round is one `process` call: one contiguous offset chunk of one partition. The journal keeps,
// per round, its offset range and the result of every distinct key its records used. `capture`
// serializes the rounds overlapping a range (identical results stored once); `restore` installs
// them, and until they are committed a record whose offset falls in a restored round takes its
// key's result from there - however the replay is cut into chunks.
import type { LookupResult } from './cache.ts';

interface Round {
  first: bigint;
  last: bigint;
  results: Map<string, LookupResult>;
}

/** The captured form: results interned in `values`; per round [first, last, [[key, index], ...]], index -1 a miss. */
export interface LookupMemoData {
  v: 1;
  values: unknown[][];
  rounds: [string, string, [string, number][]][];
}

const partitionKey = (topic: string, partition: number) => `${topic}/${partition}`;

export class LookupJournal {
  private readonly rounds = new Map<string, Round[]>();
  private readonly restored = new Map<string, Round[]>();

  /** Records what a round used. Rounds of a partition arrive in offset order. */
  record(
    topic: string,
    partition: number,
    first: bigint,
    last: bigint,
    results: Map<string, LookupResult>,
  ): void {
    const key = partitionKey(topic, partition);
    let list = this.rounds.get(key);
    if (!list) this.rounds.set(key, (list = []));
    // A redelivered chunk (after a seek) replaces what is journaled from its start on.
    while (list.length > 0 && list[list.length - 1]!.last >= first) list.pop();
    list.push({ first, last, results });
  }

  capture(topic: string, partition: number, from: string, to: string): LookupMemoData {
    const lo = BigInt(from);
    const hi = BigInt(to);
    const values: unknown[][] = [];
    const index = new Map<string, number>();
    const rounds: LookupMemoData['rounds'] = [];
    for (const r of this.rounds.get(partitionKey(topic, partition)) ?? []) {
      if (r.last < lo || r.first > hi) continue;
      const used: [string, number][] = [];
      for (const [k, result] of r.results) {
        if (result === null) {
          used.push([k, -1]);
          continue;
        }
        const text = JSON.stringify(result);
        let i = index.get(text);
        if (i === undefined) {
          i = values.length;
          values.push([...result]);
          index.set(text, i);
        }
        used.push([k, i]);
      }
      rounds.push([r.first.toString(), r.last.toString(), used]);
    }
    return { v: 1, values, rounds };
  }

  restore(topic: string, partition: number, data: unknown): void {
    const parsed = parseMemo(data);
    const key = partitionKey(topic, partition);
    const list = (this.restored.get(key) ?? []).concat(
      parsed.rounds.map(([first, last, used]) => ({
        first: BigInt(first),
        last: BigInt(last),
        results: new Map(used.map(([k, i]) => [k, i < 0 ? null : parsed.values[i]!])),
      })),
    );
    list.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    this.restored.set(key, list);
  }

  /** Whether a partition has restored rounds (the fast path skips the search otherwise). */
  hasRestored(topic: string, partition: number): boolean {
    return (this.restored.get(partitionKey(topic, partition))?.length ?? 0) > 0;
  }

  /** The restored result of `key` for the record at `offset`, or undefined when none applies. */
  restoredResult(
    topic: string,
    partition: number,
    offset: bigint,
    key: string,
  ): LookupResult | undefined {
    const list = this.restored.get(partitionKey(topic, partition));
    if (!list) return undefined;
    for (const r of list) {
      if (offset < r.first) return undefined;
      if (offset <= r.last) return r.results.get(key);
    }
    return undefined;
  }

  /** Offsets below `next` are committed: their rounds are no longer needed. */
  onCommit(topic: string, partition: number, next: string): void {
    const n = BigInt(next);
    const key = partitionKey(topic, partition);
    for (const map of [this.rounds, this.restored]) {
      const list = map.get(key);
      if (!list) continue;
      const kept = list.filter((r) => r.last >= n);
      if (kept.length === 0) map.delete(key);
      else map.set(key, kept);
    }
  }

  onRevoke(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    this.rounds.delete(key);
    this.restored.delete(key);
  }

  /** Rounds journaled (tests, gauges). */
  roundCount(topic: string, partition: number): number {
    return this.rounds.get(partitionKey(topic, partition))?.length ?? 0;
  }
}

function parseMemo(data: unknown): LookupMemoData {
  const d = data as Partial<LookupMemoData> | null;
  if (
    d === null ||
    typeof d !== 'object' ||
    d.v !== 1 ||
    !Array.isArray(d.values) ||
    !Array.isArray(d.rounds)
  )
    throw new Error('the lookup memo to restore is not one this version of Weir captured');
  return d as LookupMemoData;
}
