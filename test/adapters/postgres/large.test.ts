import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORDINAL_BITS } from '../../../src/adapters/postgres/positions.js';
import { createEventStore, type EventStore, type RecordedEvent } from '../../../src/index.js';
import { serverUrl, uniqueSchema } from './support.js';

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

const targets: Array<[string, () => string]> = [
  ['real server', () => serverUrl(uniqueSchema('large'))],
  ['PGlite', () => 'pglite:memory'],
];

describe.each(targets)('large appends on %s', (_name, url) => {
  let store: EventStore;
  beforeAll(async () => {
    store = await createEventStore(url());
  });
  afterAll(async () => {
    await store.close();
  });

  it('round-trips an event of several MB exactly', async () => {
    const id = `big-${randomUUID()}`;
    const blob = Array.from({ length: 6 * 1024 }, (_, i) => `${i}:${'é\u0000"\\'.repeat(100)}`).join('|');
    const data = { blob, tail: [1, 2, 3] };
    expect(JSON.stringify(data).length).toBeGreaterThan(5_000_000);
    const result = await store.append(id, [{ type: 'Big', data, metadata: { size: blob.length } }]);
    expect(result.nextExpectedVersion).toBe(1);
    const [event] = await collect(store.readStream(id));
    expect(event!.data).toEqual(data);
    expect(event!.metadata).toEqual({ size: blob.length });
  });

  it('appends 10,000 events in one append, in one transaction, in order', async () => {
    const id = `many-${randomUUID()}`;
    const events = Array.from({ length: 10_000 }, (_, i) => ({
      type: 'Many',
      data: { i },
      id: randomUUID(),
    }));
    const result = await store.append(id, events, { expectedVersion: 'no_stream' });
    expect(result.nextExpectedVersion).toBe(10_000);
    const read = await collect(store.readStream(id));
    expect(read.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    expect(read.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(read.at(-1)!.position).toBe(result.lastPosition);
    const transactions = new Set(read.map((e) => e.position >> BigInt(ORDINAL_BITS)));
    expect(transactions.size).toBe(1);
    for (let i = 1; i < read.length; i++) expect(read[i]!.position).toBe(read[i - 1]!.position + 1n);
    // A retry of the whole batch is recognised and writes nothing.
    expect(await store.append(id, events, { expectedVersion: 'no_stream' })).toEqual(result);
    expect(await store.streamVersion(id)).toBe(10_000);
    const backwards = await collect(store.readStream(id, { direction: 'backwards', maxCount: 2500 }));
    expect(backwards.map((e) => e.version)).toEqual(Array.from({ length: 2500 }, (_, i) => 10_000 - i));
  });
});
