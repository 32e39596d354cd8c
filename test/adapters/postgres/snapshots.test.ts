import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { useServerStore } from './support.js';

const fixture = useServerStore('snapshots');

/** The stream's snapshot row, read behind the contract. */
async function row(streamId: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await fixture.pool.query(
    `SELECT version::int, schema_version, state::text AS state FROM "${fixture.schema}".snapshots WHERE stream_id = $1`,
    [streamId],
  );
  return rows[0];
}

it('keeps one row per stream, the state as the JSON text validation produced', async () => {
  const id = `snap-${randomUUID()}`;
  await fixture.store.snapshots.save(id, { state: { n: 1e21, s: 'é' }, version: 4, schemaVersion: 2 });
  await fixture.store.snapshots.save(id, { state: { n: 2 }, version: 5, schemaVersion: 2 });
  expect(await row(id)).toEqual({ version: 5, schema_version: 2, state: '{"n":2}' });
});

it('deletes the row in the transaction of a soft or hard delete, through the trigger on streams', async () => {
  for (const hard of [false, true]) {
    const id = `snap-${randomUUID()}`;
    await fixture.store.append(id, [{ type: 'A', data: 1 }]);
    await fixture.store.snapshots.save(id, { state: 1, version: 1, schemaVersion: 1 });
    expect(await row(id)).toBeDefined();
    await fixture.store.deleteStream(id, { hard });
    expect(await row(id)).toBeUndefined();
  }
});

it('leaves the row alone on appends, truncations and metadata writes', async () => {
  const id = `snap-${randomUUID()}`;
  await fixture.store.append(id, [{ type: 'A', data: 1 }]);
  await fixture.store.snapshots.save(id, { state: 1, version: 1, schemaVersion: 1 });
  await fixture.store.append(id, [{ type: 'A', data: 2 }]);
  await fixture.store.truncateStream(id, { before: 2 });
  await fixture.store.setStreamMetadata(id, { maxCount: 5 });
  expect(await row(id)).toEqual({ version: 1, schema_version: 1, state: '1' });
});
