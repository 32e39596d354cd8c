import {
  ErrorCodes,
  type EventStore,
  EventStoreError,
  type NewEvent,
  NotSupportedError,
  type RecordedEvent,
} from '../contract/index.js';
import { copyMetadata } from './copy-metadata.js';

/** How far a copy has got, reported after each append. */
export interface CopyProgress {
  /** Source events handled so far: written to the target, or found there already (a resumed copy). */
  done: number;
  /** Of `done`, the events this run wrote. */
  written: number;
  /** Of `done`, the events the target held already. */
  present: number;
  /** The source position of the last event handled. */
  position: bigint;
}

export interface CopyOptions {
  /** Called after each append (and after each run of events the target held already). */
  onProgress?: (progress: CopyProgress) => void;
  /** The most events per append; the target's own `maxEventsPerAppend` and `maxAppendBytes` also bound it. */
  maxBatch?: number;
  /** Stops the copy between two appends (the copy then rejects with the signal's reason). */
  signal?: AbortSignal;
}

export interface CopyResult extends CopyProgress {
  /** Streams the copy met. */
  streams: number;
  /** Streams whose metadata this run wrote to the target (the others had none, or the target had it already). */
  metadataWritten: number;
}

/** What the target holds of a stream: its version and the id of its last event. */
interface TargetHead {
  version: number;
  lastId: string | undefined;
}

const DEFAULT_MAX_BATCH = 100;

/** The bytes an event counts for the target's append limits (type + data JSON + metadata JSON, UTF-8). */
function eventBytes(e: RecordedEvent): number {
  return (
    Buffer.byteLength(e.type) +
    Buffer.byteLength(JSON.stringify(e.data)) +
    Buffer.byteLength(JSON.stringify(e.metadata))
  );
}

function toImport(e: RecordedEvent): NewEvent {
  return { id: e.id, type: e.type, data: e.data, metadata: e.metadata, createdAt: e.createdAt };
}

/** One call for a stream the target does not have (a fresh copy), two for one it has (a resumed copy). */
async function headOf(target: EventStore, streamId: string): Promise<TargetHead> {
  const version = await target.streamVersion(streamId);
  if (version === 0) return { version, lastId: undefined };
  for await (const e of target.readStream(streamId, { direction: 'backwards', maxCount: 1 })) {
    return { version: e.version, lastId: e.id };
  }
  return { version, lastId: undefined };
}

/**
 * Copies every event of `source` into `target`, in the source's global order, keeping stream ids, versions, event
 * ids, types, data, metadata and `createdAt` (an import append, `preserveCreatedAt`). Positions are the target's;
 * their order is the source's, since the appends go one after another in readAll order. A consumer re-bases a
 * checkpoint through the last event it processed: its stream id and version are the same on both sides (see
 * README, "Migrating between backends").
 *
 * Consecutive events of one stream go in one append, at the exact expected version `first version − 1` and with
 * their own ids. The copy is resumable from the target itself: for each stream it meets, it asks the target for
 * the stream's head once, skips the events the target holds already (checking that the target's last event is the
 * source's event at that version) and appends the rest. Run again after an interruption, it writes exactly what is
 * missing; an append whose outcome was lost is recognised by its ids (`WRONG_EXPECTED_VERSION` never follows from
 * it). Run again after it finished, it writes nothing.
 *
 * A source stream whose first readable event is past version 1 (its earlier events were truncated, removed by
 * retention, or deleted before it was appended to again) starts on the target at that version, through an import
 * with `firstVersion` (`capabilities.importFirstVersion`; a target without it is `NOT_SUPPORTED`, before anything of
 * that stream is written). Once every event is copied, each stream's metadata (retention, custom keys) is copied
 * where the source has any and the target differs (see `copyMetadata`): after the events, so that the target's
 * retention applies to what the copy wrote as the source's applies to it, and never hides an event still to come.
 *
 * A target stream that holds other events than the source's is `WRONG_EXPECTED_VERSION`, and so is one that the
 * source has since truncated past the target's end (a resumed copy after the source's retention removed events the
 * first run had not copied yet: truncate or drop the target's stream and run again).
 */
export async function copyStore(
  source: EventStore,
  target: EventStore,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const maxEvents = Math.max(
    1,
    Math.min(options.maxBatch ?? DEFAULT_MAX_BATCH, target.capabilities.maxEventsPerAppend),
  );
  const maxBytes = target.capabilities.maxAppendBytes;
  const heads = new Map<string, TargetHead>();
  /** Streams whose next append starts them on the target past version 1. */
  const starts = new Set<string>();
  const progress: CopyProgress = { done: 0, written: 0, present: 0, position: 0n };
  let batch: RecordedEvent[] = [];
  let batchBytes = 0;

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    options.signal?.throwIfAborted();
    const first = batch[0]!;
    const last = batch[batch.length - 1]!;
    const start = starts.delete(first.streamId);
    const result = await target.append(first.streamId, batch.map(toImport), {
      expectedVersion: first.version - 1,
      preserveCreatedAt: true,
      ...(start ? { firstVersion: first.version } : {}),
    });
    if (result.nextExpectedVersion !== last.version) {
      throw new EventStoreError(
        ErrorCodes.BACKEND_ERROR,
        `copy: stream '${first.streamId}' reached version ${result.nextExpectedVersion} on the target, expected ${last.version}`,
      );
    }
    heads.set(first.streamId, { version: last.version, lastId: last.id });
    progress.done += batch.length;
    progress.written += batch.length;
    progress.position = last.position;
    batch = [];
    batchBytes = 0;
    options.onProgress?.({ ...progress });
  };

  for await (const e of source.readAll()) {
    let head = heads.get(e.streamId);
    if (head === undefined) {
      if (batch.length > 0) await flush();
      head = await headOf(target, e.streamId);
      heads.set(e.streamId, head);
      if (e.version > 1 && head.version === 0) {
        if (target.capabilities.importFirstVersion !== true) {
          throw new NotSupportedError(
            `copy: stream '${e.streamId}' starts at version ${e.version} in the source (its earlier events were truncated or deleted); starting it there on the target`,
            'importFirstVersion',
          );
        }
        starts.add(e.streamId);
      } else if (e.version > 1 && head.version < e.version - 1) {
        throw new EventStoreError(
          ErrorCodes.WRONG_EXPECTED_VERSION,
          `copy: the target's stream '${e.streamId}' ends at version ${head.version}, but the source's now starts at version ${e.version} (its events in between were removed since); truncate or drop the target's stream and copy again`,
        );
      }
    }
    if (e.version <= head.version) {
      // A resumed copy: the target holds this event already. Its last event must be the source's.
      if (e.version === head.version && head.lastId !== undefined && head.lastId !== e.id) {
        throw new EventStoreError(
          ErrorCodes.WRONG_EXPECTED_VERSION,
          `copy: the target's stream '${e.streamId}' holds another event at version ${e.version} than the source`,
        );
      }
      progress.done++;
      progress.present++;
      progress.position = e.position;
      if (progress.present % 1000 === 0) options.onProgress?.({ ...progress });
      continue;
    }
    const bytes = eventBytes(e);
    const last = batch[batch.length - 1];
    if (
      last !== undefined &&
      (last.streamId !== e.streamId || batch.length >= maxEvents || batchBytes + bytes > maxBytes)
    ) {
      await flush();
    }
    batch.push(e);
    batchBytes += bytes;
  }
  await flush();
  options.onProgress?.({ ...progress });
  options.signal?.throwIfAborted();
  const metadataWritten = await copyMetadata(source, target, heads.keys(), options.signal);
  return { ...progress, streams: heads.size, metadataWritten };
}
