/**
 * Concurrent writers on a PGlite directory, in a process of its own so that a test can kill it with SIGKILL
 * mid-write. Usage: `pglite-writer.ts <dir>`. Prints one JSON line per event: `{"ready":true}` once the store is
 * open, `{"attempt":…}` before an append is sent (stdout to a pipe is synchronous on Linux, so the line is out
 * before the write can happen) and `{"ack":…}` once it is acknowledged.
 */
import { createEventStore } from '../../../src/index.js';
import { runWriters } from '../fault-writers.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: pglite-writer.ts <dir>');
const store = await createEventStore(`pglite:${dir}`);
const line = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
line({ ready: true });
const unexpected: unknown[] = [];
await runWriters({
  store: () => store,
  writers: 4,
  streamsPerWriter: 3,
  stop: () => unexpected.length > 0,
  unexpected,
  onAttempt: (a) => line({ attempt: { streamId: a.streamId, ids: a.ids } }),
  onAck: (a) => line({ ack: { streamId: a.streamId, ids: a.ids, acked: a.acked } }),
});
line({ unexpected: unexpected.map(String) });
process.exit(1);
