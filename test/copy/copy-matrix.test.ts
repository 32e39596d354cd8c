/**
 * copyStore between every ordered pair of backends, in process: a child process could reach every backend here
 * (the EventStoreDB emulator listens on a TCP port), but each would pay a PGlite start; copy-cli.test.ts runs the
 * command itself.
 */
import { describe, expect, it } from 'vitest';
import { copyStore, verifyCopy } from '../../src/index.js';
import {
  KINDS,
  type Kind,
  portable,
  readAll,
  untilReadAllHas,
  useFreshStores,
  writeSample,
} from './support.js';

const open = useFreshStores();

const PAIRS: Array<[Kind, Kind]> = KINDS.flatMap((from) =>
  KINDS.filter((to) => to !== from).map((to): [Kind, Kind] => [from, to]),
);

describe('copyStore between every pair of backends', () => {
  it.each(PAIRS)(
    '%s → %s: same streams, versions, ids, types, data, metadata and createdAt, in the same order',
    async (from, to) => {
      const source = await open(from);
      const target = await open(to);
      try {
        const n = await writeSample(source.store);
        await untilReadAllHas(source.store, n);
        const result = await copyStore(source.store, target.store);
        expect(result).toMatchObject({ done: n, written: n, present: 0, streams: 3 });
        await untilReadAllHas(target.store, n);
        const [before, after] = [await readAll(source.store), await readAll(target.store)];
        expect(after.map(portable)).toEqual(before.map(portable));
        // Positions are the target's, in the source's order.
        for (let i = 1; i < after.length; i++) expect(after[i]!.position > after[i - 1]!.position).toBe(true);
        expect(await verifyCopy(source.store, target.store)).toMatchObject({ ok: true, mismatches: [] });

        // Run again: nothing is written twice.
        expect(await copyStore(source.store, target.store)).toMatchObject({
          done: n,
          written: 0,
          present: n,
        });
        expect((await readAll(target.store)).length).toBe(n);
      } finally {
        await Promise.allSettled([source.close(), target.close()]);
      }
    },
  );

  it('verifyCopy names a stream whose events differ, and one that only the target holds', async () => {
    const source = await open('memory');
    const target = await open('pglite');
    try {
      await writeSample(source.store);
      await copyStore(source.store, target.store);
      const [first] = await readAll(source.store);
      await target.store.append(first!.streamId, [{ type: 'Extra', data: {} }]);
      await target.store.append('only-in-target', [{ type: 'Extra', data: {} }]);
      const v = await verifyCopy(source.store, target.store);
      expect(v.ok).toBe(false);
      expect(v.mismatches.map((m) => m.streamId).sort()).toEqual([first!.streamId, 'only-in-target'].sort());
      expect(v).toMatchObject({ sourceEvents: 9, targetEvents: 11 });
    } finally {
      await Promise.allSettled([source.close(), target.close()]);
    }
  });

  it('refuses a target stream that holds other events than the source at the same versions', async () => {
    const source = await open('memory');
    const target = await open('memory');
    try {
      await source.store.append('s', [{ type: 'A', data: 1 }]);
      await target.store.append('s', [{ type: 'B', data: 2 }]);
      await expect(copyStore(source.store, target.store)).rejects.toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
      });
    } finally {
      await Promise.allSettled([source.close(), target.close()]);
    }
  });
});
