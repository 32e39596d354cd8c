import { randomUUID } from 'node:crypto';
import {
  ANY,
  type AppendExpectedRevision,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  START,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EsdbEmulator, startEsdbEmulator } from '../support/esdb-emulator/index.js';

/**
 * The emulator's stream lifecycle against the official tests, ported to the Node client with their expected values
 * and named after them: the .NET client's DeleteTests, SoftDeleteTests, StreamMetadataTests and
 * ReadStreamWhenHavingMaxCountSetForStreamTests (kurrent-io/KurrentDB-Client-Dotnet, test/KurrentDB.Client.Tests/
 * Streams/), and the server's when_having_truncatebefore_set_for_stream (kurrent-io/KurrentDB,
 * src/EventStore.Core.Tests/ClientAPI/), whose ReadEvent cases become one-event reads. Cases that only test the
 * client's deadline handling are left out, and so is soft_deleting_a_stream_that_exists (the Node client cannot
 * send StreamExists to Delete).
 */
let emulator: EsdbEmulator;
let client: EventStoreDBClient;

beforeAll(async () => {
  emulator = await startEsdbEmulator();
  client = EventStoreDBClient.connectionString(`${emulator.url}&defaultDeadline=5000`);
});

afterAll(async () => {
  await client.dispose();
  await emulator.stop();
});

const stream = () => `s-${randomUUID()}`;
const events = (n: number) =>
  Array.from({ length: n }, (_, i) => jsonEvent({ id: randomUUID(), type: 'test-event', data: { i } }));

async function read(name: string, options: Parameters<EventStoreDBClient['readStream']>[1] = {}) {
  const out = [];
  for await (const e of client.readStream(name, options)) out.push(e.event!);
  return out;
}

const ids = (list: readonly { id: string }[]) => list.map((e) => e.id);

/** The metastream's last event: the Node client's getStreamMetadata reports a position as its revision. */
async function metastream(name: string) {
  const [last] = await read(`$$${name}`, { direction: BACKWARDS, fromRevision: END, maxCount: 1 });
  return { revision: last!.revision, data: last!.data as Record<string, unknown> };
}

/** Appends one `$metadata` event with exactly these JSON bytes (a double cannot carry `$tb` = long.MaxValue). */
function rawMetadata(name: string, json: string, expected: 'no_stream' | bigint): Promise<unknown> {
  const raw = new streamsGrpc.StreamsClient(`127.0.0.1:${emulator.port}`, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = raw.append((err: unknown, resp: unknown) => {
      raw.close();
      if (err) reject(err);
      else resolve(resp);
    });
    const options = new streamsPb.AppendReq.Options();
    const id = new sharedPb.StreamIdentifier();
    id.setStreamName(Buffer.from(`$$${name}`));
    options.setStreamIdentifier(id);
    if (expected === 'no_stream') options.setNoStream(new sharedPb.Empty());
    else options.setRevision(expected.toString());
    call.write(new streamsPb.AppendReq().setOptions(options));
    const m = new streamsPb.AppendReq.ProposedMessage();
    const uuid = new sharedPb.UUID();
    uuid.setString(randomUUID());
    m.setId(uuid);
    m.getMetadataMap().set('type', '$metadata').set('content-type', 'application/json');
    m.setData(Buffer.from(json));
    m.setCustomMetadata(new Uint8Array());
    call.write(new streamsPb.AppendReq().setProposedMessage(m));
    call.end();
  });
}

