import { describe, expect, it } from 'vitest';
import { type Decider, handleCommand, type RecordedEvent, Upcasters, withUpcasting } from '../index.js';
import { type ConformanceTarget, collect, readStream, streamId, uniquePrefix, useStore } from './support.js';

/**
 * Three generations of one event: v1 `{ amount }` (cents), v2 `{ amount, currency }`, v3 renamed to `PaymentMade`
 * with `{ cents, currency }`; and a `Legacy` type whose chain has no step from version 1.
 */
function upcasters(): Upcasters {
  return new Upcasters({
    PaymentReceived: {
      currentVersion: 3,
      steps: {
        1: (e) => ({ ...e, data: { ...(e.data as object), currency: 'EUR' } }),
        2: (e) => {
          const { amount, currency } = e.data as { amount: number; currency: string };
          return {
            type: 'PaymentMade',
            data: { cents: amount, currency },
            metadata: e.metadata,
            schemaVersion: 1,
          };
        },
      },
    },
    PaymentMade: { currentVersion: 1, steps: {} },
    Legacy: { currentVersion: 3, steps: { 2: (e) => e } },
    Broken: {
      currentVersion: 2,
      steps: {
        1: () => {
          throw new Error('cannot convert');
        },
      },
    },
  });
}

const shape = (e: RecordedEvent) => ({ type: e.type, data: e.data, schemaVersion: e.metadata.schemaVersion });

export function upcastingTests(target: ConformanceTarget): void {
  describe('upcasting', () => {
    const h = useStore(target);

    it('brings old events to the current shape on readStream and readAll, and never changes what is stored', async () => {
      const prefix = uniquePrefix();
      const id = `${prefix}payments`;
      // Written by older code: v1 without a schemaVersion, v2 with one.
      await h.store.append(id, [
        { type: 'PaymentReceived', data: { amount: 100 } },
        { type: 'PaymentReceived', data: { amount: 200, currency: 'USD' }, metadata: { schemaVersion: 2 } },
      ]);
      const view = withUpcasting(h.store, upcasters());
      await view.append(id, [{ type: 'PaymentMade', data: { cents: 300, currency: 'GBP' } }]);
      const current = [
        { type: 'PaymentMade', data: { cents: 100, currency: 'EUR' }, schemaVersion: 1 },
        { type: 'PaymentMade', data: { cents: 200, currency: 'USD' }, schemaVersion: 1 },
        { type: 'PaymentMade', data: { cents: 300, currency: 'GBP' }, schemaVersion: 1 },
      ];
      expect((await readStream(view, id)).map(shape)).toEqual(current);
      expect((await collect(view.readStream(id, { direction: 'backwards' }))).map(shape)).toEqual(
        [...current].reverse(),
      );
      expect((await collect(view.readAll({ filter: { streamPrefix: prefix } }))).map(shape)).toEqual(current);
      const handled: RecordedEvent[] = [];
      const sub = view.subscribe({ filter: { streamPrefix: prefix }, handler: (e) => void handled.push(e) });
      await sub.caughtUp;
      await sub.stop();
      expect(handled.map(shape)).toEqual(current);
      // The stored events are as written; only the new one was stamped with its type's current version.
      expect((await readStream(h.store, id)).map(shape)).toEqual([
        { type: 'PaymentReceived', data: { amount: 100 }, schemaVersion: undefined },
        { type: 'PaymentReceived', data: { amount: 200, currency: 'USD' }, schemaVersion: 2 },
        { type: 'PaymentMade', data: { cents: 300, currency: 'GBP' }, schemaVersion: 1 },
      ]);
    });

    it('hands command handling the upcast events', async () => {
      const id = streamId('payments');
      await h.store.append(id, [{ type: 'PaymentReceived', data: { amount: 100 } }]);
      const total: Decider<
        number,
        { cents: number },
        { type: 'PaymentMade'; data: { cents: number; currency: string } }
      > = {
        initialState: () => 0,
        evolve: (sum, e) => sum + e.data.cents,
        decide: (c) => [{ type: 'PaymentMade', data: { cents: c.cents, currency: 'EUR' } }],
      };
      const result = await handleCommand(withUpcasting(h.store, upcasters()), id, { cents: 50 }, total);
      expect(result.state).toBe(150);
    });

    it('fails with UPCAST_FAILED, naming the type and versions, on a missing step or a throwing upcaster', async () => {
      const id = streamId('legacy');
      await h.store.append(id, [{ type: 'Legacy', data: 1 }]);
      const view = withUpcasting(h.store, upcasters());
      await expect(readStream(view, id)).rejects.toMatchObject({
        code: 'UPCAST_FAILED',
        eventType: 'Legacy',
        fromVersion: 1,
        message: expect.stringMatching(/'Legacy' from schema version 1 to 2/),
      });
      const broken = streamId('broken');
      await h.store.append(broken, [{ type: 'Broken', data: 1 }]);
      const failure = readStream(view, broken);
      await expect(failure).rejects.toMatchObject({
        code: 'UPCAST_FAILED',
        eventType: 'Broken',
        fromVersion: 1,
      });
      await expect(failure).rejects.toHaveProperty('cause.message', 'cannot convert');
      const newer = streamId('newer');
      await h.store.append(newer, [{ type: 'PaymentMade', data: 1, metadata: { schemaVersion: 9 } }]);
      await expect(readStream(view, newer)).rejects.toMatchObject({ code: 'UPCAST_FAILED', fromVersion: 9 });
    });
  });
}
