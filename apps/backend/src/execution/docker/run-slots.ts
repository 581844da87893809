/**
 * Counting semaphore for container runs with a bounded queue. A waiter whose signal
 * aborts leaves the queue, so a client that gives up never occupies a slot.
 */
export class RunSlots {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(
    readonly size: number,
    /** Waiters allowed in the queue; `acquire` rejects more with `'queue_full'`. */
    readonly maxQueued: number,
  ) {}

  get activeCount(): number {
    return this.active;
  }

  get queuedCount(): number {
    return this.waiters.length;
  }

  /**
   * Take a slot: resolves `'acquired'` once one is free, `'aborted'` when the signal aborts
   * first, or `'queue_full'` at once when no slot is free and `maxQueued` runs already wait.
   */
  acquire(signal: AbortSignal): Promise<'acquired' | 'aborted' | 'queue_full'> {
    if (signal.aborted) {
      return Promise.resolve('aborted');
    }
    if (this.active < this.size) {
      this.active += 1;
      return Promise.resolve('acquired');
    }
    if (this.waiters.length >= this.maxQueued) {
      return Promise.resolve('queue_full');
    }

    return new Promise((resolve) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        this.active += 1;
        resolve('acquired');
      };
      const onAbort = () => {
        const index = this.waiters.indexOf(grant);
        if (index !== -1) {
          this.waiters.splice(index, 1);
        }
        resolve('aborted');
      };
      this.waiters.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    this.active -= 1;
    this.waiters.shift()?.();
  }
}
