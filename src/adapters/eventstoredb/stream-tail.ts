import {
  BACKWARDS,
  END,
  type EventStoreDBClient,
  FORWARDS,
  StreamNotFoundError,
} from '@eventstore/db-client';
import { ErrorCodes, EventStoreError } from '../../contract/index.js';
import { PositionFinder } from './find-position.js';
import { mapError } from './map-error.js';
import { encodePosition, hasLogPosition, type LogPosition } from './position.js';
import type { StreamHeads } from './stream-heads.js';

/** What the append's reads need: the client, this store's stream heads, and the idempotency window. */
export interface TailDeps {
  client: EventStoreDBClient;
  heads: StreamHeads;
  window: number;
}

/** One event of a stream's tail as a read returned it (its position, when the read had one). */
export interface TailEvent {
  id: string;
  version: number;
  position: LogPosition | undefined;
}

/**
 * The stream's last `window` events as far as a read shows them, oldest first. When this store's head of the stream
 * covers the window, only the events after it are read (another writer's few, typically) and the head supplies the
 * rest: events never change, so what the head says about versions up to its own stays true.
 */
export async function readRecent(deps: TailDeps, streamId: string): Promise<TailEvent[]> {
  const head = deps.heads.get(streamId);
  if (!head || !deps.heads.coversWindow(head)) return readTail(deps, streamId);
  const newer = await readRange(deps, streamId, head.version + 1, deps.window);
  // More than a window since the head, or a gap (metadata hides the first newer events): read the tail itself.
  if (newer.length >= deps.window || (newer[0] && newer[0].version !== head.version + 1)) {
    return readTail(deps, streamId);
  }
  const known = head.ids.map((id, k) => ({
    id,
    version: head.version - head.ids.length + 1 + k,
    position: undefined,
  }));
  return [...known, ...newer].slice(-deps.window);
}

/** The stream's last `window` visible events, oldest first (none for a stream that does not exist). */
export async function readTail(deps: TailDeps, streamId: string): Promise<TailEvent[]> {
  const out: TailEvent[] = [];
  try {
    for await (const { event } of deps.client.readStream(streamId, {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: deps.window,
    })) {
      out.push({ id: event!.id, version: Number(event!.revision) + 1, position: event!.position });
    }
  } catch (err) {
    if (err instanceof StreamNotFoundError) return [];
    throw mapError(err, { operation: 'append', request: 'read', streamId });
  }
  return out.reverse();
}

/** The visible events among versions first … first + n − 1 (a read by revision skips hidden ones, so filter). */
export async function readRange(
  deps: TailDeps,
  streamId: string,
  first: number,
  n: number,
): Promise<TailEvent[]> {
  const out: TailEvent[] = [];
  try {
    for await (const { event } of deps.client.readStream(streamId, {
      direction: FORWARDS,
      fromRevision: BigInt(first - 1),
      maxCount: n,
    })) {
      const version = Number(event!.revision) + 1;
      if (version >= first && version < first + n)
        out.push({ id: event!.id, version, position: event!.position });
    }
  } catch (err) {
    if (err instanceof StreamNotFoundError) return [];
    throw mapError(err, { operation: 'append', request: 'read', streamId });
  }
  return out;
}

/**
 * The position of the event `id` at `version`, when the answer or the read that found it carried none: the stream
 * read, else $all (see {@link PositionFinder}). An event neither has any more (its stream was deleted or truncated
 * and the log scavenged) has no position to report, and this is STREAM_DELETED rather than a made-up number.
 */
export async function positionOf(
  deps: TailDeps,
  streamId: string,
  version: number,
  id: string,
): Promise<bigint> {
  const [read] = await readRange(deps, streamId, version, 1);
  if (read?.id === id && hasLogPosition(read.position)) return encodePosition(read.position);
  const found = await new PositionFinder(deps.client, streamId).find(id).catch((err: unknown) => {
    throw mapError(err, { operation: 'append', request: 'read', streamId });
  });
  if (found) return encodePosition(found);
  throw new EventStoreError(
    ErrorCodes.STREAM_DELETED,
    `Stream '${streamId}': the append is a retry of events already written, but the stream no longer shows them ` +
      '(deleted or truncated) and $all no longer has them, so their position is unknown; nothing was written',
    { streamId },
  );
}
