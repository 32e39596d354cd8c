import { MemoryEventStore, type MemoryEventStoreOptions } from './memory-event-store.js';

export { MemoryEventStore, type MemoryEventStoreOptions } from './memory-event-store.js';

/** A new, empty in-memory store. */
export function createMemoryEventStore(options: MemoryEventStoreOptions = {}): MemoryEventStore {
  return new MemoryEventStore(options);
}
