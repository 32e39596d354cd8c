/**
 * What readAll's metadata check costs (docs/lifecycle.md, "Costs on EventStoreDB"): the adapter's readAll of 2,000
 * events against the raw client's, side by side in the same rounds on one emulator, with the events spread over
 * streams of `argv[2]` events each (1 is the worst case: one metadata read per event). Prints the median ratio.
 * Run: npx tsx bench/eventstoredb/readall-visibility.ts 1 (and 100).
 */
import { randomUUID } from 'node:crypto';
import { EventStoreDBClient, FORWARDS, jsonEvent, START } from '@eventstore/db-client';
import { createEventStoreDBEventStore } from '../../src/adapters/eventstoredb/index.js';
import { startEsdbEmulator } from '../../test/support/esdb-emulator/index.js';

const em = await startEsdbEmulator();
const client = EventStoreDBClient.connectionString(`${em.url}&defaultDeadline=60000`);
const store = createEventStoreDBEventStore(client, { timeoutMs: 120_000 });
const PER = Number(process.argv[2] ?? 1);
const N = 2000;
for (let k = 0; k < N / PER; k++)
  await client.appendToStream(
    `s-${randomUUID()}`,
    Array.from({ length: PER }, (_, i) => jsonEvent({ type: 'T', data: { i } })),
  );
async function direct() {
  let n = 0;
  for await (const e of client.readAll({ fromPosition: START, direction: FORWARDS })) {
    if (e.event!.streamId.startsWith('$') || e.event!.type.startsWith('$')) continue;
    n++;
  }
  if (n !== N) throw new Error(String(n));
}
async function adapter() {
  let n = 0;
  for await (const _ of store.readAll()) n++;
  if (n !== N) throw new Error(String(n));
}
const r: number[] = [];
for (let round = 0; round < 5; round++) {
  let t = performance.now();
  await direct();
  const d = performance.now() - t;
  t = performance.now();
  await adapter();
  const a = performance.now() - t;
  r.push(a / d);
}
r.sort((x, y) => x - y);
console.log(
  `events per stream ${PER}: median adapter/client readAll`,
  r[2]!.toFixed(2),
  r.map((x) => x.toFixed(2)).join(' '),
);
await store.close();
await client.dispose();
await em.stop();
