import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, type TestContext } from 'vitest';
import type { EventStore, JsonObject, JsonValue, NewEvent, RecordedEvent } from '../index.js';

/** What an adapter hands the suite. */
export interface ConformanceTarget {
  /** Shown in the test report, e.g. 'postgres (embedded server)'. */
  name: string;
  /**
   * Returns a ready store. The suite calls it once per concern file and once per test that needs a store of its own
   * (closing, limits). Stores may share a backend: every test uses its own random stream ids.
   */
  create: () => Promise<EventStore>;
  /**
   * True when the stores `create` returns share one backend, so that a store opened later reads what an earlier,
   * closed one wrote (a database, a table, a server). The tests of what survives `close()` need it and are skipped,
   * visibly, without it (an in-memory store forgets everything when closed).
   */
  sharedBackend?: boolean;
}

/** A handle a concern file's tests use to reach the store it opened in `beforeAll`. */
export interface StoreHandle {
  readonly store: EventStore;
}

/** Opens one store for a concern file and closes it after. */
export function useStore(target: ConformanceTarget): StoreHandle {
  let store: EventStore | undefined;
  beforeAll(async () => {
    store = await target.create();
  });
  afterAll(async () => {
    await store?.close();
  });
  return {
    get store(): EventStore {
      if (!store) throw new Error('The store is not open yet');
      return store;
    },
  };
}

/** A stream id no other test uses. */
export function streamId(prefix = 'stream'): string {
  return `${prefix}-${randomUUID()}`;
}

/** A prefix no other test uses, to isolate readAll. */
export function uniquePrefix(): string {
  return `p${randomUUID().replaceAll('-', '')}/`;
}

export function event(type = 'Happened', data: JsonValue = { n: 1 }, metadata?: JsonObject): NewEvent {
  return metadata === undefined ? { type, data } : { type, data, metadata };
}

/** `n` events with explicit ids, data `{ i }` with i counting from `start`. */
export function events(n: number, start = 1, type = 'Happened'): NewEvent[] {
  return Array.from({ length: n }, (_, k) => ({ type, data: { i: start + k }, id: randomUUID() }));
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export async function readStream(store: EventStore, id: string): Promise<RecordedEvent[]> {
  return collect(store.readStream(id));
}

/** Every event under `prefix`, in readAll order. */
export async function readPrefix(
  store: EventStore,
  prefix: string,
  after?: bigint,
): Promise<RecordedEvent[]> {
  return collect(store.readAll({ after: after ?? 0n, filter: { streamPrefix: prefix } }));
}

/**
 * Marks the running test skipped, visibly, because the adapter declares it cannot do what the test needs. The
 * only way the suite skips.
 */
export function skipUnlessCapable(ctx: TestContext, capable: boolean, reason: string): void {
  if (!capable) ctx.skip(`capability: ${reason}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
