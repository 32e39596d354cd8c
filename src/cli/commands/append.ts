import { randomUUID } from 'node:crypto';
import { type Capabilities, type NewEvent, prepareAppend } from '../../contract/index.js';
import type { Action, Command } from '../command.js';
import { expectArgs, parseExpectedVersion, parseJson, UsageError, validateEarly } from '../usage.js';

/** Shape-only limits: the store checks its own limits once it is open. */
const UNBOUNDED: Capabilities = {
  maxEventsPerAppend: Number.POSITIVE_INFINITY,
  maxEventBytes: Number.POSITIVE_INFINITY,
  maxEventTypeBytes: Number.POSITIVE_INFINITY,
  maxPosition: 2n ** 128n,
  maxAppendBytes: Number.POSITIVE_INFINITY,
  idempotencyWindow: 'stream',
};

export const appendCommand: Command = {
  name: 'append',
  summary: 'append one event from arguments, or many as JSON lines on stdin, in one atomic append',
  usage: `eventstore-kit append <stream> <type> <json-data> [--metadata JSON] [--id UUID] [options]
eventstore-kit append <stream> [options] < events.jsonl

options:
  --expected-version V   any (default), no_stream, stream_exists, or the stream's version N
  --url URL              the store (default: EVENT_STORE_URL, else the embedded PGlite in ./.eventstore-kit)
  --json                 print the result as JSON

From stdin, each line is one event: {"type": "...", "data": ..., "metadata": {...}, "id": "UUID"} (metadata and
id optional). All of them are appended atomically: all or none. Give events ids to make a retry safe: a retry
with the same ids is recognised instead of writing twice. Without --id, one event gets a generated id.`,
  options: {
    'expected-version': { type: 'string' },
    id: { type: 'string' },
    metadata: { type: 'string' },
  },
  writes: true,
  async parse({ values, positionals }) {
    const expectedVersion = parseExpectedVersion(values['expected-version'], 'append');
    let events: NewEvent[];
    let generatedId: string | undefined;
    if (positionals.length === 1) {
      if (values.id !== undefined || values.metadata !== undefined)
        throw new UsageError(
          '--id and --metadata go with <type> <json-data>; stdin lines carry their own',
          'append',
        );
      if (process.stdin.isTTY)
        throw new UsageError('append needs <type> <json-data>, or JSON lines on stdin', 'append');
      events = parseLines(await readStdin());
    } else {
      expectArgs('append', positionals, ['stream', 'type', 'json-data']);
      const event: NewEvent = {
        type: positionals[1]!,
        data: parseJson(positionals[2]!, '<json-data>', 'append') as NewEvent['data'],
        id: typeof values.id === 'string' ? values.id : randomUUID(),
      };
      if (values.id === undefined) generatedId = event.id;
      if (typeof values.metadata === 'string')
        event.metadata = parseJson(values.metadata, '--metadata', 'append') as NewEvent['metadata'];
      events = [event];
    }
    const streamId = positionals[0]!;
    const options = expectedVersion === undefined ? {} : { expectedVersion };
    validateEarly('append', () => prepareAppend(streamId, events, options, UNBOUNDED));
    const action: Action = async (store, out) => {
      const result = await store.append(streamId, events, options);
      if (out.json) out.jsonLine(result);
      else
        out.line(
          `appended ${events.length} event(s) to ${streamId}: stream at version ${result.nextExpectedVersion}` +
            (result.lastPosition === null ? '' : `, last position ${result.lastPosition}`),
        );
    };
    action.retryHint = generatedId
      ? `run it again with --id ${generatedId}, which is recognised if the first attempt was applied`
      : 'run it again with the same event ids, which is recognised if the first attempt was applied';
    return action;
  },
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseLines(text: string): NewEvent[] {
  const events: NewEvent[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const value = parseJson(line, `stdin line ${i + 1}`, 'append');
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new UsageError(`stdin line ${i + 1} is not an event object {"type", "data", …}`, 'append');
    events.push(value as NewEvent);
  }
  if (events.length === 0) throw new UsageError('stdin has no events (one JSON object per line)', 'append');
  return events;
}
