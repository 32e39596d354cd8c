import { InvalidArgumentError } from '../../contract/index.js';
import { assertKnownOptions } from '../../url-options.js';
import { MemoryEventStore } from './memory-event-store.js';

/** `memory:` — each call is a new, empty store. The URL takes no parameters. */
export async function openFromUrl(url: URL, options: Record<string, unknown>): Promise<MemoryEventStore> {
  if (url.pathname !== '' || url.search !== '' || url.host !== '') {
    throw new InvalidArgumentError("memory: takes no path or parameters; use 'memory:'", { argument: 'url' });
  }
  assertKnownOptions(options, ['autoCreate']);
  return new MemoryEventStore();
}
