import type { Command } from '../command.js';
import { Table } from '../output.js';
import { expectArgs } from '../usage.js';

export const statsCommand: Command = {
  name: 'stats',
  summary: 'count streams, events and events per type; show the last position',
  usage: `eventstore-kit stats [--url URL] [--json]

Computed by one readAll pass over the whole store (it reads every event; it keeps one entry per stream and per
event type in memory).`,
  options: {},
  writes: false,
  parse({ positionals }) {
    expectArgs('stats', positionals, []);
    return async (store, out) => {
      const streams = new Set<string>();
      const types = new Map<string, number>();
      let events = 0;
      let lastPosition: bigint | null = null;
      for await (const e of store.readAll()) {
        events++;
        streams.add(e.streamId);
        types.set(e.type, (types.get(e.type) ?? 0) + 1);
        lastPosition = e.position;
      }
      const byType = [...types].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      if (out.json) {
        out.jsonLine({ streams: streams.size, events, lastPosition, eventTypes: Object.fromEntries(byType) });
        return;
      }
      out.line(`streams        ${streams.size}`);
      out.line(`events         ${events}`);
      out.line(`last position  ${lastPosition ?? '-'}`);
      if (byType.length > 0) {
        out.line('');
        const table = new Table(['EVENTS', 'TYPE'], out.line);
        for (const [type, n] of byType) table.add([String(n), type]);
        table.flush();
      }
    };
  },
};
