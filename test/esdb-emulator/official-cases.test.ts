import { randomUUID } from 'node:crypto';
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  jsonEvent,
  MaxAppendSizeExceededError,
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
 * The emulator against the official clients' own expectations, ported to the Node client with their expected
 * values: the .NET client's stream tests (EventStore/EventStore-Client-Dotnet,
 * test/EventStore.Client.Streams.Tests/AppendToStream/append_to_stream.cs and append_to_stream_limits.cs,
 * DeleteStream/soft_deleted_stream.cs, ReadStream/read_stream_backward.cs), and behaviours of the server source
 * (kurrent-io/KurrentDB IndexWriter.CheckCommit, Streams.Append.cs, Streams.Read.cs) that the adapter relies on.
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
const event = (id = randomUUID()) => jsonEvent({ id, type: 'test-event', data: { n: 1 } });
const events = (n: number) => Array.from({ length: n }, () => event());

async function read(
  c: EventStoreDBClient,
  name: string,
  options: Parameters<EventStoreDBClient['readStream']>[1] = {},
) {
  const out = [];
  for await (const e of c.readStream(name, options)) out.push(e.event!);
  return out;
}

describe('the .NET client cases', () => {
  it('append_to_stream: ANY with the same six ids twice answers revision 5, then 0 (the cache keeps the first)', async () => {
    const s = stream();
    const e = event();
    const six = [e, e, e, e, e, e];
    expect((await client.appendToStream(s, six)).nextExpectedRevision).toBe(5n);
    expect((await client.appendToStream(s, six)).nextExpectedRevision).toBe(0n);
  });

  it('append_to_stream: STREAM_EXISTS succeeds when only the stream metadata exists', async () => {
    const s = stream();
    await client.setStreamMetadata(s, { maxCount: 10 });
    const r = await client.appendToStream(s, events(1), { expectedRevision: 'stream_exists' });
    expect(r.nextExpectedRevision).toBe(0n);
  });

  it('append_to_stream: STREAM_EXISTS on a soft-deleted stream is StreamDeleted', async () => {
    const s = stream();
    await client.appendToStream(s, events(1), { expectedRevision: NO_STREAM });
    await client.deleteStream(s);
    await expect(
      client.appendToStream(s, events(1), { expectedRevision: 'stream_exists' }),
    ).rejects.toBeInstanceOf(StreamDeletedError);
  });

  it('append_to_stream_limits: over MaxAppendSize is MaximumAppendSizeExceeded, with the limit', async () => {
    const small = await startEsdbEmulator({ maxAppendSize: 64 });
    const c = EventStoreDBClient.connectionString(`${small.url}&defaultDeadline=5000`);
    try {
      // Events up to 128 bytes of data (twice the limit), as the .NET fixture builds them.
      const batch = [];
      for (let size = 0; ; ) {
        const e = event();
        const bytes = Buffer.byteLength(JSON.stringify(e.data));
        if (size + bytes >= 128) break;
        size += bytes;
        batch.push(e);
      }
      const err = await c
        .appendToStream(stream(), batch, { expectedRevision: NO_STREAM })
        .catch((x: unknown) => x);
      expect(err).toBeInstanceOf(MaxAppendSizeExceededError);
      expect((err as MaxAppendSizeExceededError).maxAppendSize).toBe(64);
      // The other .NET case: below the limit succeeds (one event, 10 data bytes + 2 × 10 for the type).
      await expect(
        c.appendToStream(stream(), [event()], { expectedRevision: NO_STREAM }),
      ).resolves.toMatchObject({
        success: true,
      });
    } finally {
      await c.dispose();
      await small.stop();
    }
  });

  it('soft_deleted_stream.recreated_with_expected_version: the last revision re-creates the stream', async () => {
    const s = stream();
    const first = await client.appendToStream(s, events(1), { expectedRevision: NO_STREAM });
    expect(first.nextExpectedRevision).toBe(0n);
    await client.deleteStream(s, { expectedRevision: 0n });
    const three = events(3);
    const r = await client.appendToStream(s, three, { expectedRevision: 0n });
    expect(r.nextExpectedRevision).toBe(3n);
    const actual = await read(client, s);
    expect(actual.map((e) => e.id)).toEqual(three.map((e) => e.id));
    expect(actual.map((e) => e.revision)).toEqual([1n, 2n, 3n]);
    const meta = await client.getStreamMetadata(s);
    expect(meta.metadata?.truncateBefore).toBe(1);
    // The metadata stream's revision (the Node client reports a position there, so read it directly).
    const [last] = await read(client, `$$${s}`, { direction: BACKWARDS, fromRevision: END, maxCount: 1 });
    expect(last!.revision).toBe(1n);
  });

  it('soft_deleted_stream.can_be_hard_deleted: after a tombstone the metadata stream is deleted too', async () => {
    const s = stream();
    expect(
      (await client.appendToStream(s, events(2), { expectedRevision: NO_STREAM })).nextExpectedRevision,
    ).toBe(1n);
    await client.deleteStream(s, { expectedRevision: 1n });
    await client.tombstoneStream(s);
    const onRead = await read(client, s).catch((x: unknown) => x);
    expect(onRead).toBeInstanceOf(StreamDeletedError);
    expect((onRead as StreamDeletedError).streamName).toBe(s);
    const onMeta = await client.getStreamMetadata(s).catch((x: unknown) => x);
    expect(onMeta).toBeInstanceOf(StreamDeletedError);
    expect((onMeta as StreamDeletedError).streamName).toBe(`$$${s}`);
    await expect(client.appendToStream(s, events(1))).rejects.toBeInstanceOf(StreamDeletedError);
  });

  it('read_stream_backward.be_able_to_read_first_event: backwards from Start reads revision 0', async () => {
    const s = stream();
    const ten = events(10);
    await client.appendToStream(s, ten);
    const got = await read(client, s, { direction: BACKWARDS, fromRevision: START, maxCount: 1 });
    expect(got.map((e) => [e.revision, e.id])).toEqual([[0n, ten[0]!.id]]);
  });

  it('soft_deleted_stream: NO_STREAM re-creates once, then is WrongExpectedVersion; ANY continues the revisions', async () => {
    const s = stream();
    await client.appendToStream(s, events(2), { expectedRevision: NO_STREAM });
    await client.deleteStream(s, { expectedRevision: 1n });
    expect(
      (await client.appendToStream(s, events(3), { expectedRevision: NO_STREAM })).nextExpectedRevision,
    ).toBe(4n);
    await expect(client.appendToStream(s, events(1), { expectedRevision: NO_STREAM })).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
    expect((await client.appendToStream(s, events(2))).nextExpectedRevision).toBe(6n);
    expect((await read(client, s)).map((e) => e.revision)).toEqual([2n, 3n, 4n, 5n, 6n]);
  });

  it('append_to_stream.appending_zero_events: ANY or NO_STREAM on a new stream answers no stream and writes nothing', async () => {
    for (const expectedRevision of ['any', NO_STREAM] as const) {
      const s = stream();
      for (let i = 0; i < 2; i++) {
        // The server answers no_stream (.NET: StreamRevision.None); the Node client reads the unset
        // current_revision of that answer as 0.
        const r = await client.appendToStream(s, [], { expectedRevision });
        expect(r).toMatchObject({ success: true, nextExpectedRevision: 0n, position: undefined });
      }
      await expect(read(client, s)).rejects.toBeInstanceOf(StreamNotFoundError);
    }
  });
});

