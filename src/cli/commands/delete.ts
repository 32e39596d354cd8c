import { prepareDeleteStream } from '../../contract/validate-lifecycle.js';
import type { Action, Command } from '../command.js';
import { expectArgs, parseExpectedVersion, validateEarly } from '../usage.js';

export const deleteCommand: Command = {
  name: 'delete',
  summary: 'delete a stream: soft (an append recreates it) or --hard (a tombstone, for good)',
  usage: `eventstore-kit delete <stream> [--hard] [--expected-version V] [--url URL] [--json]

options:
  --hard                 a tombstone: the stream can never be read or written again (STREAM_DELETED)
  --expected-version V   delete only if the stream is at V (any (default), no_stream, stream_exists, or N);
                         otherwise WRONG_EXPECTED_VERSION and nothing is deleted

A soft delete (the default) removes the stream's events; the stream then reads as empty, and the next append
recreates it where its version stopped. Either way the events' rows are deleted at once (docs/lifecycle.md says
when the bytes leave the disk). Running the same delete again changes nothing.`,
  options: { hard: { type: 'boolean' }, 'expected-version': { type: 'string' } },
  writes: true,
  writeName: 'the delete',
  parse({ values, positionals }) {
    expectArgs('delete', positionals, ['stream']);
    const expectedVersion = parseExpectedVersion(values['expected-version'], 'delete');
    const hard = values.hard === true;
    const options = { hard, ...(expectedVersion === undefined ? {} : { expectedVersion }) };
    const streamId = positionals[0]!;
    validateEarly('delete', () => prepareDeleteStream(streamId, options));
    const action: Action = async (store, out) => {
      const { version } = await store.deleteStream(streamId, options);
      if (out.json) out.jsonLine({ streamId, hard, version });
      else if (hard) out.line(`tombstoned ${streamId} at version ${version}: it can never be written again`);
      else
        out.line(
          `deleted ${streamId} at version ${version}: it reads as empty; the next append recreates it at version ${version + 1}`,
        );
    };
    action.retryHint = 'run it again, which changes nothing if the first attempt was applied';
    return action;
  },
};
