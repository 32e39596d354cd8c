import { randomUUID } from 'node:crypto';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEventStoreDBEventStore,
  EventStoreDBEventStore,
} from '../../../src/adapters/eventstoredb/index.js';
import { mapError } from '../../../src/adapters/eventstoredb/map-error.js';
import { collect } from '../../../src/conformance/support.js';
import { createEventStore, type EventStore, type NewEvent } from '../../../src/index.js';
import { type EsdbEmulator, startEsdbEmulator } from '../../support/esdb-emulator/index.js';

/** Adapter behaviour behind the contract, against an emulator of its own (so faults stay in this file). */
let emulator: EsdbEmulator;
let client: EventStoreDBClient;
let store: EventStore;

beforeAll(async () => {
  emulator = await startEsdbEmulator();
  client = EventStoreDBClient.connectionString(`${emulator.url}&defaultDeadline=1000`);
  store = createEventStoreDBEventStore(client);
});

afterAll(async () => {
  await store.close();
  await client.dispose();
  await emulator.stop();
});

/** Runs `fn` again (at most 3 times) when it fails UNAVAILABLE, as a caller retrying with the same ids does. */
async function retried<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 3 || (err as { code?: string }).code !== 'UNAVAILABLE') throw err;
    }
  }
}

const events = (n: number): NewEvent[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'Happened', data: { i }, id: randomUUID() }));

