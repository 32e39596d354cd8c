import { prepareReadStream, type ReadStreamOptions } from '../../contract/index.js';
import type { Command } from '../command.js';
import { EVENT_HEADERS, eventRow, Table } from '../output.js';
import { expectArgs, parseCount, validateEarly } from '../usage.js';

export const readCommand: Command = {
  name: 'read',
  summary: "read one stream's events",
  usage: `eventstore-kit read <stream> [--from VERSION] [--backwards] [--max N] [--url URL] [--json]

A table for people; --json prints one event per line. --from is inclusive (default: the first event forwards,
the last backwards).`,
  options: { from: { type: 'string' }, backwards: { type: 'boolean' }, max: { type: 'string' } },
  writes: false,
  parse({ values, positionals }) {
    expectArgs('read', positionals, ['stream']);
    const streamId = positionals[0]!;
    const from = parseCount(values.from, '--from', 'read');
    const max = parseCount(values.max, '--max', 'read');
    const options: ReadStreamOptions = {
      direction: values.backwards ? 'backwards' : 'forwards',
      ...(from === undefined ? {} : { fromVersion: from }),
      ...(max === undefined ? {} : { maxCount: max }),
    };
    validateEarly('read', () => prepareReadStream(streamId, options));
    return async (store, out) => {
      const table = new Table(EVENT_HEADERS, out.line);
      for await (const e of store.readStream(streamId, options)) {
        if (out.json) out.jsonLine(e);
        else table.add(eventRow(e));
      }
      if (!out.json) {
        if (table.count === 0) out.note(`stream ${streamId} has no events`);
        else table.flush();
      }
    };
  },
};
