import { randomUUID } from 'node:crypto';
import { createEventStore, type EventStore, handleCommand } from '../../src/index.js';
import {
  type ProjectionStatus,
  projectionStatus,
  type SqlClient,
  sqlClient,
  startProjection,
} from '../../src/projections/index.js';
import { orderDecider } from './orders.js';
import { type OrderSummary, orderSummaries } from './projection.js';

/** An event store, the read model's database, and whether the two are one database. */
export interface OrderSummariesSetup {
  store: EventStore;
  db: SqlClient;
  /** The read model lives in the event store's database: exactly-once where the adapter can join the two. */
  sameDatabase: boolean;
  close(): Promise<void>;
}

/** Options of the example: where the events and the read model live. */
export interface OpenOptions {
  /** The event store; the embedded default (an in-memory PGlite, shared with the read model) when absent. */
  eventStoreUrl?: string | undefined;
  /**
   * A PostgreSQL server for the read model. When absent: the event store's own database if it is PostgreSQL,
   * otherwise an in-memory PGlite.
   */
  readModelUrl?: string | undefined;
}

/** The adapter's own URL options, which node-postgres must not see. */
const ADAPTER_PARAMS = ['schema', 'group_commit', 'max', 'application_name'];

async function pool(url: string): Promise<{ db: SqlClient; close: () => Promise<void> }> {
  const pg = (await import('pg')).default;
  const parsed = new URL(url);
  for (const key of ADAPTER_PARAMS) parsed.searchParams.delete(key);
  const p = new pg.Pool({ connectionString: parsed.toString(), max: 4 });
  p.on('error', () => {});
  return { db: sqlClient(p), close: () => p.end() };
}

async function pglite(): Promise<{ instance: import('@electric-sql/pglite').PGlite; db: SqlClient }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const instance = new PGlite();
  return { instance, db: sqlClient(instance) };
}

/** Opens the event store and the read model's database as the example's options (or environment) say. */
export async function openOrderSummaries(options: OpenOptions = {}): Promise<OrderSummariesSetup> {
  const { eventStoreUrl, readModelUrl } = options;
  if ((eventStoreUrl === undefined || eventStoreUrl === 'pglite:memory') && readModelUrl === undefined) {
    const { createPgliteEventStore } = await import('../../src/adapters/postgres/index.js');
    const { instance, db } = await pglite();
    const store = await createPgliteEventStore(instance);
    return {
      store,
      db,
      sameDatabase: true,
      close: async () => {
        await store.close();
        await instance.close();
      },
    };
  }
  const store = await createEventStore(eventStoreUrl ?? 'pglite:memory');
  const isPostgres = eventStoreUrl !== undefined && /^postgres(ql)?:/i.test(eventStoreUrl);
  const rm =
    readModelUrl !== undefined
      ? await pool(readModelUrl)
      : isPostgres
        ? await pool(eventStoreUrl)
        : await pglite().then(({ instance, db }) => ({ db, close: () => instance.close() }));
  return {
    store,
    db: rm.db,
    sameDatabase: readModelUrl === undefined && isPostgres,
    close: async () => {
      await store.close();
      await rm.close();
    },
  };
}

/** What one run of the example shows. */
export interface OrderSummariesRun {
  /** The two orders' rows, after the live shipment and after the rebuild. */
  rows: OrderSummary[];
  rebuiltRows: OrderSummary[];
  status: ProjectionStatus;
  delivery: string;
}

const WAIT_MS = 60_000;

/**
 * The walk from command to read model: two orders go through handleCommand, their events feed the
 * `order_summaries` projection, a shipment arrives live, then the read model is rebuilt without a gap for readers.
 */
export async function runOrderSummaries(
  setup: OrderSummariesSetup,
  log: (line: string) => void = () => {},
  options: { schema?: string } = {},
): Promise<OrderSummariesRun> {
  const { store, db, sameDatabase } = setup;
  const summaries = orderSummaries(options);
  const first = `order-${randomUUID()}`;
  const second = `order-${randomUUID()}`;
  const mine = async () =>
    (await summaries.rows(db)).filter((r) => r.order_id === first || r.order_id === second);

  // 1. Commands: the decider decides, handleCommand appends at the version it read.
  await handleCommand(store, first, { kind: 'place', customer: 'ada', total: 42 }, orderDecider);
  await handleCommand(store, second, { kind: 'place', customer: 'grace', total: 7 }, orderDecider);
  await handleCommand(store, second, { kind: 'ship', carrier: 'post' }, orderDecider);
  log(`placed ${first}; placed and shipped ${second}`);

  // 2. The projection catches up from the first event, then follows.
  const running = await startProjection(store, summaries.projection, { db, sameDatabase });
  try {
    await running.caughtUp;
    log(`order_summaries is fed ${running.delivery}, into ${running.target.name}`);
    await handleCommand(store, first, { kind: 'ship', carrier: 'courier' }, orderDecider);
    const deadline = Date.now() + WAIT_MS;
    let rows = await mine();
    while (!rows.some((r) => r.order_id === first && r.status === 'shipped')) {
      if (Date.now() > deadline) throw new Error('the shipment did not reach order_summaries');
      await new Promise((resolve) => setTimeout(resolve, 20));
      rows = await mine();
    }
    for (const r of rows) log(`  ${r.order_id} ${r.customer} ${r.total} ${r.status} (v${r.version})`);

    // 3. Status: how far behind the newest OrderPlaced/OrderShipped the read model is.
    const status = await running.status();
    log(`lag: ${status.lagEvents} events, ${status.lagSeconds} s`);

    // 4. Rebuild: a new generation replays everything while readers keep the old one, then the view switches.
    await running.rebuild();
    const rebuiltRows = await mine();
    log(`rebuilt into ${running.target.name}: ${rebuiltRows.length} rows of these orders`);
    return { rows, rebuiltRows, status, delivery: running.delivery };
  } finally {
    await running.stop();
  }
}

/** The status of `order_summaries` from outside the process that runs it. */
export function orderSummariesStatus(setup: OrderSummariesSetup, options: { schema?: string } = {}) {
  return projectionStatus(setup.store, orderSummaries(options).projection, setup.db);
}
