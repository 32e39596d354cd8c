/**
 * `eventstore-kit/adapter`: the API for writing an adapter. Subclass {@link BaseEventStore}, implement its
 * protected methods on prepared input, run the conformance suite (`eventstore-kit/conformance`) against it, and
 * optionally give it a URL scheme with `registerScheme` (from `eventstore-kit`). README, "Adding an adapter",
 * walks through it.
 *
 * Users of an event store need none of this: the contract (types, errors, `createEventStore`) is the root export.
 *
 * @packageDocumentation
 */
export type { AppendDecision, StreamIdLookup } from '../contract/idempotency.js';
export { decideAppend, expectedVersionHolds } from '../contract/idempotency.js';
export type {
  PreparedAppend,
  PreparedEvent,
  PreparedReadAll,
  PreparedReadStream,
} from '../contract/validate.js';
export {
  assertJson,
  isPlainObject,
  prepareAppend,
  prepareEvent,
  prepareReadAll,
  prepareReadStream,
  validateStreamId,
} from '../contract/validate.js';
export type {
  PreparedDeleteStream,
  PreparedSetStreamMetadata,
  PreparedTruncateStream,
} from '../contract/validate-lifecycle.js';
export {
  prepareDeleteStream,
  prepareSetStreamMetadata,
  prepareTruncateStream,
} from '../contract/validate-lifecycle.js';
export {
  type PreparedSnapshot,
  prepareSnapshot,
  SNAPSHOT_OVERHEAD_BYTES,
} from '../contract/validate-snapshot.js';
export type { PreparedSubscribe } from '../contract/validate-subscribe.js';
export type { FollowItem } from '../subscriptions/hooks.js';
export { assertKnownOptions, assertKnownParams } from '../url-options.js';
export {
  backendError,
  type ErrorContext,
  reasonId,
  SOCKET_ERROR_CODES,
  socketErrorCode,
} from './backend-error.js';
export {
  BaseEventStore,
  type BaseEventStoreOptions,
  DEFAULT_TIMEOUT_MS,
} from './base-event-store.js';
export type { CallContext } from './call-context.js';
