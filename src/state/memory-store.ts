// An in-memory RevisionedStore with NATS KV's compare-and-set semantics, for unit tests.
import type { RevisionedStore } from './ledger.ts';

export class MemoryStore implements RevisionedStore {
  private data = new Map<string, { value: Uint8Array; revision: number }>();
  private seq = 0;
  get(key: string) {
    return Promise.resolve(this.data.get(key) ?? null);
  }
  create(key: string, value: Uint8Array) {
    if (this.data.has(key)) return Promise.reject(new Error('exists'));
    this.data.set(key, { value, revision: ++this.seq });
    return Promise.resolve(this.seq);
  }
  update(key: string, value: Uint8Array, revision: number) {
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
