import {
  ANY,
  type AppendExpectedRevision,
  type AppendResult as ClientAppendResult,
  type EventData,
  type EventStoreDBClient,
  NO_STREAM,
  STREAM_EXISTS,
} from '@eventstore/db-client';
import { expectedVersionHolds } from '../../contract/idempotency.js';
import {
  type AppendResult,
  decideAppend,
  ErrorCodes,
  EventStoreError,
  type PreparedAppend,
  type StreamIdLookup,
  WrongExpectedVersionError,
} from '../../contract/index.js';
import { withImportedCreatedAt } from './convert.js';
import { type ErrorContext, mapError, versionOf } from './map-error.js';
import { encodePosition, hasLogPosition } from './position.js';
import type { StreamHeads } from './stream-heads.js';
import { physicalTb, readMetadata, streamState } from './stream-state.js';
import { positionOf, readRange, readRecent } from './stream-tail.js';

const encoder = new TextEncoder();

/**
 * Who recognises an `'any'`/`'stream_exists'` retry:
 * - `'adapter'` (the default): the adapter reads the stream's recent events, decides by the contract's rules and
 *   appends at the exact revision it read, so the retry is recognised among the last `idempotencyWindow` events of
 *   the stream whatever the server remembers;
 * - `'server'`: the server's recent-id cache alone (one append, no read). That cache is one bounded cache for the
 *   whole database, emptied by a restart or a leader change, so a retry is recognised only while the server still
 *   holds its ids: nothing is guaranteed, and the store declares an idempotency window of 0.
 */
export type IdempotencyMode = 'adapter' | 'server';

export interface AppendDeps {
  client: EventStoreDBClient;
  heads: StreamHeads;
  /** How many of a stream's most recent events an `'any'` retry is recognised among (`'adapter'` mode). */
  window: number;
  idempotency: IdempotencyMode;
}

/** Rounds of "another writer moved the stream, read again" before an `'any'` append gives up. */
const MAX_ROUNDS = 500;

/** The contract's view of the stream's tail: the versions and ids a read returned, at `currentVersion`. */
function lookupOf(
  currentVersion: number,
  events: readonly { id: string; version: number }[],
): StreamIdLookup {
  const byVersion = new Map<number, string>();
  const byId = new Map<string, number>();
  for (const e of events) {
    byVersion.set(e.version, e.id);
    byId.set(e.id, e.version);
  }
  return { currentVersion, idAt: (v) => byVersion.get(v), versionOf: (id) => byId.get(id) };
}

function toEventData(prepared: PreparedAppend): EventData[] {
  return prepared.events.map(
    (e) =>
      ({
        id: e.id,
        contentType: 'application/json',
        type: e.type,
        data: JSON.parse(e.dataJson),
        // A plain Uint8Array: the client sends it as is (a Buffer would be JSON-encoded as an object).
        metadata: encoder.encode(
          e.createdAt === undefined ? e.metadataJson : withImportedCreatedAt(e.metadataJson, e.createdAt),
        ),
      }) as EventData,
  );
}

function contextOf(prepared: PreparedAppend): ErrorContext {
  return {
    operation: 'append',
    streamId: prepared.streamId,
    expectedVersion: prepared.requestedExpectedVersion,
    eventCount: prepared.events.length,
    bytes: prepared.bytes,
  };
}

/** Version v is revision v − 1; version 0 (no events) is NO_STREAM. */
function revisionFor(version: number): AppendExpectedRevision {
  return version === 0 ? NO_STREAM : BigInt(version - 1);
}

/** The stream's version after a call: the client reports revision −1 for "no stream". */
function versionAfter(result: ClientAppendResult): number {
  const r = result.nextExpectedRevision;
  return versionOf(r < 0n ? 'no_stream' : r) ?? 0;
}

/** A call's outcome; a wrong expected version carries the contract error (with the client's in `cause`). */
type Sent = (ClientAppendResult & { success: true }) | { success: false; error: WrongExpectedVersionError };

