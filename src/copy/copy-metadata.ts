import {
  type EventStore,
  NotSupportedError,
  type StreamMetadata,
  type StreamMetadataResult,
} from '../contract/index.js';
import { canonical } from './canonical.js';

/** Metadata reads in flight at once: one per stream, so that a store of many streams does not wait on each. */
const CONCURRENCY = 8;

/**
 * What of a stream's metadata a copy carries and verify compares: retention and custom keys. `truncateBefore` is
 * left out: where the source's first readable event is past it (retention hides more), the target starts the stream
 * at that event and so has a higher `truncateBefore`; the versions of the events, which verify hashes, show what
 * the truncation left.
 */
export function portableMetadata(metadata: StreamMetadata): string {
  const { maxCount, maxAge, custom } = metadata;
  return canonical({
    ...(maxCount === undefined ? {} : { maxCount }),
    ...(maxAge === undefined ? {} : { maxAge }),
    ...(custom === undefined ? {} : { custom }),
  });
}

const EMPTY = portableMetadata({});

/**
 * Copies each stream's metadata from `source` to `target` where the source has any and the target's differs,
 * `CONCURRENCY` streams at a time; returns how many streams it wrote. A source without the lifecycle has none. The
 * write keeps the target's `truncateBefore` unless the source's is higher, since a truncation only grows.
 */
export async function copyMetadata(
  source: EventStore,
  target: EventStore,
  streamIds: Iterable<string>,
  signal: AbortSignal | undefined,
): Promise<number> {
  if (source.capabilities.lifecycle !== true) return 0;
  const pending = [...streamIds];
  let written = 0;
  const worker = async (): Promise<void> => {
    for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
      signal?.throwIfAborted();
      const from = await source.getStreamMetadata(id);
      if (from.metadataVersion === 0 && portableMetadata(from.metadata) === EMPTY) continue;
      if (target.capabilities.lifecycle !== true) {
        if (portableMetadata(from.metadata) === EMPTY) continue;
        throw new NotSupportedError(`copy: the metadata of stream '${id}'`, 'lifecycle');
      }
      const to = await target.getStreamMetadata(id);
      if (!differs(from, to)) continue;
      const { truncateBefore, ...rest } = from.metadata;
      const keep = truncateBefore === undefined || truncateBefore <= (to.metadata.truncateBefore ?? 1);
      await target.setStreamMetadata(id, keep ? rest : from.metadata, {
        expectedMetadataVersion: to.metadataVersion,
      });
      written++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return written;
}

function differs(from: StreamMetadataResult, to: StreamMetadataResult): boolean {
  return (
    portableMetadata(from.metadata) !== portableMetadata(to.metadata) ||
    (from.metadata.truncateBefore ?? 1) > (to.metadata.truncateBefore ?? 1)
  );
}
