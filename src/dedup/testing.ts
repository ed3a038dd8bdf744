// An in-memory GlobalStore with the NATS store's semantics, for unit tests.
import type { Claim, GlobalStore } from './global-store.ts';

export class MemoryGlobalStore implements GlobalStore {
  private readonly claims = new Map<string, Claim>();
  calls = 0;

  claim(key: string, mine: Claim, holds: (existing: Claim) => boolean): Promise<Claim> {
    this.calls++;
    const existing = this.claims.get(key);
    if (existing && holds(existing)) return Promise.resolve(existing);
    this.claims.set(key, { ...mine });
    return Promise.resolve(mine);
  }
}
