// An in-memory RevisionedStore with NATS KV's compare-and-set semantics, for unit tests.
import type { RevisionedStore } from './ledger.ts';

export class MemoryStore implements RevisionedStore {
  private data = new Map<string, { value: Uint8Array; revision: number }>();
  private seq = 0;

  /** With a size, bigger values are refused as a NATS bucket refuses them. */
  constructor(readonly maxValueBytes?: number) {}

  private tooBig(value: Uint8Array): Promise<never> | undefined {
    if (this.maxValueBytes !== undefined && value.length > this.maxValueBytes)
      return Promise.reject(new Error('message size exceeds maximum allowed'));
    return undefined;
  }
  get(key: string) {
    return Promise.resolve(this.data.get(key) ?? null);
  }
  create(key: string, value: Uint8Array) {
    const big = this.tooBig(value);
    if (big) return big;
    if (this.data.has(key)) return Promise.reject(new Error('exists'));
    this.data.set(key, { value, revision: ++this.seq });
    return Promise.resolve(this.seq);
  }
  update(key: string, value: Uint8Array, revision: number) {
    const big = this.tooBig(value);
    if (big) return big;
    if (this.data.get(key)?.revision !== revision)
      return Promise.reject(new Error('wrong last sequence'));
    this.data.set(key, { value, revision: ++this.seq });
    return Promise.resolve(this.seq);
  }
  delete(key: string) {
    this.data.delete(key);
    return Promise.resolve();
  }
  get size(): number {
    return this.data.size;
  }
}
