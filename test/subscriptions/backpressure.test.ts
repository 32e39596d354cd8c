import { expect, it } from 'vitest';
import type { PreparedReadAll } from '../../src/adapter/index.js';
import { MemoryEventStore } from '../../src/adapters/memory/memory-event-store.js';
import type { RecordedEvent } from '../../src/index.js';

/** A memory store that counts the events its reads have produced, to see how far reads run ahead of the handler. */
class CountingStore extends MemoryEventStore {
  produced = 0;
  protected override async *_readAll(prepared: PreparedReadAll): AsyncIterable<RecordedEvent> {
    for await (const e of super._readAll(prepared)) {
      this.produced++;
      yield e;
    }
  }
}

it('holds at most two pages of events ahead of a slow handler while 100,000 events are appended', {
  timeout: 120_000,
}, async () => {
  const store = new CountingStore();
  const pageSize = 50;
  let handled = 0;
  let most = 0;
  const sub = store.subscribe({
    pageSize,
    handler: async () => {
      most = Math.max(most, store.produced - handled);
      await new Promise((resolve) => setTimeout(resolve, 50));
      handled++;
    },
  });
  for (let i = 0; i < 1_000; i++) {
    await store.append(
      `s-${i % 10}`,
      Array.from({ length: 100 }, () => ({ type: 'T', data: { i } })),
    );
  }
  while (handled < 3 * pageSize) await new Promise((resolve) => setTimeout(resolve, 50));
  await sub.stop();
  // The page being handled and the one read ahead: the bound is 2 × pageSize events, whatever was appended.
  expect(most).toBeLessThanOrEqual(2 * pageSize);
  expect(store.produced - handled).toBeLessThanOrEqual(2 * pageSize);
  await store.close();
});