describe('eventstoredb adapter: errors', () => {
  it('maps a wrong expected version to WRONG_EXPECTED_VERSION with actualVersion = revision + 1, or 0', async () => {
    const id = `s-${randomUUID()}`;
    await expect(store.append(id, events(1), { expectedVersion: 'stream_exists' })).rejects.toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
      actualVersion: 0,
      expectedVersion: 'stream_exists',
    });
    await store.append(id, events(3));
    const err = await store.append(id, events(1), { expectedVersion: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
      streamId: id,
      expectedVersion: 1,
      actualVersion: 3,
    });
    expect((err as Error).cause).toMatchObject({ type: 'wrong-expected-version' });
  });

  it('maps a passed deadline to TIMEOUT, keeping the cause', async () => {
    emulator.injectFault({ method: 'Append', delayMs: 1_500 });
    const err = await store.append(`s-${randomUUID()}`, events(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    expect((err as Error).cause).toMatchObject({ type: 'deadline-exceeded' });
  });

  it('refuses unknown URL settings before the client can print the connection string', async () => {
    const printed: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
    };
    try {
      for (const query of ['bogus=1', 'tlsVerifyCert=false', 'tls=false&defualtDeadline=10']) {
        const url = `esdb://admin:s3cret-pw@127.0.0.1:1?${query}`;
        const err = (await createEventStore(url).catch((e: unknown) => e)) as Error;
        expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
        expect(`${err.message} ${err.stack}`).not.toContain('s3cret-pw');
      }
      const ok = await createEventStore('esdb://127.0.0.1:1?TLS=false&default-deadline=1000');
      await ok.close();
    } finally {
      console.warn = warn;
    }
    expect(printed).toEqual([]);
  });

  it('maps an unreachable server to UNAVAILABLE, without the connection string in the message', async () => {
    const down = await createEventStore('esdb://admin:s3cret@127.0.0.1:1?tls=false&defaultDeadline=2000');
    try {
      const err = await down.append('s', events(1)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UNAVAILABLE' });
      expect((err as Error).message).not.toMatch(/s3cret|admin|127\.0\.0\.1/);
    } finally {
      await down.close();
    }
  });

  it('maps a server-side UNAVAILABLE, a deleted stream, an oversize append and anything else', async () => {
    emulator.injectFault({
      method: 'Read',
      error: { code: status.UNAVAILABLE, details: 'node is shutting down' },
    });
    await expect(store.streamVersion('any-stream')).rejects.toMatchObject({ code: 'UNAVAILABLE' });

    const id = `s-${randomUUID()}`;
    await store.append(id, events(2));
    await client.tombstoneStream(id);
    await expect(store.append(id, events(1))).rejects.toMatchObject({ code: 'STREAM_DELETED', streamId: id });
    await expect(collect(store.readStream(id))).rejects.toMatchObject({ code: 'STREAM_DELETED' });

    // Declared for a server with 8 MB: the emulator's 1 MiB refuses it, and that is APPEND_TOO_LARGE too. (A client
    // of its own: 1.4 MB on a loaded machine can take longer than the shared client's 1 s deadline.)
    const patient = EventStoreDBClient.connectionString(`${emulator.url}&defaultDeadline=20000`);
    const big = createEventStoreDBEventStore(patient, { maxAppendSize: 8_000_000 });
    const payload = 'x'.repeat(700_000);
    await expect(
      big.append(`s-${randomUUID()}`, [
        { type: 'Big', data: payload },
        { type: 'Big', data: payload },
      ]),
    ).rejects.toMatchObject({ code: 'APPEND_TOO_LARGE', eventCount: 2 });
    await patient.dispose();

    emulator.injectFault({
      method: 'Append',
      error: {
        code: status.PERMISSION_DENIED,
        details: 'Access denied',
        trailers: { exception: 'access-denied' },
      },
    });
    const err = await store.append(`s-${randomUUID()}`, events(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((err as Error).cause).toMatchObject({ type: 'access-denied' });
    expect(mapError(new Error('boom'), { operation: 'append' })).toMatchObject({
      code: 'BACKEND_ERROR',
      message: expect.stringContaining('Error'),
    });
  });
});

describe('eventstoredb adapter: reading $all', () => {
  it('skips system events: $-prefixed streams and $-prefixed types', async () => {
    const p = `p${randomUUID()}/`;
    await client.appendToStream(`$${p}sys`, [jsonEvent({ type: 'Anything', data: {} })]);
    await client.appendToStream(`${p}user`, [
      jsonEvent({ type: '$internal', data: {} }),
      jsonEvent({ type: 'Visible', data: { ok: true } }),
    ]);
    await client.setStreamMetadata(`${p}user`, { maxCount: 10 });
    const all = await collect(store.readAll());
    expect(all.some((e) => e.streamId.startsWith('$') || e.type.startsWith('$'))).toBe(false);
    expect(all.filter((e) => e.streamId.startsWith(p)).map((e) => e.type)).toEqual(['Visible']);
    // The raw log does have them, and the server's own system events at the start.
    const raw = await collect(client.readAll());
    expect(raw.some((e) => e.event?.streamId === '$settings')).toBe(true);
    expect(raw.some((e) => e.event?.streamId === `$$${p}user` && e.event.type === '$metadata')).toBe(true);
  });

  it('pushes the filters to the server and resumes after a position between two events', async () => {
    const p = `p${randomUUID()}/`;
    await store.append(`${p}a`, events(3));
    const first = await collect(store.readAll({ filter: { streamPrefix: p } }));
    expect(first).toHaveLength(3);
    const between = await collect(
      store.readAll({ after: first[0]!.position + 1n, filter: { streamPrefix: p } }),
    );
    expect(between.map((e) => e.version)).toEqual([2, 3]);
    const unfiltered = await collect(store.readAll({ after: first[1]!.position - 1n }));
    expect(unfiltered.filter((e) => e.streamId.startsWith(p)).map((e) => e.version)).toEqual([2, 3]);
  });
});

describe('eventstoredb adapter: what the server decides', () => {
  it('returns the original result for an idempotent retry, with the original position', async () => {
    const id = `s-${randomUUID()}`;
    const batch = events(3);
    const original = await store.append(id, batch, { expectedVersion: 'no_stream' });
    expect(await store.append(id, batch, { expectedVersion: 'no_stream' })).toEqual(original);
    expect(await store.append(id, batch)).toEqual(original);
    expect(await store.streamVersion(id)).toBe(3);
  });

  it("turns the server's non-consecutive 'any' match into WRONG_EXPECTED_VERSION", async () => {
    const id = `s-${randomUUID()}`;
    const batch = events(3);
    await store.append(id, batch);
    // The server alone accepts this (every id is in its recent-id cache) and writes nothing.
    const raw = await client.appendToStream(
      id,
      [batch[0]!, batch[2]!].map((e) =>
        jsonEvent({ id: e.id!, type: e.type, data: e.data as Record<string, unknown> }),
      ),
    );
    expect(raw.nextExpectedRevision).toBe(2n);
    await expect(store.append(id, [batch[0]!, batch[2]!])).rejects.toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
    });
    expect(await store.streamVersion(id)).toBe(3);
  });

  it("recognises an 'any' retry after a restart emptied the server's id cache; the server-only mode cannot", async () => {
    const node = await startEsdbEmulator();
    const url = `${node.url}&defaultDeadline=2000`;
    const writer = await createEventStore(url);
    const fresh = await createEventStore(url);
    const serverOnly = await createEventStore(url, { idempotency: 'server' });
    try {
      const id = `s-${randomUUID()}`;
      const batch = events(3);
      const original = await writer.append(id, batch);
      await writer.append(id, events(2));
      await node.restart();
      expect(node.log.idCache.size).toBe(0);
      // The same store, and a store that never saw the stream (a new process), both recognise it after the restart.
      // The restart drops the connections, so a call may first fail UNAVAILABLE: retried with the same ids, as the
      // error says.
      expect(await retried(() => writer.append(id, batch))).toEqual(original);
      expect(await retried(() => fresh.append(id, batch, { expectedVersion: 'stream_exists' }))).toEqual(
        original,
      );
      expect(await fresh.streamVersion(id)).toBe(5);
      // Left to the server's emptied cache, the same retry is written a second time.
      expect((await retried(() => serverOnly.append(id, batch))).nextExpectedVersion).toBe(8);
      expect(serverOnly.capabilities.idempotencyWindow).toBe(0);
    } finally {
      await Promise.all([writer.close(), fresh.close(), serverOnly.close()]);
      await node.stop();
    }
  });

  it('leaves a client it was given open, and closes one it built', async () => {
    const own = createEventStoreDBEventStore(client);
    await own.close();
    await expect(
      client.appendToStream(`s-${randomUUID()}`, jsonEvent({ type: 'T', data: {} })),
    ).resolves.toMatchObject({
      success: true,
    });
    for (const scheme of ['esdb', 'kurrentdb']) {
      const built = await createEventStore(emulator.url.replace(/^esdb/, scheme));
      expect(built).toBeInstanceOf(EventStoreDBEventStore);
      await built.append(`s-${randomUUID()}`, events(1));
      await built.close();
      await expect(built.streamVersion('x')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    }
    await expect(createEventStore(emulator.url, { unknown: 1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
