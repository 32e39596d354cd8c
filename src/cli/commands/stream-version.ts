import { validateStreamId } from '../../contract/index.js';
import type { Command } from '../command.js';
import { expectArgs, validateEarly } from '../usage.js';

export const versionCommand: Command = {
  name: 'version',
  summary: "show a stream's version (0 when it has no events)",
  usage: `eventstore-kit version <stream> [--url URL] [--json]

Prints the stream's version: the version of its last event, 0 for a stream with no events. Pass it to
append --expected-version to append only if nobody appended since. (The kit's own version: --version.)`,
  options: {},
  writes: false,
  parse({ positionals }) {
    expectArgs('version', positionals, ['stream']);
    const streamId = validateEarly('version', () => validateStreamId(positionals[0]));
    return async (store, out) => {
      const version = await store.streamVersion(streamId);
      if (out.json) out.jsonLine({ streamId, version });
      else out.line(String(version));
    };
  },
};
