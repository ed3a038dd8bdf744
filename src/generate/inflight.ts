// Keeps a few produce requests in flight: enough to overlap encoding with the broker's work,
// bounded so memory stays flat. The first failure stops the run and is rethrown once.

export class InFlight {
  private readonly pending = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new RangeError(`max must be ≥ 1, got ${max}`);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Starts `task`, then waits until fewer than `max` tasks are running. */
  async start(task: () => Promise<void>): Promise<void> {
    this.throwIfFailed();
    const running: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.pending.delete(running));
    this.pending.add(running);
    while (this.pending.size >= this.max) await Promise.race(this.pending);
    this.throwIfFailed();
  }

  /** Waits for every started task; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.pending);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
