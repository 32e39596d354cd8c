import { prepareTruncateStream } from '../../contract/validate-lifecycle.js';
import type { Action, Command } from '../command.js';
import { expectArgs, parseCount, parseExpectedVersion, UsageError, validateEarly } from '../usage.js';

export const truncateCommand: Command = {
  name: 'truncate',
  summary: "remove a stream's events before a version",
  usage: `eventstore-kit truncate <stream> --before VERSION [--expected-version V] [--url URL] [--json]

options:
  --before VERSION       remove the events at versions below this one (1 to the stream's version + 1)
  --expected-version V   truncate only if the stream is at V (any (default), no_stream, stream_exists, or N)

The stream keeps its version and still exists; the removed events cannot come back, and a lower --before than an
earlier truncation changes nothing. Running the same truncation again changes nothing.`,
  options: { before: { type: 'string' }, 'expected-version': { type: 'string' } },
  writes: true,
  writeName: 'the truncation',
  parse({ values, positionals }) {
    expectArgs('truncate', positionals, ['stream']);
    const before = parseCount(values.before, '--before', 'truncate');
    if (before === undefined) throw new UsageError('truncate needs --before VERSION', 'truncate');
    const expectedVersion = parseExpectedVersion(values['expected-version'], 'truncate');
    const options = { before, ...(expectedVersion === undefined ? {} : { expectedVersion }) };
    const streamId = positionals[0]!;
    validateEarly('truncate', () => prepareTruncateStream(streamId, options));
    const action: Action = async (store, out) => {
      await store.truncateStream(streamId, options);
      if (out.json) out.jsonLine({ streamId, before });
      else out.line(`truncated ${streamId}: events before version ${before} are gone`);
    };
    action.retryHint = 'run it again, which changes nothing if the first attempt was applied';
    return action;
  },
};