async function send(
  deps: AppendDeps,
  prepared: PreparedAppend,
  expectedRevision: AppendExpectedRevision,
): Promise<Sent> {
  let result: ClientAppendResult;
  try {
    result = await deps.client.appendToStream(prepared.streamId, toEventData(prepared), { expectedRevision });
  } catch (err) {
    const mapped = mapError(err, contextOf(prepared));
    // The client throws a wrong expected version unless its connection string says throwOnAppendFailure=false:
    // both come out the same.
    if (mapped instanceof WrongExpectedVersionError) return { success: false, error: mapped };
    throw mapped;
  }
  if (result.success) return result as Sent;
  return { success: false, error: wrong(prepared, versionAfter(result)) };
}

/** Appends a non-empty batch by the contract's rules (see {@link IdempotencyMode}). */
export async function appendEvents(deps: AppendDeps, prepared: PreparedAppend): Promise<AppendResult> {
  const expected = prepared.expectedVersion;
  if (typeof expected === 'number') {
    // Rules 1 and 2 are the server's own for an exact revision: below the current one, it compares the ids with
    // the events that follow it in its index (IndexWriter.CheckCommit), which no cache can forget.
    const result = await send(deps, prepared, revisionFor(expected));
    if (!result.success) throw result.error;
    if (!hasLogPosition(result.position)) return rejudge(deps, prepared, result, expected);
    return settle(deps, prepared, result, expected);
  }
  return deps.idempotency === 'server' ? serverDecides(deps, prepared) : adapterDecides(deps, prepared);
}

function wrong(
  prepared: PreparedAppend,
  actual: number | undefined,
  reason?: string,
): WrongExpectedVersionError {
  return new WrongExpectedVersionError(
    prepared.streamId,
    prepared.requestedExpectedVersion,
    actual,
    reason === undefined ? undefined : { reason },
  );
}

/**
 * A successful exact-revision append at `base`: a new write, or the server recognised the batch as the events
 * already at base + 1 … (rule 1). Either way those ids end the stream at base + n, which the heads remember.
 */
async function settle(
  deps: AppendDeps,
  prepared: PreparedAppend,
  result: ClientAppendResult,
  base: number,
): Promise<AppendResult> {
  const version = versionAfter(result);
  const ids = prepared.events.map((e) => e.id);
  if (version === base + ids.length) deps.heads.record(prepared.streamId, version, ids);
  const lastPosition = hasLogPosition(result.position)
    ? encodePosition(result.position)
    : await positionOf(deps, prepared.streamId, version, ids.at(-1)!);
  return { nextExpectedVersion: version, lastPosition };
}

/**
 * `'any'`/`'stream_exists'`, decided here: the stream's last `window` events are read (or taken from the heads when
 * this store wrote last), `decideAppend` says retry, conflict or write, and a write goes at the exact revision read.
 * If another writer moved the stream in between, the server refuses the revision (or recognises the batch, when the
 * events after it are this batch) and the append reads again.
 */
async function adapterDecides(deps: AppendDeps, prepared: PreparedAppend): Promise<AppendResult> {
  const { heads, streamId } = { heads: deps.heads, streamId: prepared.streamId };
  let base: number | undefined;
  const head = heads.get(streamId);
  if (head && heads.coversWindow(head)) {
    const lookup = lookupOf(
      head.version,
      head.ids.map((id, k) => ({ id, version: head.version - head.ids.length + 1 + k })),
    );
    if (decideAppend(prepared, lookup).kind === 'write') base = head.version;
  }
  // A version the server reported: events the stream's metadata hides ($maxAge, $tb) are not in a read.
  let floor = 0;
  for (let round = 1; ; round++) {
    if (base === undefined) {
      let tail = await readRecent(deps, streamId);
      let version = Math.max(tail.at(-1)?.version ?? 0, floor);
      let lookup = lookupOf(version, tail);
      if (tail.length === 0 && prepared.expectedVersion === 'stream_exists') {
        // Nothing visible: whether the stream exists (truncated, soft-deleted) is the server's to say.
        const state = await streamState(deps.client, streamId, contextOf(prepared));
        version = Math.max(state.version, floor);
        lookup = { ...lookupOf(version, tail), softDeleted: state.softDeleted && version === state.version };
      }
      let decision = decideAppend(prepared, lookup);
      let pruned = false;
      if (decision.kind === 'duplicate') {
        const tb = await storedFrom(deps, streamId, prepared);
        if (decision.lastVersion - prepared.events.length < tb) {
          // The ids match events a truncation removed (the heads remember them): forgotten, as the contract says.
          tail = tail.filter((e) => e.version - 1 >= tb);
          decision = decideAppend(prepared, lookupOf(version, tail));
          pruned = true;
        }
      }
      if (decision.kind === 'conflict') throw wrong(prepared, version, decision.reason);
      if (decision.kind === 'duplicate') {
        const last = tail.find((e) => e.version === decision.lastVersion)!;
        const lastPosition = hasLogPosition(last.position)
          ? encodePosition(last.position)
          : await positionOf(deps, streamId, last.version, last.id);
        return { nextExpectedVersion: decision.lastVersion, lastPosition };
      }
      if (!pruned && tail.at(-1)?.version === version) {
        heads.record(
          streamId,
          version,
          tail.map((e) => e.id),
        );
      }
      base = version;
    }
    const result = await send(deps, prepared, revisionFor(base));
    if (result.success) {
      return hasLogPosition(result.position)
        ? settle(deps, prepared, result, base)
        : rejudge(deps, prepared, result, base);
    }
    if (round >= MAX_ROUNDS) {
      throw new EventStoreError(
        ErrorCodes.UNAVAILABLE,
        `Stream '${streamId}': the append lost ${MAX_ROUNDS} races in a row to other writers; nothing was written`,
        { streamId },
      );
    }
    floor = result.error.actualVersion ?? 0;
    base = undefined;
    await new Promise((r) => setTimeout(r, Math.min(64, 2 ** round) * Math.random()));
  }
}

