import { AssertionError, deepStrictEqual } from 'node:assert/strict';
import { createMemoryEventStore } from '../adapters/memory/index.js';
import {
  type Decider,
  type DomainEvent,
  type HandleCommandOptions,
  handleCommand,
} from '../command/handle-command.js';
import type { EventStore, JsonObject } from '../contract/index.js';
import { type Upcasters, withUpcasting } from '../upcasting/index.js';

/** An expected error: its class, a predicate, or a partial object its fields must equal (e.g. `{ code }`). */
export type ErrorExpectation =
  | (abstract new (
      ...args: never[]
    ) => unknown)
  | ((err: unknown) => boolean)
  | Record<string, unknown>;

export interface DeciderThen<Event extends DomainEvent> {
  /** The command produced exactly these events (type and data; metadata compared where the expectation has it). */
  then(expected: readonly (Event & { metadata?: JsonObject })[], ...rest: unknown[]): Promise<void>;
  /** The command produced no event. */
  thenNothing(): Promise<void>;
  /** The command was refused with an error that matches `expected` (any error when omitted). */
  thenThrows(expected?: ErrorExpectation): Promise<void>;
}

export interface DeciderGiven<Command, Event extends DomainEvent> {
  when(command: Command, options?: HandleCommandOptions): DeciderThen<Event>;
}

function matches(err: unknown, expected: ErrorExpectation | undefined): boolean {
  if (expected === undefined) return true;
  if (typeof expected === 'function') {
    if (
      expected.prototype !== undefined &&
      err instanceof (expected as abstract new (...args: never[]) => unknown)
    ) {
      return true;
    }
    try {
      return (expected as (err: unknown) => boolean)(err) === true;
    } catch {
      return false;
    }
  }
  if (typeof err !== 'object' || err === null) return false;
  return Object.entries(expected).every(([k, v]) => {
    try {
      deepStrictEqual((err as Record<string, unknown>)[k], v);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Given / when / then for a decider, on the memory store and the real {@link handleCommand}: the given events are
 * appended to one stream, the command is handled there, and its outcome is compared. Assertions throw node's
 * `AssertionError`, so it works under vitest, node:test, or any runner.
 *
 * @example
 * const spec = DeciderSpecification.for(orders);
 * await spec.given([placed]).when({ kind: 'ship' }).then([{ type: 'OrderShipped', data: { orderId: 'o-1' } }]);
 * await spec.given([]).when({ kind: 'ship' }).thenThrows({ name: 'OrderNotPlaced' });
 */
export const DeciderSpecification = {
  for<State, Command, Event extends DomainEvent>(
    decider: Decider<State, Command, Event>,
    options: { upcasters?: Upcasters } = {},
  ): { given(events: readonly DomainEvent[]): DeciderGiven<Command, Event> } {
    return {
      given(history) {
        return {
          when(command, handleOptions) {
            const run = async () => {
              let store: EventStore = createMemoryEventStore();
              if (options.upcasters) store = withUpcasting(store, options.upcasters);
              const streamId = 'specification';
              if (history.length > 0) await store.append(streamId, [...history]);
              try {
                return await handleCommand(store, streamId, command, decider, handleOptions);
              } finally {
                await store.close();
              }
            };
            return {
              // biome-ignore lint/suspicious/noThenProperty: the given/when/then vocabulary; an accidental await is caught below.
              async then(expected, ...rest: unknown[]) {
                if (typeof expected === 'function') {
                  // `await spec.given(…).when(…)` calls then(resolve, reject): refuse instead of hanging.
                  const reject = rest[0];
                  const err = new TypeError(
                    'Call .then([expected events]) (or .thenThrows / .thenNothing); do not await when()',
                  );
                  if (typeof reject !== 'function') throw err;
                  (reject as (e: unknown) => void)(err);
                  return;
                }
                const { events } = await run();
                const actual = events.map((e, i) => {
                  const want = expected[i];
                  const shape: DomainEvent = { type: e.type, data: e.data };
                  if (want?.metadata !== undefined) {
                    shape.metadata = Object.fromEntries(
                      Object.keys(want.metadata).map((k) => [k, e.metadata[k] ?? null]),
                    );
                  }
                  return shape;
                });
                deepStrictEqual(
                  actual,
                  expected.map((e) => ({ ...e })),
                  'the command produced other events',
                );
              },
              async thenNothing() {
                const { events } = await run();
                deepStrictEqual(
                  events.map((e) => ({ type: e.type, data: e.data })),
                  [],
                  'the command produced events',
                );
              },
              async thenThrows(expected) {
                let outcome: unknown;
                try {
                  outcome = await run();
                } catch (err) {
                  if (matches(err, expected)) return;
                  throw new AssertionError({
                    message: `the command threw an unexpected error: ${String(err)}`,
                    actual: err,
                    expected,
                  });
                }
                throw new AssertionError({
                  message: 'the command succeeded, but an error was expected',
                  actual: outcome,
                  expected,
                });
              },
            };
          },
        };
      },
    };
  },
};
