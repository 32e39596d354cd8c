/**
 * A named subscription in a process of its own, so that a test can kill it with SIGKILL mid-run. Usage:
 * `subscriber.ts <store url> <name> <stream prefix> <plain|transactional> <leaseMs>`. Prints one JSON line per
 * event: `{"ready":true}` once subscribed, `{"handled":{"id","position","at"}}` after each event is handled (`at`
 * is this process's clock, in epoch milliseconds). Handlers take about 10 ms, so a kill lands mid-run. Checkpoints
 * are saved every 10 events.
 *
 * `transactional` writes one read-model row per event with the checkpoint, in the way of the store's backend:
 * - `postgres://…?schema=<s>`: a row in `<s>.read_model (event_id uuid primary key)` (the test creates the table),
 *   inserted with the handler's transaction client; the line is printed before the store commits.
 * - `dynamodb://<table>?endpoint=…`: an item `pk = MODEL#<name>`, `sk = <event id>` in the events' table, put in
 *   one TransactWriteItems with the checkpoint items of `context.tx`; the line is printed after it committed.
 */
import { DynamoDBClient, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBSubscriptionTransaction } from '../../../src/adapters/dynamodb/index.js';
import type { PostgresTransaction } from '../../../src/adapters/postgres/index.js';
import { createEventStore, type RecordedEvent } from '../../../src/index.js';

const [url, name, prefix, mode, leaseMs] = process.argv.slice(2);
if (!url || !name || !prefix || (mode !== 'plain' && mode !== 'transactional') || !leaseMs) {
  throw new Error('usage: subscriber.ts <url> <name> <prefix> <plain|transactional> <leaseMs>');
}
const store = await createEventStore(url);
const line = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

/** The read-model write of one event, for `transactional`; by the URL's scheme. */
function readModelWriter(target: URL): (event: RecordedEvent, tx: unknown) => Promise<void> {
  if (target.protocol === 'postgres:' || target.protocol === 'postgresql:') {
    const schema = target.searchParams.get('schema') ?? 'public';
    return async (event, tx) => {
      await (tx as PostgresTransaction).query(`INSERT INTO "${schema}".read_model (event_id) VALUES ($1)`, [
        event.id,
      ]);
    };
  }
  if (target.protocol === 'dynamodb:') {
    const table = decodeURIComponent(target.hostname || target.pathname.replace(/^\/+/, ''));
    const client = new DynamoDBClient({
      endpoint: target.searchParams.get('endpoint') ?? undefined,
      region: target.searchParams.get('region') ?? 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    return async (event, tx) => {
      const { items } = tx as DynamoDBSubscriptionTransaction;
      await client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: table, Item: { pk: { S: `MODEL#${name}` }, sk: { S: event.id } } } },
            ...items,
          ],
        }),
      );
    };
  }
  throw new Error(`subscriber.ts: no transactional read model for ${target.protocol}`);
}

const write = mode === 'transactional' ? readModelWriter(new URL(url)) : undefined;
const sub = store.subscribe({
  name,
  filter: { streamPrefix: prefix },
  leaseMs: Number(leaseMs),
  checkpoint: { everyEvents: 10, everyMs: 60_000 },
  transactional: mode === 'transactional',
  handler: async (event, { tx }) => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    await write?.(event, tx);
    line({ handled: { id: event.id, position: event.position.toString(), at: Date.now() } });
  },
});
line({ ready: true });
sub.done.catch((err: unknown) => {
  line({ failed: String(err) });
  process.exit(1);
});
