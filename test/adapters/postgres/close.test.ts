import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { closeTests } from '../../../src/conformance/index.js';
import { createEventStore } from '../../../src/index.js';
import { serverUrl, uniqueSchema } from './support.js';

// close() with calls in flight, with group commit on and off, on a pool of 2 connections: more calls than
// connections, so some still wait for a pooled connection when close() begins (pg-pool's end() drops that queue;
// the store must not end the pool before they settled).
const schema = uniqueSchema('close');
for (const groupCommit of ['1', 'off']) {
  const url = new URL(serverUrl(schema));
  url.searchParams.set('max', '2');
  url.searchParams.set('group_commit', groupCommit);
  const name = `postgres (real server, pool of 2, group_commit=${groupCommit})`;
  describe(name, () => {
    closeTests({ name, create: () => createEventStore(url.toString()), sharedBackend: true });
  });
}

// PGlite persisted in a directory, so what survives close() can be read by the next store.
const dir = mkdtemp(join(tmpdir(), 'eventstore-kit-close-'));
// Creating the database directory takes the longest: done once, before the tests' own deadlines.
beforeAll(async () => {
  await (await createEventStore(`pglite:${await dir}`)).close();
});
afterAll(async () => {
  await rm(await dir, { recursive: true, force: true });
});
for (const groupCommit of ['1', 'off']) {
  const name = `postgres (PGlite directory, group_commit=${groupCommit})`;
  describe(name, () => {
    closeTests({
      name,
      create: async () => createEventStore(`pglite:${await dir}?group_commit=${groupCommit}`),
      sharedBackend: true,
    });
  });
}
