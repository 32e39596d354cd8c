#!/usr/bin/env node
/**
 * eventstore-kit CLI: append, read a stream, read the global order, show a stream's version. The store comes from
 * --url, else EVENT_STORE_URL, else the embedded default. Errors print their code, never the URL.
 */
import { parseArgs } from 'node:util';
import { describeUrl, openConfiguredEventStore, resolveEventStoreUrl } from './config.js';
import {
  type EventStore,
  type ExpectedVersion,
  InvalidArgumentError,
  isEventStoreError,
  type NewEvent,
} from './index.js';

const USAGE = `usage: eventstore-kit [--url URL] <command> [options]

commands:
  append <stream> <type> <json-data> [--expected-version any|no_stream|stream_exists|N] [--id UUID] [--metadata JSON]
  read <stream> [--from N] [--backwards] [--max N]
  read-all [--after POSITION] [--max N] [--type T]... [--prefix P]
  version <stream>

The store is --url, else EVENT_STORE_URL, else the embedded default. Output is one JSON object per line.`;

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${what} is not valid JSON`, { argument: what });
  }
}

function int(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text))
    throw new InvalidArgumentError(`${what} must be a non-negative integer`, { argument: what });
  return Number(text);
}

function expected(text: string | undefined): ExpectedVersion | undefined {
  if (text === undefined || text === 'any' || text === 'no_stream' || text === 'stream_exists') return text;
  return int(text, '--expected-version');
}

const print = (value: unknown) =>
  console.log(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));

async function run(store: EventStore, command: string, args: string[], values: Record<string, unknown>) {
  const want = (n: number) => {
    if (args.length !== n) throw new InvalidArgumentError(`${command} takes ${n} argument(s)\n${USAGE}`);
  };
  switch (command) {
    case 'append': {
      want(3);
      const event: NewEvent = { type: args[1]!, data: parseJson(args[2]!, 'data') as NewEvent['data'] };
      if (typeof values.metadata === 'string')
        event.metadata = parseJson(values.metadata, '--metadata') as never;
      if (typeof values.id === 'string') event.id = values.id;
      const ev = expected(values['expected-version'] as string | undefined);
      print(await store.append(args[0]!, [event], ev === undefined ? {} : { expectedVersion: ev }));
      return;
    }
    case 'read': {
      want(1);
      const from = int(values.from as string | undefined, '--from');
      const max = int(values.max as string | undefined, '--max');
      const options = {
        direction: values.backwards ? ('backwards' as const) : ('forwards' as const),
        ...(from === undefined ? {} : { fromVersion: from }),
        ...(max === undefined ? {} : { maxCount: max }),
      };
      for await (const e of store.readStream(args[0]!, options)) print(e);
      return;
    }
    case 'read-all': {
      want(0);
      const after = values.after as string | undefined;
      if (after !== undefined && !/^\d+$/.test(after))
        throw new InvalidArgumentError('--after must be a position');
      const max = int(values.max as string | undefined, '--max');
      const types = values.type as string[] | undefined;
      const prefix = values.prefix as string | undefined;
      const filter = {
        ...(types && types.length > 0 ? { eventTypes: types } : {}),
        ...(prefix === undefined ? {} : { streamPrefix: prefix }),
      };
      for await (const e of store.readAll({
        ...(after === undefined ? {} : { after: BigInt(after) }),
        ...(max === undefined ? {} : { maxCount: max }),
        filter,
      }))
        print(e);
      return;
    }
    case 'version':
      want(1);
      print({ streamId: args[0], version: await store.streamVersion(args[0]!) });
      return;
    default:
      throw new InvalidArgumentError(`unknown command '${command}'\n${USAGE}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      'expected-version': { type: 'string' },
      id: { type: 'string' },
      metadata: { type: 'string' },
      from: { type: 'string' },
      backwards: { type: 'boolean' },
      max: { type: 'string' },
      after: { type: 'string' },
      type: { type: 'string', multiple: true },
      prefix: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const url = resolveEventStoreUrl(values.url);
  const store = await openConfiguredEventStore(url);
  try {
    await run(store, command, args, values);
  } finally {
    await store.close();
  }
  console.error(`(${describeUrl(url)} store)`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (isEventStoreError(err)) console.error(`error ${err.code}: ${err.message}`);
    else if (err instanceof TypeError && 'code' in err)
      console.error(`error INVALID_ARGUMENT: ${err.message}\n${USAGE}`);
    else console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = isEventStoreError(err, 'INVALID_ARGUMENT') || err instanceof TypeError ? 2 : 1;
  },
);
