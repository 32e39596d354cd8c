import type { Checkpoints } from '../contract/index.js';
import type { SubscriptionLease } from './hooks.js';

/**
 * The base's default checkpoint store: a map in this store's memory. It lasts as long as the store object, so a
 * named subscription resumes after `stop()` within one process; adapters with a backend store them there.
 */
export class InProcessCheckpoints implements Checkpoints {
  readonly #positions = new Map<string, bigint>();

  async load(name: string): Promise<bigint | undefined> {
    return this.#positions.get(name);
  }

  async save(name: string, position: bigint): Promise<void> {
    this.#positions.set(name, position);
  }

  async delete(name: string): Promise<void> {
    this.#positions.delete(name);
  }
}

/** The base's default lease: one holder per name among this store's subscriptions, with expiry. */
export class InProcessLease implements SubscriptionLease {
  readonly #holders = new Map<string, { owner: string; expires: number }>();

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const held = this.#holders.get(name);
    if (held !== undefined && held.owner !== owner && held.expires > now) return false;
    this.#holders.set(name, { owner, expires: now + ttlMs });
    return true;
  }

  async release(name: string, owner: string): Promise<void> {
    if (this.#holders.get(name)?.owner === owner) this.#holders.delete(name);
  }
}

/** The default polling delay: 25 ms after a read that found nothing, doubling to 1 s while nothing comes. */
export function defaultPollDelayMs(idleRounds: number): number {
  return Math.min(1_000, 25 * 2 ** Math.min(idleRounds, 6));
}
