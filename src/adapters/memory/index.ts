import { InvalidArgumentError } from '../../contract/index.js';
import { assertKnownOptions } from '../../url-options.js';
import { MemoryEventStore, type MemoryEventStoreOptions } from './memory-event-store.js';

export { MemoryEventStore, type MemoryEventStoreOptions } from './memory-event-store.js';

/** A new, empty in-memory store. */
export function createMemoryEventStore(options: MemoryEventStoreOptions = {}): MemoryEventStore {
  return new MemoryEventStore(options);
}

/** `memory:` — each call is a new, empty store. The URL takes no parameters. */
export async function openFromUrl(url: URL, options: Record<string, unknown>): Promise<MemoryEventStore> {
  if (url.pathname !== '' || url.search !== '' || url.host !== '') {
    throw new InvalidArgumentError("memory: takes no path or parameters; use 'memory:'", { argument: 'url' });
  }
  assertKnownOptions(options, ['autoCreate']);
  return new MemoryEventStore();
}
