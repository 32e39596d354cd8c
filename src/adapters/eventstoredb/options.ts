import { InvalidArgumentError } from '../../contract/index.js';
import { assertKnownOptions } from '../../url-options.js';
import { type EventStoreDBEventStoreOptions, MAX_IDEMPOTENCY_WINDOW } from './eventstoredb-event-store.js';

/** The options a factory or URL may pass to the store. */
export const OPTIONS = [
  'maxAppendSize',
  'maxAppendEventSize',
  'idempotencyWindow',
  'idempotency',
  'timeoutMs',
] as const;

/** Checks the options a factory or URL passes on to the store (unknown keys are INVALID_ARGUMENT). */
export function validateOptions(
  options: Record<string, unknown>,
  extra: readonly string[] = [],
): EventStoreDBEventStoreOptions {
  assertKnownOptions(options, [...OPTIONS, ...extra]);
  const out: EventStoreDBEventStoreOptions = {};
  for (const key of ['maxAppendSize', 'maxAppendEventSize', 'idempotencyWindow', 'timeoutMs'] as const) {
    const v = options[key];
    if (v === undefined) continue;
    const max = key === 'idempotencyWindow' ? MAX_IDEMPOTENCY_WINDOW : Number.MAX_SAFE_INTEGER;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) {
      throw new InvalidArgumentError(`options.${key} must be an integer from 1 to ${max}`, {
        argument: `options.${key}`,
      });
    }
    out[key] = v;
  }
  const mode = options.idempotency;
  if (mode !== undefined) {
    if (mode !== 'adapter' && mode !== 'server') {
      throw new InvalidArgumentError("options.idempotency must be 'adapter' or 'server'", {
        argument: 'options.idempotency',
      });
    }
    out.idempotency = mode;
  }
  return out;
}
