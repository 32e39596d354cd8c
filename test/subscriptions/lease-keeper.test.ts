import { expect, it } from 'vitest';
import type { SubscriptionLease } from '../../src/subscriptions/hooks.js';
import { LeaseKeeper } from '../../src/subscriptions/lease-keeper.js';

/**
 * A lease taken the way the EventStoreDB adapter takes it: read the last record, then write at that revision, so
 * that of two writes from the same read one is refused. Each round trip takes `delayMs`.
 */
function optimisticLease(delayMs: number): SubscriptionLease & { refused: number } {
  let revision = 0;
  let holder: { owner: string; expires: number } | undefined;
  const pause = () => new Promise((r) => setTimeout(r, delayMs));
  return {
    refused: 0,
    async acquire(_name, owner, ttlMs) {
      const read = revision;
      const now = Date.now();
      if (holder && holder.owner !== owner && holder.expires > now) return false;
      await pause();
      if (revision !== read) {
        this.refused++;
        return false;
      }
      revision++;
      holder = { owner, expires: now + ttlMs };
      return true;
    },
    async release(_name, owner) {
      if (holder?.owner === owner) holder = undefined;
      revision++;
    },
  };
}

it('renews one at a time, so a backend slower than the renewal interval does not refuse its own holder', async () => {
  // Renewals every 100 ms, each taking 250 ms: ticks come while one is in flight.
  const lease = optimisticLease(250);
  const keeper = new LeaseKeeper(lease, 'slow', 'owner-1', 300);
  const stop = new AbortController();
  expect(await keeper.take(stop.signal, (fn) => fn())).toBe(true);
  await new Promise((r) => setTimeout(r, 1_500));
  expect(lease.refused).toBe(0);
  expect(keeper.lost).toBe(false);
  await keeper.release();
});
