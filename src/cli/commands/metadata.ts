import type { JsonObject, StreamMetadata } from '../../contract/index.js';
import { prepareSetStreamMetadata } from '../../contract/validate-lifecycle.js';
import type { Action, Command } from '../command.js';
import type { Output } from '../output.js';
import { expectArgs, parseJson, UsageError, validateEarly } from '../usage.js';

const NAME = 'metadata';
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

export const metadataCommand: Command = {
  name: NAME,
  summary: "show a stream's metadata, or change its retention (--max-count, --max-age) and --custom metadata",
  usage: `eventstore-kit metadata <stream> [--url URL] [--json]
eventstore-kit metadata <stream> [--max-count N|none] [--max-age AGE|none] [--custom JSON]
                                 [--expected-metadata-version N|any] [--url URL] [--json]

options:
  --max-count N|none     keep only the stream's newest N events (none: no limit)
  --max-age AGE|none     keep only events younger than AGE: seconds, or a number with s, m, h or d (30d)
  --custom JSON          the user metadata, a JSON object (it replaces the previous one)
  --expected-metadata-version N|any
                         write only if the metadata is at version N (0: never written); default: the version
                         this command reads first, so a concurrent change fails instead of being overwritten

Without options it prints the metadata. With them it changes the keys given and keeps the others. Events that
retention hides are unreadable at once; 'eventstore-kit retention' removes their data.`,
  options: {
    'max-count': { type: 'string' },
    'max-age': { type: 'string' },
    custom: { type: 'string' },
    'expected-metadata-version': { type: 'string' },
  },
  writes: true,
  writeName: 'the metadata write',
  parse({ values, positionals }) {
    expectArgs(NAME, positionals, ['stream']);
    const streamId = positionals[0]!;
    const changes: StreamMetadata = {};
    const removed: Array<'maxCount' | 'maxAge'> = [];
    const maxCount = parseLimit(values['max-count'], '--max-count', (text) =>
      /^\d+$/.test(text) ? Number(text) : undefined,
    );
    const maxAge = parseLimit(values['max-age'], '--max-age', parseAge);
    if (maxCount === null) removed.push('maxCount');
    else if (maxCount !== undefined) changes.maxCount = maxCount;
    if (maxAge === null) removed.push('maxAge');
    else if (maxAge !== undefined) changes.maxAge = maxAge;
    if (typeof values.custom === 'string') {
      changes.custom = parseJson(values.custom, '--custom', NAME) as JsonObject;
    }
    const expected = parseMetadataVersion(values['expected-metadata-version']);
    const setting = Object.keys(changes).length > 0 || removed.length > 0;
    if (!setting && expected !== undefined) {
      throw new UsageError(
        '--expected-metadata-version goes with a change (--max-count, --max-age, --custom)',
        NAME,
      );
    }
    validateEarly(NAME, () =>
      prepareSetStreamMetadata(
        streamId,
        changes,
        expected === undefined ? {} : { expectedMetadataVersion: expected },
      ),
    );

    if (!setting) {
      return async (store, out) => {
        const { metadata, metadataVersion } = await store.getStreamMetadata(streamId);
        print(out, streamId, metadata, metadataVersion);
      };
    }
    const action: Action = async (store, out) => {
      const current = await store.getStreamMetadata(streamId);
      const next: StreamMetadata = { ...current.metadata, ...changes };
      for (const key of removed) delete next[key];
      // truncateBefore is kept by a write that omits it; leaving it out avoids racing a truncation.
      delete next.truncateBefore;
      const { metadataVersion } = await store.setStreamMetadata(streamId, next, {
        expectedMetadataVersion: expected ?? current.metadataVersion,
      });
      const { truncateBefore } = current.metadata;
      print(
        out,
        streamId,
        truncateBefore === undefined ? next : { ...next, truncateBefore },
        metadataVersion,
      );
    };
    action.retryHint = `run 'eventstore-kit metadata ${streamId}' to see whether it was`;
    return action;
  },
};

/** `none` is null (remove the limit); a value the parser rejects, or below 1, is a usage error. */
function parseLimit(
  text: unknown,
  flag: string,
  parse: (text: string) => number | undefined,
): number | null | undefined {
  if (text === undefined) return undefined;
  if (text === 'none') return null;
  const value = typeof text === 'string' ? parse(text) : undefined;
  if (value === undefined || !Number.isSafeInteger(value) || value < 1) {
    const what =
      flag === '--max-age' ? 'seconds (at least 1), a number with s, m, h or d,' : 'an integer of at least 1';
    throw new UsageError(`${flag} must be ${what} or none, got '${String(text)}'`, NAME);
  }
  return value;
}

function parseAge(text: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(text);
  return match ? Number(match[1]) * UNITS[match[2] || 's']! : undefined;
}

function parseMetadataVersion(text: unknown): 'any' | number | undefined {
  if (text === undefined) return undefined;
  if (text === 'any') return 'any';
  if (typeof text === 'string' && /^\d+$/.test(text) && Number.isSafeInteger(Number(text)))
    return Number(text);
  throw new UsageError(
    `--expected-metadata-version must be any or a metadata version (a non-negative integer), got '${String(text)}'`,
    NAME,
  );
}

function print(out: Output, streamId: string, metadata: StreamMetadata, metadataVersion: number): void {
  if (out.json) {
    out.jsonLine({ streamId, metadataVersion, metadata });
    return;
  }
  out.line(`metadata version  ${metadataVersion}`);
  out.line(`max count         ${metadata.maxCount ?? 'none'}`);
  out.line(`max age           ${metadata.maxAge === undefined ? 'none' : formatAge(metadata.maxAge)}`);
  out.line(`truncate before   ${metadata.truncateBefore ?? 1}`);
  out.line(`custom            ${metadata.custom === undefined ? 'none' : JSON.stringify(metadata.custom)}`);
}

function formatAge(seconds: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    if (seconds % UNITS[unit]! === 0) return `${seconds} s (${seconds / UNITS[unit]!}${unit})`;
  }
  return `${seconds} s`;
}
