import { InvalidArgumentError } from '../../contract/index.js';
import type { EventStoreDBEventStoreOptions } from './eventstoredb-event-store.js';

/** Checks the options a factory or URL passes on to the store. */
export function validateOptions(options: Record<string, unknown>): EventStoreDBEventStoreOptions {
  const out: EventStoreDBEventStoreOptions = {};
  for (const key of ['maxAppendBytes', 'idempotencyWindow', 'timeoutMs'] as const) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new InvalidArgumentError(`options.${key} must be a positive integer`, {
        argument: `options.${key}`,
      });
    }
    out[key] = v;
  }
  return out;
}
