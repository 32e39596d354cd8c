import type { Command } from '../command.js';
import { expectArgs } from '../usage.js';

/** Creates the schema or table when it is missing (every adapter's `autoCreate`) and checks the store answers. */
export const initCommand: Command = {
  name: 'init',
  summary: 'create the schema or table if it is missing, and check the store answers',
  usage: `eventstore-kit init [--url URL] [--json]

Opens the store, which creates its schema (PostgreSQL, PGlite) or table (DynamoDB) when missing, then reads one
event to check the backend answers. Safe to run again.`,
  options: {},
  // Creating the schema is idempotent and happens while opening; the command appends nothing.
  writes: false,
  parse({ positionals }) {
    expectArgs('init', positionals, []);
    return async (store, out) => {
      for await (const _ of store.readAll({ maxCount: 1 })) break;
      const limits = store.capabilities;
      if (out.json) out.jsonLine({ ready: true, capabilities: limits });
      else {
        out.line('ready');
        out.line(
          `limits: ${fmt(limits.maxEventsPerAppend)} events and ${fmt(limits.maxAppendBytes)} bytes per append, ` +
            `${fmt(limits.maxEventBytes)} bytes per event; idempotency window: ${limits.idempotencyWindow === 'stream' ? 'the whole stream' : `the last ${limits.idempotencyWindow} events`}`,
        );
      }
    };
  },
};

const fmt = (n: number) => (Number.isFinite(n) ? n.toLocaleString('en-US') : 'unbounded');
