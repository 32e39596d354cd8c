import {
  BACKWARDS,
  WrongExpectedVersionError as ClientWrongExpectedVersion,
  END,
  type EventStoreDBClient,
  jsonEvent,
  NO_STREAM,
  StreamNotFoundError,
} from '@eventstore/db-client';
import { isEventStoreError } from '../../contract/index.js';
import { mapError } from './map-error.js';

/**
 * Subscription state in streams of the server's own (docs/eventstoredb.md, "Subscriptions"). Their names start
 * with `$`, so readAll and subscriptions, which leave system streams out, never see them; writing them needs a
 * user in `$admins` (the default `admin` is). A checkpoint is the last event of `$eventstore-kit-checkpoint-<name>`
 * (`{ position }`, `null` once deleted); a lease is the last event of `$eventstore-kit-lease-<name>`
 * (`{ owner, expires }`), taken by an append that expects the revision it read, so two instances cannot both take
 * it. Each save or renewal appends one small event; the streams' `$maxCount` is set to 10 at their first write so
 * the server scavenges the rest.
 */
const CHECKPOINT = '$eventstore-kit-checkpoint-';
const LEASE = '$eventstore-kit-lease-';

interface Last<T> {
  data: T;
  revision: bigint;
}

async function last<T>(client: EventStoreDBClient, stream: string): Promise<Last<T> | undefined> {
  try {
    let found: Last<T> | undefined;
    for await (const e of client.readStream(stream, {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: 1,
    })) {
      found = { data: e.event!.data as T, revision: e.event!.revision };
    }
    return found;
  } catch (err) {
    if (err instanceof StreamNotFoundError) return undefined;
    throw mapError(err, { operation: 'checkpoints' });
  }
}

/** Streams whose `$maxCount` this process has set: each is set once, at the first write seen here. */
const capped = new Set<string>();

async function write(client: EventStoreDBClient, stream: string, data: Record<string, string | null>) {
  try {
    await client.appendToStream(stream, jsonEvent({ type: 'eventstore-kit', data }));
  } catch (err) {
    throw mapError(err, { operation: 'checkpoints' });
  }
  if (!capped.has(stream)) {
    capped.add(stream);
    await client.setStreamMetadata(stream, { maxCount: 10 }).catch(() => {});
  }
}

export async function loadCheckpoint(client: EventStoreDBClient, name: string): Promise<bigint | undefined> {
  const found = await last<{ position: string | null }>(client, CHECKPOINT + name);
  return found?.data.position == null ? undefined : BigInt(found.data.position);
}

export async function saveCheckpoint(
  client: EventStoreDBClient,
  name: string,
  position: bigint,
): Promise<void> {
  await write(client, CHECKPOINT + name, { position: position.toString() });
}

export async function deleteCheckpoint(client: EventStoreDBClient, name: string): Promise<void> {
  if ((await loadCheckpoint(client, name)) === undefined) return;
  await write(client, CHECKPOINT + name, { position: null });
}

type LeaseData = { owner: string | null; expires: string };

/** Takes or renews the lease: free, expired or `owner`'s, by an append that expects the revision read. */
export async function acquireLease(
  client: EventStoreDBClient,
  name: string,
  owner: string,
  ttlMs: number,
): Promise<boolean> {
  const stream = LEASE + name;
  const found = await last<LeaseData>(client, stream);
  const now = Date.now();
  if (found && found.data.owner !== null && found.data.owner !== owner && Number(found.data.expires) > now) {
    return false;
  }
  try {
    await client.appendToStream(
      stream,
      jsonEvent({ type: 'eventstore-kit', data: { owner, expires: String(now + ttlMs) } }),
      { expectedRevision: found ? found.revision : NO_STREAM },
    );
  } catch (err) {
    if (err instanceof ClientWrongExpectedVersion) return false;
    const mapped = mapError(err, { operation: 'subscribe' });
    if (isEventStoreError(mapped, 'WRONG_EXPECTED_VERSION')) return false;
    throw mapped;
  }
  if (!capped.has(stream)) {
    capped.add(stream);
    await client.setStreamMetadata(stream, { maxCount: 10 }).catch(() => {});
  }
  return true;
}

export async function releaseLease(client: EventStoreDBClient, name: string, owner: string): Promise<void> {
  const stream = LEASE + name;
  const found = await last<LeaseData>(client, stream);
  if (!found || found.data.owner !== owner) return;
  await client
    .appendToStream(stream, jsonEvent({ type: 'eventstore-kit', data: { owner: null, expires: '0' } }), {
      expectedRevision: found.revision,
    })
    .catch(() => {});
}
