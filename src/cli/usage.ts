import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type ExpectedVersion, isEventStoreError } from '../contract/index.js';
import { knownSchemes } from '../index.js';

/**
 * A mistake in the command line: unknown command or flag, wrong arguments, bad JSON. Raised before any store is
 * opened; the CLI prints it with the command's usage and exits with code 2.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** The options every command takes. */
export const COMMON_OPTIONS = {
  url: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** `util.parseArgs`, strict, with its errors (unknown flag, missing value) turned into usage errors. */
export function parseCommandArgs(command: string, args: string[], options: OptionSpec): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals };
  } catch (err) {
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      const unknown = /^Unknown option '([^']+)'/.exec(err.message)?.[1];
      const message = unknown ? `unknown option '${unknown}' for ${command}` : err.message.split('\n')[0]!;
      throw new UsageError(message, command);
    }
    throw err;
  }
}

/** Checks the number of positional arguments, naming them in the message. */
export function expectArgs(
  command: string,
  positionals: string[],
  names: string[],
  max = names.length,
): void {
  if (positionals.length < names.length || positionals.length > max) {
    const what = names.length === 0 ? 'no arguments' : names.map((n) => `<${n}>`).join(' ');
    throw new UsageError(`${command} takes ${what}, got ${positionals.length} argument(s)`, command);
  }
}

export function parseJson(text: string, what: string, command: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON (${(err as Error).message})`, command);
  }
}

export function parseCount(text: unknown, flag: string, command: string): number | undefined {
  if (text === undefined) return undefined;
  if (typeof text !== 'string' || !/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${flag} must be a non-negative integer, got '${String(text)}'`, command);
  }
  return Number(text);
}

export function parsePosition(text: unknown, flag: string, command: string): bigint | undefined {
  if (text === undefined) return undefined;
  if (typeof text !== 'string' || !/^\d+$/.test(text)) {
    throw new UsageError(
      `${flag} must be a position (a non-negative integer), got '${String(text)}'`,
      command,
    );
  }
  return BigInt(text);
}

export function parseExpectedVersion(text: unknown, command: string): ExpectedVersion | undefined {
  if (text === undefined) return undefined;
  if (text === 'any' || text === 'no_stream' || text === 'stream_exists') return text;
  if (typeof text === 'string' && /^\d+$/.test(text) && Number.isSafeInteger(Number(text)))
    return Number(text);
  throw new UsageError(
    `--expected-version must be any, no_stream, stream_exists or a version (a non-negative integer), got '${String(text)}'`,
    command,
  );
}

/** Runs a contract validation before any store is opened, reporting INVALID_ARGUMENT as a usage error. */
export function validateEarly<T>(command: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (isEventStoreError(err, 'INVALID_ARGUMENT')) throw new UsageError(err.message, command);
    throw err;
  }
}

/** Checks that a URL names a known scheme and parses, before anything is opened (never echoing the URL). */
export function checkUrl(url: string, flag: string, command: string): void {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || !knownSchemes.includes(`${scheme}:`)) {
    throw new UsageError(
      `${flag} must be an event store URL (${knownSchemes.join(', ')}), got ${scheme === undefined ? 'no scheme' : `'${scheme}:'`}`,
      command,
    );
  }
  if (!URL.canParse(url)) throw new UsageError(`${flag} is a malformed ${scheme}: URL`, command);
}