/**
 * The first revision the stream still stores: the server's `$tb` (`Infinity` for a soft-deleted stream). Events
 * retention hides but did not truncate yet are stored, so a retry may still be recognised among them until
 * `enforceRetention` truncates them (docs/lifecycle.md).
 */
async function storedFrom(deps: AppendDeps, streamId: string, prepared: PreparedAppend): Promise<number> {
  return physicalTb(await readMetadata(deps.client, streamId, contextOf(prepared)));
}

/**
 * The server answered a retry (success without a position): the ids match events a read cannot return. Events a
 * delete or truncation removed are forgotten by the contract, so the append is judged against the stream as it is
 * now and, where its expected version holds, written after them. Events retention only hides are recognised, as
 * the contract allows.
 */
async function rejudge(
  deps: AppendDeps,
  prepared: PreparedAppend,
  result: ClientAppendResult,
  base: number | undefined,
): Promise<AppendResult> {
  const first = versionAfter(result) - prepared.events.length + 1;
  if (first - 1 >= (await storedFrom(deps, prepared.streamId, prepared))) {
    return settle(deps, prepared, result, base ?? versionAfter(result) - prepared.events.length);
  }
  const state = await streamState(deps.client, prepared.streamId, contextOf(prepared));
  if (!expectedVersionHolds(prepared.expectedVersion, state)) throw wrong(prepared, state.version);
  const again = await send(deps, prepared, revisionFor(state.version));
  if (!again.success) throw again.error;
  return settle(deps, prepared, again, state.version);
}

/**
 * `'any'`/`'stream_exists'` left to the server's recent-id cache (opt-in). The server accepts a retry whose ids are
 * all in its cache even when they are not consecutive, so a batch of several events that comes back is checked
 * against the events at the reported revisions; an event the stream's metadata hides cannot be checked and is taken
 * as the server says.
 */
async function serverDecides(deps: AppendDeps, prepared: PreparedAppend): Promise<AppendResult> {
  const result = await send(deps, prepared, prepared.expectedVersion === 'any' ? ANY : STREAM_EXISTS);
  if (!result.success) throw result.error;
  if (!hasLogPosition(result.position)) return rejudge(deps, prepared, result, undefined);
  const last = versionAfter(result);
  const n = prepared.events.length;
  const first = last - n + 1;
  if (n > 1) {
    const back = await readRange(deps, prepared.streamId, first, n);
    if (back.some((e) => e.id !== prepared.events[e.version - first]!.id)) {
      throw wrong(prepared, undefined, 'the event ids match earlier events that are not consecutive');
    }
  }
  const lastPosition = hasLogPosition(result.position)
    ? encodePosition(result.position)
    : await positionOf(deps, prepared.streamId, last, prepared.events[n - 1]!.id);
  return { nextExpectedVersion: last, lastPosition };
}
