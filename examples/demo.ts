/**
 * The main job, end to end, on the embedded default (or EVENT_STORE_URL): a small order workflow that shows
 * optimistic concurrency, an idempotent retry and a catch-up reader over the global order.
 *
 *   npm run demo
 *   EVENT_STORE_URL=postgres://… npm run demo
 */
import { randomUUID } from 'node:crypto';
import { describeUrl, openConfiguredEventStore, resolveEventStoreUrl } from '../src/config.js';
import { isEventStoreError } from '../src/index.js';

const url = resolveEventStoreUrl();
const store = await openConfiguredEventStore(url);
console.log(`eventstore-kit demo on a '${describeUrl(url)}' store`);

try {
  const order = `order-${randomUUID()}`;

  // 1. Create the stream: 'no_stream' makes sure nobody created it first.
  const placed = await store.append(
    order,
    [{ type: 'OrderPlaced', data: { sku: 'book-42', quantity: 1, price: 1999 }, metadata: { user: 'ada' } }],
    { expectedVersion: 'no_stream' },
  );
  console.log(`placed ${order} -> version ${placed.nextExpectedVersion}, position ${placed.lastPosition}`);

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
    if (r.status === 'fulfilled')
      console.log(`${who}: won, stream at version ${r.value.nextExpectedVersion}`);
    else if (isEventStoreError(r.reason, 'WRONG_EXPECTED_VERSION'))
      console.log(`${who}: lost the race (${r.reason.code}), reload and decide again`);
    else throw r.reason;
  }

  // 3. A retry after a lost reply carries the same event id, so it is recognised and nothing is written twice.
  const shipped = [{ type: 'OrderShipped', data: { carrier: 'post' }, id: randomUUID() }];
  const first = await store.append(order, shipped);
  const retry = await store.append(order, shipped);
  console.log(
    `shipped at version ${first.nextExpectedVersion}; the retry returned version ${retry.nextExpectedVersion}`,
  );

  // 4. Read the stream back, then tail the global order from the start for this order's events.
  for await (const e of store.readStream(order))
    console.log(`  v${e.version} ${e.type} ${JSON.stringify(e.data)}`);
  let seen = 0;
  let last = 0n;
  for await (const e of store.readAll({ filter: { streamPrefix: order } })) {
    seen++;
    last = e.position;
  }
  console.log(`readAll saw ${seen} events of this order; resume later with after: ${last}n`);
} finally {
  await store.close();
}
