import { prepareSubscribe, type SubscribeOptions } from '../../contract/index.js';
import type { Command } from '../command.js';
import { eventRow } from '../output.js';
import { expectArgs, parseCount, parsePosition, UsageError, validateEarly } from '../usage.js';

/** Resolves on the first SIGINT or SIGTERM. */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

export const tailCommand: Command = {
  name: 'tail',
  summary: 'follow events live, as they are appended',
  usage: `eventstore-kit tail [--stream ID] [--from start|end|POSITION] [--type T]... [--prefix P] [--name NAME]
                   [--max N] [--url URL] [--json]

Prints each event as it is appended, one line per event (--json: one JSON object per line), until Ctrl-C or
--max events. --from defaults to end (only new events); start replays history first; a position (a version with
--stream) starts right after it. --stream follows one stream; --type (repeatable) and --prefix filter the global
order as read-all's do. --name makes the subscription durable: it resumes after its checkpoint.`,
  options: {
    stream: { type: 'string' },
    from: { type: 'string' },
    type: { type: 'string', multiple: true },
    prefix: { type: 'string' },
    name: { type: 'string' },
    max: { type: 'string' },
  },
  writes: false,
  parse({ values, positionals }) {
    expectArgs('tail', positionals, []);
    const stream = values.stream as string | undefined;
    const types = values.type as string[] | undefined;
    const prefix = values.prefix as string | undefined;
    const name = values.name as string | undefined;
    const max = parseCount(values.max, '--max', 'tail');
    if (stream !== undefined && (types !== undefined || prefix !== undefined)) {
      throw new UsageError('--stream cannot be combined with --type or --prefix', 'tail');
    }
    const fromText = (values.from as string | undefined) ?? 'end';
    let from: SubscribeOptions['from'];
    if (fromText === 'start' || fromText === 'end') from = fromText;
    else {
      const at = parsePosition(fromText, '--from', 'tail')!;
      from = stream === undefined ? { after: at } : { afterVersion: Number(at) };
    }
    const base: Omit<SubscribeOptions, 'handler'> = {
      from,
      ...(stream === undefined ? {} : { stream }),
      ...(name === undefined ? {} : { name }),
      ...(types !== undefined || prefix !== undefined
        ? {
            filter: {
              ...(types === undefined ? {} : { eventTypes: types }),
              ...(prefix === undefined ? {} : { streamPrefix: prefix }),
            },
          }
        : {}),
    };
    validateEarly('tail', () =>
      prepareSubscribe({ ...base, handler: () => {} }, { maxPosition: 2n ** 128n }),
    );
    return async (store, out) => {
      if (max === 0) return;
      let count = 0;
      let reachedMax: () => void = () => {};
      const enough = new Promise<void>((resolve) => {
        reachedMax = resolve;
      });
      const sub = store.subscribe({
        ...base,
        handler: (e) => {
          if (out.json) out.jsonLine(e);
          else out.line(eventRow(e).join('  '));
          if (max !== undefined && ++count >= max) reachedMax();
        },
      });
      await Promise.race([enough, interrupted(), sub.done]);
      await sub.stop();
      await sub.done;
    };
  },
};
