import { describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '../../src/adapters/memory/index.js';
import {
  defineProjection,
  MemoryReadModelStore,
  memoryReadModel,
  startProjection,
} from '../../src/projections/index.js';

type Db = MemoryReadModelStore<number>;

function counting(gate?: Promise<void>) {
  return defineProjection<Db>({
    name: 'counts',
    readModel: memoryReadModel<number>(),
    handlers: {
      Counted: async (e, { db, target }) => {
        if (target.generation > 1) await gate;
        db.table(target).set(e.streamId, e.version);
      },
    },
  });
}

describe('startProjection', () => {
  it('stops during a rebuild: the rebuild fails and the old generation keeps serving', async () => {
    const store = createMemoryEventStore();
    await store.append('s', [{ type: 'Counted', data: {} }]);
    const db = new MemoryReadModelStore<number>();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const running = await startProjection(store, counting(gate), { db });
    await running.caughtUp;
    const rebuilt = running.rebuild();
    rebuilt.catch(() => {});
    await expect.poll(() => db.generations().includes('counts_v2')).toBe(true);
    // The new generation's handler is in flight: stop() waits for it, then the rebuild gives up.
    const stopping = running.stop();
    open();
    await stopping;
    await expect(rebuilt).rejects.toThrow();
    expect(running.target.generation).toBe(1);
    expect(Object.fromEntries(db.view('counts'))).toEqual({ s: 1 });
    await expect(running.rebuild()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await store.close();
  });

  it('resumes the active generation after a rebuild, with its read model', async () => {
    const store = createMemoryEventStore();
    await store.append('s', [{ type: 'Counted', data: {} }]);
    const db = new MemoryReadModelStore<number>();
    const first = await startProjection(store, counting(), { db });
    await first.caughtUp;
    await first.rebuild();
    await first.stop();
    await store.append('s', [{ type: 'Counted', data: {} }]);
    const second = await startProjection(store, counting(), { db });
    expect(second.target.generation).toBe(2);
    await second.caughtUp;
    await second.stop();
    expect(Object.fromEntries(db.view('counts'))).toEqual({ s: 2 });
    expect(db.generations()).toEqual(['counts_v2']);
    await store.close();
  });

  it('refuses bad options with INVALID_ARGUMENT', async () => {
    const store = createMemoryEventStore();
    for (const options of [undefined, null, {}, { db: {}, unknown: 1 }]) {
      await expect(
        startProjection(store, counting(), options as unknown as { db: Db }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await store.close();
  });
});
