/**
 * The order example, end to end: optimistic concurrency, an idempotent retry and a catch-up reader over the global
 * order. `npm run demo` and `eventstore-kit demo` run it, on the embedded default (an in-memory PGlite) or on the
 * store --url / EVENT_STORE_URL names.
 */
import { randomUUID } from 'node:crypto';
import { EMBEDDED_DEFAULT_URL } from '../../config.js';
import { type EventStore, isEventStoreError } from '../../contract/index.js';
import type { Command } from '../command.js';
import { expectArgs } from '../usage.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the order example: a race, an idempotent retry, a catch-up read',
  usage: `eventstore-kit demo [--url URL]

Runs a small order workflow on the store (default: ${EMBEDDED_DEFAULT_URL}, an in-memory PGlite, so nothing is kept).
It writes one stream named order-<uuid>.`,
  options: {},
  writes: true,
  defaultUrl: EMBEDDED_DEFAULT_URL,
  parse({ positionals }) {
    expectArgs('demo', positionals, []);
    return async (store, out) => {
      out.line(`eventstore-kit demo on a '${out.scheme}' store`);
      await runOrderDemo(store, out.line);
    };
  },
};

export async function runOrderDemo(store: EventStore, log: (line: string) => void): Promise<void> {
  const order = `order-${randomUUID()}`;

  // 1. Create the stream: 'no_stream' makes sure nobody created it first.
  const placed = await store.append(
    order,
    [{ type: 'OrderPlaced', data: { sku: 'book-42', quantity: 1, price: 1999 }, metadata: { user: 'ada' } }],
    { expectedVersion: 'no_stream' },
  );
  log(`placed ${order} -> version ${placed.nextExpectedVersion}, position ${placed.lastPosition}`);

  // 2. Two clerks decide on the same version; exactly one wins, the other gets WRONG_EXPECTED_VERSION.
  const [a, b] = await Promise.allSettled([
    store.append(order, [{ type: 'OrderPaid', data: { amount: 1999 } }], { expectedVersion: 1 }),
    store.append(order, [{ type: 'OrderCancelled', data: { reason: 'changed mind' } }], {
      expectedVersion: 1,
    }),
  ]);
  for (const [who, r] of [
    ['pay', a],
    ['cancel', b],
  ] as const) {
    if (r.status === 'fulfilled') log(`${who}: won, stream at version ${r.value.nextExpectedVersion}`);
    else if (isEventStoreError(r.reason, 'WRONG_EXPECTED_VERSION'))
      log(`${who}: lost the race (${r.reason.code}), reload and decide again`);
    else throw r.reason;
  }

  // 3. A retry after a lost reply carries the same event id, so it is recognised and nothing is written twice.
  const shipped = [{ type: 'OrderShipped', data: { carrier: 'post' }, id: randomUUID() }];
  const first = await store.append(order, shipped);
  const retry = await store.append(order, shipped);
  log(
    `shipped at version ${first.nextExpectedVersion}; the retry returned version ${retry.nextExpectedVersion}`,
  );

  // 4. Read the stream back, then tail the global order from the start for this order's events.
  for await (const e of store.readStream(order)) log(`  v${e.version} ${e.type} ${JSON.stringify(e.data)}`);
  let seen = 0;
  let last = 0n;
  for await (const e of store.readAll({ filter: { streamPrefix: order } })) {
    seen++;
    last = e.position;
  }
  log(`readAll saw ${seen} events of this order; resume later with after: ${last}n`);
}
