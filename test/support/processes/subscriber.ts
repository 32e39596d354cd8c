/**
 * A named subscription in a process of its own, so that a test can kill it with SIGKILL mid-run. Usage:
 * `subscriber.ts <store url> <name> <stream prefix> <plain|transactional> <leaseMs>`. Prints one JSON line per
 * event: `{"ready":true}` once subscribed, `{"handled":{"id","position"}}` after each event is handled (for
 * `transactional`, once its row is inserted into `<schema>.read_model` in the subscription's transaction; the
 * commit follows). Handlers take a few milliseconds, so a kill lands mid-run.
 */
import type { PostgresTransaction } from '../../../src/adapters/postgres/index.js';
import { createEventStore } from '../../../src/index.js';

const [url, name, prefix, mode, leaseMs] = process.argv.slice(2);
if (!url || !name || !prefix || (mode !== 'plain' && mode !== 'transactional') || !leaseMs) {
  throw new Error('usage: subscriber.ts <url> <name> <prefix> <plain|transactional> <leaseMs>');
}
const schema = new URL(url).searchParams.get('schema');
const store = await createEventStore(url);
const line = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const sub = store.subscribe({
  name,
  filter: { streamPrefix: prefix },
  leaseMs: Number(leaseMs),
  checkpoint: { everyEvents: 10, everyMs: 60_000 },
  transactional: mode === 'transactional',
  handler: async (event, { tx }) => {
    await new Promise((resolve) => setTimeout(resolve, 3));
    if (mode === 'transactional') {
      await (tx as PostgresTransaction).query(`INSERT INTO "${schema}".read_model (event_id) VALUES ($1)`, [
        event.id,
      ]);
    }
    line({ handled: { id: event.id, position: event.position.toString() } });
  },
});
line({ ready: true });
sub.done.catch((err: unknown) => {
  line({ failed: String(err) });
  process.exit(1);
});
