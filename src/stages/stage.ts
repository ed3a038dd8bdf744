// The processor contract: a batch of envelopes in, every one accounted for out (kept, dropped or
// dead-lettered). Stages own the batch they are given and may update envelopes in place.
import { RecordError } from '../core/errors.ts';
import type { FieldInfo } from '../core/fields.ts';
import type { Envelope, SourceRecord, StageOutput } from '../core/record.ts';
import { originOf } from '../core/record.ts';

export interface Stage {
  /** Unique within a pipeline, e.g. `parse` or `transform[2].rename`; the dead-letter `stage`. */
  readonly name: string;
  /** What the stage does, e.g. `parse`, `filter`, `rename`; a metric label. */
  readonly kind: string;
  process(batch: Envelope[]): StageOutput | Promise<StageOutput>;
  /**
   * Stateful stages (dedup, join) return a promise that resolves once the state derived from
   * every record processed so far is durable. The lane awaits it before committing offsets, so
   * state is never behind the offsets that depend on it.
   */
  checkpoint?(at?: BatchEnd): Promise<void>;
  /**
   * A stage whose output depends on the outside world (lookups) records what it used, per fetched
   * chunk of a partition, so that a replayed batch carries exactly the rows of its first attempt.
   * With exactly-once, the lane stores `capture` of a batch's range with the pending batch before
   * anything of it is written, and hands it back through `restore` before replaying that range.
   */
  memo?: StageMemo;
  /** The stage reads `Envelope.ingestedAt`: with exactly-once the lane records it per batch. */
  readonly usesIngestTime?: boolean;
  /** Called when the lane of a partition is created (assignment) or discarded (revocation). */
  onAssign?(topic: string, partition: number): Promise<void>;
  onRevoke?(topic: string, partition: number): void;
  /**
   * A stage that holds records back (the join, until a window closes) tells the lane the lowest
   * offset of the partition whose output is still to come: no batch is cut past it.
   */
  heldFrom?(topic: string, partition: number): string | undefined;
  /** Where the output of held records goes once they are decided; set by the partition's lane. */
  setRelease?(topic: string, partition: number, release: (out: StageOutput) => void): void;
  /** The lane committed the partition's offsets below `next`. */
  onCommit?(topic: string, partition: number, next: string): void;
  /** Releases resources at shutdown. Safe to call twice. */
  close?(): Promise<void>;
}

/** The batch a checkpoint precedes: its partition and last offset (inclusive). */
export interface BatchEnd {
  readonly topic: string;
  readonly partition: number;
  readonly last: string;
}

export interface StageMemo {
  /** What the records at offsets `from`…`to` (inclusive) of the partition used; JSON-serializable. */
  capture(topic: string, partition: number, from: string, to: string): unknown;
  /** Before a replay: the records at offsets in the captured range use these results. */
  restore(topic: string, partition: number, data: unknown): void;
}

/** A stage with the fields its rows carry afterwards, as planned at startup. */
export interface StagePlan {
  readonly stage: Stage;
  readonly fields: readonly FieldInfo[];
}

/** Returned by a record function to drop the record on purpose. */
export interface Drop {
  readonly drop: string;
}

export type RecordFn = (env: Envelope) => Envelope | Drop;

/**
 * Wraps a per-record function into a Stage. A thrown RecordError dead-letters that record; any
 * other error is a bug and fails the whole batch, so it cannot be silently dead-lettered.
 */
export function recordStage(name: string, kind: string, fn: RecordFn): Stage {
  return {
    name,
    kind,
    process(batch: Envelope[]): StageOutput {
      const output: StageOutput = { out: [], dropped: [], dead: [] };
      for (let i = 0; i < batch.length; i++) {
        const env = batch[i]!;
        let result: Envelope | Drop;
        try {
          result = fn(env);
        } catch (err) {
          if (!(err instanceof RecordError)) throw stageBug(name, env.source, err);
          output.dead.push({
            source: env.source,
            stage: name,
            reason: err.reason,
            detail: err.message,
          });
          continue;
        }
        if ('drop' in result) output.dropped.push({ env, reason: result.drop });
        else output.out.push(result);
      }
      return output;
    },
  };
}

/** Envelopes for freshly read records, ready for the parse stage. */
export function toEnvelopes(records: readonly SourceRecord[]): Envelope[] {
  const batch = new Array<Envelope>(records.length);
  for (let i = 0; i < records.length; i++) batch[i] = { source: records[i]!, row: {} };
  return batch;
}

function stageBug(stage: string, source: SourceRecord, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`stage ${stage} failed on record ${originOf(source)}: ${message}`, {
    cause: err,
  });
}
