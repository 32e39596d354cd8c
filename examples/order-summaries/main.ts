/**
 * The order_summaries example: `npm run example` (or `tsx examples/order-summaries/main.ts`). EVENT_STORE_URL picks
 * the event store (default: an in-memory PGlite that also holds the read model); READ_MODEL_URL, a PostgreSQL server
 * for the read model (default: the event store's database when it is PostgreSQL, else an in-memory PGlite).
 */
import { openOrderSummaries, runOrderSummaries } from './run.js';

const env = (name: string): string | undefined => (process.env[name] === '' ? undefined : process.env[name]);

const setup = await openOrderSummaries({
  eventStoreUrl: env('EVENT_STORE_URL'),
  readModelUrl: env('READ_MODEL_URL'),
});
try {
  await runOrderSummaries(setup, (line) => console.log(line));
} finally {
  await setup.close();
}
