import type { Action, Command } from '../command.js';
import { expectArgs } from '../usage.js';

export const retentionCommand: Command = {
  name: 'retention',
  summary: "remove the events that streams' --max-count and --max-age hide (one enforceRetention run)",
  usage: `eventstore-kit retention [--url URL] [--json]

Runs enforceRetention once: the events that retention (a stream's maxCount, maxAge) hides are already unreadable;
this removes their data from the store, in every stream, and prints how many events it removed. Run it on the
schedule your erasure policy needs (cron, a job); it is safe beside appends and reads, and safe to run again.`,
  options: {},
  writes: true,
  writeName: 'the retention run',
  parse({ positionals }) {
    expectArgs('retention', positionals, []);
    const action: Action = async (store, out) => {
      const { removedEvents } = await store.enforceRetention();
      if (out.json) out.jsonLine({ removedEvents });
      else out.line(`removed ${removedEvents} event(s) that retention hid`);
    };
    action.retryHint = 'run it again, which removes what the first attempt left';
    return action;
  },
};