describe('DeleteTests', () => {
  it.each([
    ['Any', ANY],
    ['NoStream', NO_STREAM],
  ] as const)(
    'hard_deleting_a_stream_that_does_not_exist_with_expected_version_does_not_throw (%s)',
    async (_, expectedRevision) => {
      await client.tombstoneStream(stream(), { expectedRevision });
    },
  );

  it('hard_deleting_a_stream_that_does_not_exist_with_wrong_expected_version_throws', async () => {
    await expect(client.tombstoneStream(stream(), { expectedRevision: 0n })).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
  });

  it('soft_deleting_a_stream_that_does_not_exist_with_wrong_expected_version_throws', async () => {
    await expect(client.deleteStream(stream(), { expectedRevision: 0n })).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
  });

  it('hard_deleting_a_stream_should_return_log_position', async () => {
    const s = stream();
    const w = await client.appendToStream(s, events(1), { expectedRevision: NO_STREAM });
    const d = await client.tombstoneStream(s, { expectedRevision: w.nextExpectedRevision });
    expect(d.position!.commit).toBeGreaterThan(w.position!.commit);
  });

  it('soft_deleting_a_stream_should_return_log_position', async () => {
    const s = stream();
    const w = await client.appendToStream(s, events(1), { expectedRevision: NO_STREAM });
    const d = await client.deleteStream(s, { expectedRevision: w.nextExpectedRevision });
    expect(d.position!.commit).toBeGreaterThan(w.position!.commit);
  });

  it('hard_deleting_a_deleted_stream_should_throw', async () => {
    const s = stream();
    await client.tombstoneStream(s, { expectedRevision: NO_STREAM });
    await expect(client.tombstoneStream(s, { expectedRevision: NO_STREAM })).rejects.toBeInstanceOf(
      StreamDeletedError,
    );
  });
});

