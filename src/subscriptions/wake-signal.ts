/**
 * A wake-up hint for live subscriptions: `notify()` when new events may be readable (an append through this
 * store, a PostgreSQL NOTIFY …). It carries no data: a subscription that wakes reads from its own position, so a
 * lost or spurious hint costs latency or one read, never an event. The epoch closes the race between a read that
 * found nothing and the wait that follows it: a hint that arrives in between moves the epoch, and the wait returns
 * at once.
 */
export class WakeSignal {
  #epoch = 0;
  #waiters = new Set<() => void>();

  get epoch(): number {
    return this.#epoch;
  }

  notify(): void {
    this.#epoch++;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves when the epoch passes `seen`, after `ms`, or when `signal` aborts; never rejects. */
  wait(seen: number, ms: number, signal: AbortSignal): Promise<void> {
    if (this.#epoch !== seen || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
