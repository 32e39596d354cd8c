import { deepStrictEqual } from 'node:assert/strict';
import { createMemoryEventStore } from '../adapters/memory/index.js';
import type { DomainEvent } from '../command/handle-command.js';
import type { EventStore } from '../contract/index.js';
import { type Projection, startProjection } from '../projections/index.js';
import { type Upcasters, withUpcasting } from '../upcasting/index.js';

/** A given event: a domain event, in `streamId` (`'specification'` when absent). */
export type GivenEvent = DomainEvent & { streamId?: string };

/** How a specification gets a read model to project into, and reads it back. */
export interface ProjectionSpecificationOptions<Db> {
  /** A fresh, empty read-model database for each case (e.g. `new MemoryReadModelStore()`, a new PGlite). */
  db: () => Db | Promise<Db>;
  /** What the read model holds, as its readers see it: the value `.then(expected)` compares. */
  read: (db: Db) => unknown;
  /** Releases the database after each case. */
  close?: (db: Db) => Promise<void> | void;
  /** Upcasters the projection reads the given events through; the given events are stored as written. */
  upcasters?: Upcasters;
}

export interface ProjectionThen {
  /** After the given events, the read model (as `read` returns it) deep-equals `expected`. */
  then(expected: unknown, ...rest: unknown[]): Promise<void>;
}

/**
 * Given / then for a projection, on the memory store and the real {@link startProjection}: the given events are
 * appended in order, the projection catches up from the first one, and the read model is compared. Assertions throw
 * node's `AssertionError`, so it works under vitest, node:test, or any runner. A handler's error is rethrown.
 *
 * @example
 * const spec = ProjectionSpecification.for(counts, {
 *   db: () => new MemoryReadModelStore<number>(),
 *   read: (db) => Object.fromEntries(db.view('counts')),
 * });
 * await spec.given([{ type: 'ItemAdded', data: {}, streamId: 'cart-1' }]).then({ 'cart-1': 1 });
 */
export const ProjectionSpecification = {
  for<Db>(
    projection: Projection<Db>,
    options: ProjectionSpecificationOptions<Db>,
  ): { given(events: readonly GivenEvent[]): ProjectionThen } {
    return {
      given(history) {
        return {
          // biome-ignore lint/suspicious/noThenProperty: the given/then vocabulary; an accidental await is caught below.
          async then(expected, ...rest) {
            const reject = rest[0];
            if (typeof expected === 'function' && typeof reject === 'function') {
              // `await spec.given(…)` calls then(resolve, reject): refuse instead of comparing a function.
              reject(new TypeError('Call .then(expected read model); do not await given()'));
              return;
            }
            // The given events are the stored history, as written (an event without a schemaVersion is version 1);
            // the projection reads them through the upcasters.
            const stored = createMemoryEventStore();
            const store: EventStore = options.upcasters ? withUpcasting(stored, options.upcasters) : stored;
            const db = await options.db();
            try {
              for (const { streamId = 'specification', ...event } of history) {
                await stored.append(streamId, [event]);
              }
              const running = await startProjection(store, projection, { db });
              try {
                await running.caughtUp;
              } finally {
                await running.stop();
              }
              await running.done;
              deepStrictEqual(await options.read(db), expected, 'the read model differs');
            } finally {
              await store.close();
              await options.close?.(db);
            }
          },
        };
      },
    };
  },
};