describe('SoftDeleteTests', () => {
  it('reading_throws', async () => {
    const s = stream();
    const w = await client.appendToStream(s, events(1), { expectedRevision: NO_STREAM });
    expect(w.nextExpectedRevision).toBe(0n);
    await client.deleteStream(s, { expectedRevision: w.nextExpectedRevision });
    await expect(read(s)).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it.each([
    ['Any', ANY],
    ['NoStream', NO_STREAM],
  ] as const)('recreated_with_any_expected_version (%s)', async (_, expectedRevision) => {
    const s = stream();
    const w = await client.appendToStream(s, events(1), { expectedRevision: NO_STREAM });
    await client.deleteStream(s, { expectedRevision: w.nextExpectedRevision });
    const three = events(3);
    expect((await client.appendToStream(s, three, { expectedRevision })).nextExpectedRevision).toBe(3n);
    const actual = await read(s);
    expect(ids(actual)).toEqual(ids(three));
    expect(actual.map((e) => e.revision)).toEqual([1n, 2n, 3n]);
    const meta = await metastream(s);
    expect(meta.data.$tb).toBe(1);
    expect(meta.revision).toBe(1n);
  });

  it('recreated_preserves_metadata_except_truncate_before', async () => {
    const s = stream();
    expect(
      (await client.appendToStream(s, events(2), { expectedRevision: NO_STREAM })).nextExpectedRevision,
    ).toBe(1n);
    // $tb = long.MaxValue, the soft-delete marker, written as metadata.
    const custom = { key1: true, key2: 17, key3: 'some value' };
    const json = `{"$maxCount":100,"$acl":{"$d":"some-role"},"key1":true,"key2":17,"key3":"some value","$tb":9223372036854775807}`;
    await rawMetadata(s, json, 'no_stream');
    const three = events(3);
    await client.appendToStream(s, three, { expectedRevision: 1n });
    const actual = await read(s);
    expect(ids(actual)).toEqual(ids(three));
    expect(actual.map((e) => e.revision)).toEqual([2n, 3n, 4n]);
    const meta = await metastream(s);
    expect(meta.revision).toBe(1n);
    expect(meta.data).toEqual({ $maxCount: 100, $acl: { $d: 'some-role' }, ...custom, $tb: 2 });
  });

  it('allows_recreating_for_first_write_only_throws_wrong_expected_version', async () => {
    const s = stream();
    await client.appendToStream(s, events(2), { expectedRevision: NO_STREAM });
    await client.deleteStream(s, { expectedRevision: 1n });
    expect(
      (await client.appendToStream(s, events(3), { expectedRevision: NO_STREAM })).nextExpectedRevision,
    ).toBe(4n);
    await expect(client.appendToStream(s, events(1), { expectedRevision: NO_STREAM })).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
  });

  it('appends_multiple_writes_expected_version_any', async () => {
    const s = stream();
    await client.appendToStream(s, events(2), { expectedRevision: NO_STREAM });
    await client.deleteStream(s, { expectedRevision: 1n });
    const first = events(3);
    const second = events(2);
    expect((await client.appendToStream(s, first)).nextExpectedRevision).toBe(4n);
    expect((await client.appendToStream(s, second)).nextExpectedRevision).toBe(6n);
    const actual = await read(s);
    expect(ids(actual)).toEqual(ids([...first, ...second]));
    expect(actual.map((e) => e.revision)).toEqual([2n, 3n, 4n, 5n, 6n]);
    const meta = await metastream(s);
    expect(meta.data.$tb).toBe(2);
    expect(meta.revision).toBe(1n);
  });

  it('recreated_on_empty_when_metadata_set', async () => {
    const s = stream();
    const w = await client.setStreamMetadata(
      s,
      { maxCount: 100, truncateBefore: 0, acl: { deleteRoles: ['some-role'] }, key1: true },
      { expectedRevision: NO_STREAM },
    );
    expect(w.nextExpectedRevision).toBe(0n);
    await expect(read(s)).rejects.toBeInstanceOf(StreamNotFoundError);
    const meta = await metastream(s);
    expect(meta.revision).toBe(0n);
    expect(meta.data).toEqual({ $maxCount: 100, $tb: 0, $acl: { $d: ['some-role'] }, key1: true });
  });

  it('recreated_on_non_empty_when_metadata_set', async () => {
    const s = stream();
    const w = await client.appendToStream(s, events(2), { expectedRevision: NO_STREAM });
    expect(w.nextExpectedRevision).toBe(1n);
    await client.deleteStream(s, { expectedRevision: w.nextExpectedRevision });
    const m = await client.setStreamMetadata(s, { maxCount: 100, key1: true }, { expectedRevision: 0n });
    expect(m.nextExpectedRevision).toBe(1n);
    // The stream is re-created (no longer StreamNotFound) with its old events still truncated.
    expect(await read(s)).toEqual([]);
    expect((await metastream(s)).data).toEqual({ $maxCount: 100, key1: true, $tb: 2 });
  });
});

describe('StreamMetadataTests', () => {
  it('getting_for_an_existing_stream_and_no_metadata_exists', async () => {
    const s = stream();
    await client.appendToStream(s, events(1), { expectedRevision: NO_STREAM });
    expect(await client.getStreamMetadata(s)).toEqual({ streamName: s });
  });

  it('empty_metadata', async () => {
    const s = stream();
    await client.setStreamMetadata(s, {}, { expectedRevision: NO_STREAM });
    expect(await metastream(s)).toEqual({ revision: 0n, data: {} });
  });

  it.each([
    [
      'latest_metadata_is_returned',
      (r?: bigint): AppendExpectedRevision => (r === undefined ? NO_STREAM : r),
    ],
    ['latest_metadata_returned_stream_revision_any', (): AppendExpectedRevision => ANY],
  ] as const)('%s', async (_, expected) => {
    const s = stream();
    const first = { maxCount: 17, maxAge: 0xdeadbeef, truncateBefore: 10, cacheControl: 0xabacaba };
    await client.setStreamMetadata(s, first, { expectedRevision: expected(undefined) });
    expect((await client.getStreamMetadata(s)).metadata).toEqual(first);
    expect((await metastream(s)).revision).toBe(0n);
    const second = { maxCount: 37, maxAge: 0xbeefdead, truncateBefore: 24, cacheControl: 0xdabacabad };
    await client.setStreamMetadata(s, second, { expectedRevision: expected(0n) });
    expect((await client.getStreamMetadata(s)).metadata).toEqual(second);
    expect((await metastream(s)).revision).toBe(1n);
  });

  it('setting_with_wrong_expected_version_throws', async () => {
    await expect(client.setStreamMetadata(stream(), {}, { expectedRevision: 2n })).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
  });
});

describe('ReadStreamWhenHavingMaxCountSetForStreamTests', () => {
  /** Metadata `$maxCount` = 3, five events, then (optionally) `$maxCount` = `then`; the read's ids. */
  async function scenario(direction: typeof FORWARDS | typeof BACKWARDS, then?: number) {
    const s = stream();
    await client.setStreamMetadata(s, { maxCount: 3 }, { expectedRevision: NO_STREAM });
    const five = events(5);
    await client.appendToStream(s, five, { expectedRevision: NO_STREAM });
    if (then !== undefined) await client.setStreamMetadata(s, { maxCount: then }, { expectedRevision: 0n });
    const got = await read(s, {
      direction,
      fromRevision: direction === FORWARDS ? START : END,
      maxCount: 100,
    });
    return { five: ids(five), got: ids(got) };
  }

  it('read_stream_forwards_respects_max_count', async () => {
    const { five, got } = await scenario(FORWARDS);
    expect(got).toEqual(five.slice(2));
  });

  it('read_stream_backwards_respects_max_count', async () => {
    const { five, got } = await scenario(BACKWARDS);
    expect(got).toEqual(five.slice(2).reverse());
  });

  it('after_setting_less_strict_max_count_read_stream_forward_reads_more_events', async () => {
    const { five, got } = await scenario(FORWARDS, 4);
    expect(got).toEqual(five.slice(1));
  });

  it('after_setting_more_strict_max_count_read_stream_forward_reads_less_events', async () => {
    const { five, got } = await scenario(FORWARDS, 2);
    expect(got).toEqual(five.slice(3));
  });

  it('after_setting_less_strict_max_count_read_stream_backwards_reads_more_events', async () => {
    const { five, got } = await scenario(BACKWARDS, 4);
    expect(got).toEqual(five.slice(1).reverse());
  });

  it('after_setting_more_strict_max_count_read_stream_backwards_reads_less_events', async () => {
    const { five, got } = await scenario(BACKWARDS, 2);
    expect(got).toEqual(five.slice(3).reverse());
  });
});

describe('when_having_truncatebefore_set_for_stream', () => {
  /** Five events, `$tb` = 2, then (optionally) other metadata at metastream revision 0. */
  async function truncated(then?: { truncateBefore: number; maxCount?: number }) {
    const s = stream();
    const five = events(5);
    await client.appendToStream(s, five, { expectedRevision: NO_STREAM });
    await client.setStreamMetadata(s, { truncateBefore: 2 }, { expectedRevision: NO_STREAM });
    if (then) await client.setStreamMetadata(s, then, { expectedRevision: 0n });
    return { s, five: ids(five) };
  }
  /** ReadEvent(stream, n): a one-event read from revision n, found only when it returns revision n. */
  async function readEvent(s: string, n: bigint) {
    const [e] = await read(s, { direction: FORWARDS, fromRevision: n, maxCount: 1 });
    return e?.revision === n ? e.id : undefined;
  }
  const all = (s: string, direction: typeof FORWARDS | typeof BACKWARDS) =>
    read(s, { direction, fromRevision: direction === FORWARDS ? START : END, maxCount: 100 }).then(ids);

  it('read_event_respects_truncatebefore', async () => {
    const { s, five } = await truncated();
    expect(await readEvent(s, 1n)).toBeUndefined();
    expect(await readEvent(s, 2n)).toBe(five[2]);
  });

  it('read_stream_forward_respects_truncatebefore', async () => {
    const { s, five } = await truncated();
    expect(await all(s, FORWARDS)).toEqual(five.slice(2));
  });

  it('read_stream_backward_respects_truncatebefore', async () => {
    const { s, five } = await truncated();
    expect(await all(s, BACKWARDS)).toEqual(five.slice(2).reverse());
  });

  it('after_setting_less_strict_truncatebefore_read_event_reads_more_events', async () => {
    const { s, five } = await truncated({ truncateBefore: 1 });
    expect(await readEvent(s, 0n)).toBeUndefined();
    expect(await readEvent(s, 1n)).toBe(five[1]);
  });

  it('after_setting_more_strict_truncatebefore_read_event_reads_less_events', async () => {
    const { s, five } = await truncated({ truncateBefore: 3 });
    expect(await readEvent(s, 2n)).toBeUndefined();
    expect(await readEvent(s, 3n)).toBe(five[3]);
  });

  it('less_strict_max_count_doesnt_change_anything_for_event_read', async () => {
    const { s, five } = await truncated({ truncateBefore: 2, maxCount: 4 });
    expect(await readEvent(s, 1n)).toBeUndefined();
    expect(await readEvent(s, 2n)).toBe(five[2]);
  });

  it('more_strict_max_count_gives_less_events_for_event_read', async () => {
    const { s, five } = await truncated({ truncateBefore: 2, maxCount: 2 });
    expect(await readEvent(s, 2n)).toBeUndefined();
    expect(await readEvent(s, 3n)).toBe(five[3]);
  });

  it.each([
    [
      'after_setting_less_strict_truncatebefore_read_stream_forward_reads_more_events',
      FORWARDS,
      { truncateBefore: 1 },
      1,
    ],
    [
      'after_setting_more_strict_truncatebefore_read_stream_forward_reads_less_events',
      FORWARDS,
      { truncateBefore: 3 },
      3,
    ],
    [
      'less_strict_max_count_doesnt_change_anything_for_stream_forward_read',
      FORWARDS,
      { truncateBefore: 2, maxCount: 4 },
      2,
    ],
    [
      'more_strict_max_count_gives_less_events_for_stream_forward_read',
      FORWARDS,
      { truncateBefore: 2, maxCount: 2 },
      3,
    ],
    [
      'after_setting_less_strict_truncatebefore_read_stream_backward_reads_more_events',
      BACKWARDS,
      { truncateBefore: 1 },
      1,
    ],
    [
      'after_setting_more_strict_truncatebefore_read_stream_backward_reads_less_events',
      BACKWARDS,
      { truncateBefore: 3 },
      3,
    ],
    [
      'less_strict_max_count_doesnt_change_anything_for_stream_backward_read',
      BACKWARDS,
      { truncateBefore: 2, maxCount: 4 },
      2,
    ],
    [
      'more_strict_max_count_gives_less_events_for_stream_backward_read',
      BACKWARDS,
      { truncateBefore: 2, maxCount: 2 },
      3,
    ],
  ] as const)('%s', async (_, direction, then, from) => {
    const { s, five } = await truncated(then);
    const expected = five.slice(from);
    expect(await all(s, direction)).toEqual(direction === FORWARDS ? expected : expected.reverse());
  });
});

describe('scavenge (the server source: what a scavenge removes)', () => {
  it('removes deleted, truncated and retention-hidden events from the log, $all included, and keeps the tombstone', async () => {
    const node = await startEsdbEmulator();
    const c = EventStoreDBClient.connectionString(`${node.url}&defaultDeadline=5000`);
    try {
      const [soft, hard, cut, kept] = [stream(), stream(), stream(), stream()];
      for (const s of [soft, hard, cut, kept]) await c.appendToStream(s, events(3));
      await c.deleteStream(soft);
      await c.tombstoneStream(hard);
      await c.setStreamMetadata(cut, { maxCount: 1 });
      node.scavenge();
      const left = node.log.all
        .filter((e) => [soft, hard, cut, kept].includes(e.streamId))
        .map((e) => `${e.streamId}@${e.revision}`)
        .sort();
      const expected = [`${cut}@2`, `${hard}@9223372036854775807`, `${kept}@0`, `${kept}@1`, `${kept}@2`];
      expect(left).toEqual(expected.sort());
      expect(node.log.all.some((e) => e.streamId === `$$${hard}`)).toBe(false);
    } finally {
      await c.dispose();
      await node.stop();
    }
  });
});
