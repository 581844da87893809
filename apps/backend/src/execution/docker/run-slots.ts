/**
 * Counting semaphore for container runs. A waiter whose signal aborts leaves the queue,
 * so a client that gives up never occupies a slot.
 */
export class RunSlots {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly size: number) {}

  get activeCount(): number {
    return this.active;
  }

  get queuedCount(): number {
    return this.waiters.length;
  }

  /** Take a slot: resolves true once one is free, or false when the signal aborts first. */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) {
      return Promise.resolve(false);
    }
    if (this.active < this.size) {
      this.active += 1;
      return Promise.resolve(true);
    }

    return new Promise((resolve) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        this.active += 1;
        resolve(true);
      };
      const onAbort = () => {
        const index = this.waiters.indexOf(grant);
        if (index !== -1) {
          this.waiters.splice(index, 1);
        }
        resolve(false);
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