describe('the server source', () => {
  it('an empty append at a stale exact revision, or an empty NO_STREAM to an existing stream, is WrongExpectedVersion', async () => {
    const s = stream();
    await client.appendToStream(s, events(3));
    await expect(client.appendToStream(s, [], { expectedRevision: 0n })).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
    await expect(client.appendToStream(s, [], { expectedRevision: NO_STREAM })).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
    expect((await client.appendToStream(s, [], { expectedRevision: 2n })).nextExpectedRevision).toBe(2n);
  });

  it('soft-deleting a stream that never existed is WrongExpectedVersion', async () => {
    await expect(client.deleteStream(stream())).rejects.toBeInstanceOf(WrongExpectedVersionError);
  });

  it("a NO_STREAM retry of a soft-deleted stream's original events is idempotent, with no position", async () => {
    const s = stream();
    const original = events(2);
    await client.appendToStream(s, original, { expectedRevision: NO_STREAM });
    await client.deleteStream(s);
    const r = await client.appendToStream(s, original, { expectedRevision: NO_STREAM });
    expect(r.nextExpectedRevision).toBe(1n);
    expect(r.position).toBeUndefined();
  });

  it('a WrongExpectedVersion on a soft-deleted stream reports its real last revision', async () => {
    const s = stream();
    await client.appendToStream(s, events(3));
    await client.deleteStream(s);
    const err = await client.appendToStream(s, events(1), { expectedRevision: 7n }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect((err as WrongExpectedVersionError).actualVersion).toBe(2n);
  });

  it('an id keeps its first stream: written to A, then to B, an ANY retry on B is not recognised', async () => {
    const a = stream();
    const b = stream();
    const e = event();
    await client.appendToStream(a, [e]);
    await client.appendToStream(b, [e], { expectedRevision: NO_STREAM });
    expect((await client.appendToStream(b, [e])).nextExpectedRevision).toBe(1n);
  });

  it('a restart empties the id cache: an ANY retry made after it is written again', async () => {
    const node = await startEsdbEmulator();
    const c = EventStoreDBClient.connectionString(`${node.url}&defaultDeadline=5000`);
    try {
      const s = stream();
      const batch = events(2);
      await c.appendToStream(s, batch);
      expect((await c.appendToStream(s, batch)).nextExpectedRevision).toBe(1n);
      await node.restart();
      const again = async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await c.appendToStream(s, batch);
          } catch (err) {
            if (attempt >= 3) throw err;
          }
        }
      };
      expect((await again()).nextExpectedRevision).toBe(3n);
    } finally {
      await c.dispose();
      await node.stop();
    }
  });

  it('the id cache is bounded by its estimated memory, not a count (8 MiB: ~110k ids for 10-character names)', async () => {
    const { RecentIdCache } = await import('../support/esdb-emulator/log.js');
    expect(Math.floor((8 * 1024 * 1024) / RecentIdCache.entryBytes('x'.repeat(10)))).toBe(110_376);
    expect(Math.floor((8 * 1024 * 1024) / RecentIdCache.entryBytes('x'.repeat(64)))).toBe(46_603);
    expect(Math.floor((8 * 1024 * 1024) / RecentIdCache.entryBytes('x'.repeat(100)))).toBe(33_288);
  });

  it('counts data + metadata + 2 × type length against MaxAppendSize, and answers as soon as it is passed', async () => {
    const type = 'T'.repeat(10);
    // data "xxxx…" (JSON string) + metadata {} + 20 for the type.
    const sized = (dataChars: number) => jsonEvent({ type, data: 'x'.repeat(dataChars - 2), metadata: {} });
    const node = await startEsdbEmulator({ maxAppendSize: 1_000 });
    const c = EventStoreDBClient.connectionString(`${node.url}&defaultDeadline=5000`);
    try {
      // 2 events of 500 by the server's count (478 data + 2 metadata + 20): exactly the limit.
      await expect(c.appendToStream(stream(), [sized(478), sized(478)])).resolves.toMatchObject({
        success: true,
      });
      await expect(c.appendToStream(stream(), [sized(478), sized(479)])).rejects.toBeInstanceOf(
        MaxAppendSizeExceededError,
      );
      // The answer comes while the request is still open: a raw call that never ends its request gets it.
      const raw = new streamsGrpc.StreamsClient(`127.0.0.1:${node.port}`, credentials.createInsecure());
      const answer = new Promise<{ code?: number; metadata?: { get(k: string): unknown[] } }>((resolve) => {
        const call = raw.append((err: unknown) => resolve(err as never));
        const options = new streamsPb.AppendReq.Options();
        const id = new sharedPb.StreamIdentifier();
        id.setStreamName(Buffer.from(stream()));
        options.setStreamIdentifier(id);
        options.setAny(new sharedPb.Empty());
        call.write(new streamsPb.AppendReq().setOptions(options));
        for (let i = 0; i < 2; i++) {
          const m = new streamsPb.AppendReq.ProposedMessage();
          const uuid = new sharedPb.UUID();
          uuid.setString(randomUUID());
          m.setId(uuid);
          m.getMetadataMap().set('type', type).set('content-type', 'application/json');
          m.setData(Buffer.from(JSON.stringify('x'.repeat(700))));
          m.setCustomMetadata(Buffer.from('{}'));
          call.write(new streamsPb.AppendReq().setProposedMessage(m));
        }
      });
      const err = await answer;
      expect(err.metadata?.get('exception')).toEqual(['maximum-append-size-exceeded']);
      raw.close();
    } finally {
      await c.dispose();
      await node.stop();
    }
  });

  it('the explicit-commit layout: a stream read carries no position for such events, $all has them', async () => {
    const node = await startEsdbEmulator({ layout: 'explicit-commit' });
    const c = EventStoreDBClient.connectionString(`${node.url}&defaultDeadline=5000`);
    try {
      const s = stream();
      await c.appendToStream(s, events(2));
      const none = (1n << 64n) - 1n;
      for (const e of await read(c, s)) expect(e.position).toEqual({ commit: none, prepare: none });
      const all = [];
      for await (const e of c.readAll({ direction: FORWARDS, fromPosition: START })) {
        if (e.event?.streamId === s) all.push(e.event.position!);
      }
      expect(all).toHaveLength(2);
      expect(all[0]!.commit).toBe(all[1]!.commit);
      expect(all[0]!.prepare).toBeLessThan(all[1]!.prepare);
    } finally {
      await c.dispose();
      await node.stop();
    }
  });
});
