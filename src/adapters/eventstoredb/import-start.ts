import { type EventStoreDBClient, jsonEvent, NO_STREAM } from '@eventstore/db-client';
import {
  ErrorCodes,
  EventStoreError,
  type PreparedAppend,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import { type ErrorContext, mapError } from './map-error.js';
import {
  contractMetadata,
  contractTruncateBefore,
  kitOf,
  streamState,
  writeMetadata,
} from './stream-state.js';

/** The type of the events that fill the versions an import starts past: no data, hidden by `$tb`. */
export const GAP_EVENT_TYPE = 'eventstore-kit.gap';
/** Placeholders per Append call: about 100 bytes each on the wire, well inside the server's 1 MB per append. */
const GAP_BATCH = 1_000;
const MAX_ROUNDS = 50;

/**
 * The first steps of an import past version 1 (`firstVersion` k) on EventStoreDB, whose streams always start at
 * revision 0: `$tb` is set to revision k − 1 (the contract's `truncateBefore` k) first, so that nothing below it is
 * ever readable, then versions 1 .. k − 1 are filled with placeholder events of {@link GAP_EVENT_TYPE} and empty
 * data, `GAP_BATCH` per Append call, each at the exact revision the one before left. The import's own append at
 * k − 1 follows. Not atomic: an interrupted import leaves a stream below k − 1 whose `truncateBefore` is k (which no
 * other call can produce, since a truncation never passes the stream's end), and its retry carries on filling from
 * there. Any other stream state is the append's to judge.
 *
 * The cost: k − 1 placeholder events stored, and read past by readAll, until a scavenge removes them.
 */
export async function startImport(client: EventStoreDBClient, prepared: PreparedAppend): Promise<void> {
  const k = prepared.firstVersion;
  if (k === undefined || k <= 1) return;
  const { streamId } = prepared;
  const ctx: ErrorContext = { operation: 'append', streamId };
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const state = await streamState(client, streamId, ctx);
    if (state.version >= k - 1) return;
    const tb = contractTruncateBefore(state);
    if (state.version > 0 && (state.softDeleted || tb !== k)) return;
    if (tb < k) {
      const metadataVersion = kitOf(state.meta).metadataVersion ?? 0;
      const update = { metadata: contractMetadata(state), truncateBefore: k, metadataVersion };
      if (!(await writeMetadata(client, streamId, state.meta, update, ctx))) continue;
    }
    try {
      for (let version = state.version; version < k - 1; ) {
        const n = Math.min(GAP_BATCH, k - 1 - version);
        const gap = Array.from({ length: n }, () => jsonEvent({ type: GAP_EVENT_TYPE, data: {} }));
        const expectedRevision = version === 0 ? NO_STREAM : BigInt(version - 1);
        await client.appendToStream(streamId, gap, { expectedRevision });
        version += n;
      }
      return;
    } catch (err) {
      if (!(mapError(err, ctx) instanceof WrongExpectedVersionError)) throw mapError(err, ctx);
    }
    await new Promise((r) => setTimeout(r, Math.min(64, 2 ** round) * Math.random()));
  }
  throw new EventStoreError(
    ErrorCodes.UNAVAILABLE,
    `Stream '${streamId}': the import lost ${MAX_ROUNDS} races in a row to other writers`,
    { streamId },
  );
}
