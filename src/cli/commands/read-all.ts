import { prepareReadAll, type ReadAllOptions } from '../../contract/index.js';
import type { Command } from '../command.js';
import { EVENT_HEADERS, eventRow, Table } from '../output.js';
import { expectArgs, parseCount, parsePosition, validateEarly } from '../usage.js';

export const readAllCommand: Command = {
  name: 'read-all',
  summary: 'read every event in global order',
  usage: `eventstore-kit read-all [--after POSITION] [--max N] [--type T]... [--prefix P] [--url URL] [--json]

A table for people; --json prints one event per line (positions as strings). --after is exclusive: pass the last
position you saw to resume. --type (repeatable) and --prefix filter by event type and stream id prefix.`,
  options: {
    after: { type: 'string' },
    max: { type: 'string' },
    type: { type: 'string', multiple: true },
    prefix: { type: 'string' },
  },
  writes: false,
  parse({ values, positionals }) {
    expectArgs('read-all', positionals, []);
    const after = parsePosition(values.after, '--after', 'read-all');
    const max = parseCount(values.max, '--max', 'read-all');
    const types = values.type as string[] | undefined;
    const prefix = values.prefix as string | undefined;
    const options: ReadAllOptions = {
      ...(after === undefined ? {} : { after }),
      ...(max === undefined ? {} : { maxCount: max }),
      ...(types !== undefined || prefix !== undefined
        ? {
            filter: {
              ...(types === undefined ? {} : { eventTypes: types }),
              ...(prefix === undefined ? {} : { streamPrefix: prefix }),
            },
          }
        : {}),
    };
    // Shape only: the store checks \`after\` against its own capabilities.maxPosition once it is open (every
    // adapter's positions are below 2^128).
    validateEarly('read-all', () => prepareReadAll(options, { maxPosition: 2n ** 128n }));
    return async (store, out) => {
      const table = new Table(EVENT_HEADERS, out.line);
      for await (const e of store.readAll(options)) {
        if (out.json) out.jsonLine(e);
        else table.add(eventRow(e));
      }
      if (!out.json) {
        if (table.count === 0) out.note('no events');
        else table.flush();
      }
    };
  },
};
