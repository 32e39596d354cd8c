import type { SubscriptionLease } from './hooks.js';
import { pause } from './wake-signal.js';

/**
 * Holds a named subscription's lease: waits until it can take it, renews it every third of `leaseMs`, and marks
 * it lost when a renewal is refused or no renewal succeeded for `leaseMs` (another instance may hold it by then).
 * An instance waiting for the lease tries again every quarter of `leaseMs`, at most every second.
 */
export class LeaseKeeper {
  readonly #lease: SubscriptionLease;
  readonly #name: string;
  readonly #owner: string;
  readonly #ms: number;
  readonly #lost = new AbortController();
  #timer: ReturnType<typeof setInterval> | undefined;
  #renewedAt = 0;
  #held = false;
  #renewing = false;

  constructor(lease: SubscriptionLease, name: string, owner: string, leaseMs: number) {
    this.#lease = lease;
    this.#name = name;
    this.#owner = owner;
    this.#ms = leaseMs;
  }

  /** Aborts when the lease is lost. */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  get lost(): boolean {
    return this.#lost.signal.aborted;
  }

  markLost(): void {
    this.#lost.abort();
    this.#stopRenewing();
  }

  /** Waits for the lease; false when `stop` aborted first. `retrying` retries the backend's failures. */
  async take(stop: AbortSignal, retrying: <T>(fn: () => Promise<T>) => Promise<T>): Promise<boolean> {
    const retryMs = Math.min(1_000, Math.ceil(this.#ms / 4));
    while (!stop.aborted) {
      const started = Date.now();
      if (await retrying(() => this.#lease.acquire(this.#name, this.#owner, this.#ms))) {
        this.#held = true;
        this.#renewedAt = started;
        this.#timer = setInterval(() => void this.#renew(), Math.ceil(this.#ms / 3));
        this.#timer.unref?.();
        return true;
      }
      await pause(retryMs, stop);
    }
    return false;
  }

  /**
   * One renewal at a time: a tick that comes while the previous renewal is still in flight (a slow backend) is
   * skipped, since two renewals by one owner race each other, and a backend that takes the lease by an optimistic
   * write (EventStoreDB's append at the revision read) would refuse one of them and so end a lease that is held.
   */
  async #renew(): Promise<void> {
    if (this.lost || this.#renewing) return;
    this.#renewing = true;
    const started = Date.now();
    try {
      if (await this.#lease.acquire(this.#name, this.#owner, this.#ms)) {
        this.#renewedAt = started;
        return;
      }
      this.markLost();
    } catch {
      if (Date.now() - this.#renewedAt >= this.#ms) this.markLost();
    } finally {
      this.#renewing = false;
    }
  }

  #stopRenewing(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops renewing and frees the lease for the next instance (errors ignored: it then expires). */
  async release(): Promise<void> {
    this.#stopRenewing();
    if (!this.#held || this.lost) return;
    this.#held = false;
    await this.#lease.release(this.#name, this.#owner).catch(() => {});
  }
}
