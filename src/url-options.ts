import { InvalidArgumentError, isPlainObject } from './contract/index.js';

/** Options every URL-built store accepts. */
export interface CreateEventStoreOptions {
  /** Create the schema/table on first use. Defaults to true. */
  autoCreate?: boolean;
  /** Adapter-specific options; each adapter documents and validates its own. */
  [option: string]: unknown;
}

/** Throws INVALID_ARGUMENT for an option outside `allowed`. */
export function assertKnownOptions(options: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new InvalidArgumentError(
        `Unknown option '${key}'; known options: ${allowed.join(', ') || 'none'}`,
        {
          argument: `options.${key}`,
        },
      );
    }
  }
  if (options.autoCreate !== undefined && typeof options.autoCreate !== 'boolean') {
    throw new InvalidArgumentError('options.autoCreate must be a boolean', {
      argument: 'options.autoCreate',
    });
  }
}

/**
 * Throws INVALID_ARGUMENT for a query parameter outside `allowed`. Never echoes the parameter's value.
 * `normalize` compares keys the way the backend's client does (e.g. ignoring case).
 */
export function assertKnownParams(
  url: URL,
  allowed: readonly string[],
  normalize: (key: string) => string = (key) => key,
): void {
  const known = new Set(allowed.map(normalize));
  for (const key of url.searchParams.keys()) {
    if (!known.has(normalize(key))) {
      throw new InvalidArgumentError(
        `Unknown URL parameter '${key}' for ${url.protocol}; known: ${allowed.join(', ') || 'none'}`,
        { argument: 'url' },
      );
    }
  }
}

/** Checks that options is a plain object (or undefined) and returns it. */
export function normalizeOptions(options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (!isPlainObject(options))
    throw new InvalidArgumentError('options must be an object', { argument: 'options' });
  return options;
}

/** Every call's deadline when none is configured: long enough for a large append, short enough to notice a hang. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Getting a connection (TCP, TLS, authentication, or a free pooled one) when none is configured. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const MAX_TIMEOUT_MS = 3_600_000;

/** The deadlines a URL-built store gives its driver, in ms. */
export interface Deadlines {
  /** Every operation: a call that has no answer by then fails with TIMEOUT. */
  timeoutMs: number;
  /** Getting a connection; never more than `timeoutMs`. */
  connectTimeoutMs: number;
}

function deadlineSetting(
  url: URL,
  options: Record<string, unknown>,
  option: string,
  param: string,
): number | undefined {
  const raw = url.searchParams.get(param);
  let fromUrl: number | undefined;
  if (raw !== null) {
    if (!/^[0-9]{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_TIMEOUT_MS) {
      throw new InvalidArgumentError(
        `The ${param} URL parameter must be an integer number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`,
        { argument: 'url' },
      );
    }
    fromUrl = Number(raw);
  }
  const value = options[option];
  if (value === undefined) return fromUrl;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
    throw new InvalidArgumentError(
      `options.${option} must be an integer number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`,
      { argument: `options.${option}` },
    );
  }
  if (fromUrl !== undefined && fromUrl !== value) {
    throw new InvalidArgumentError(`options.${option} and the ${param} URL parameter disagree; give one`, {
      argument: `options.${option}`,
    });
  }
  return value;
}

/**
 * The deadlines of a URL-built store: `options.timeoutMs` or the `timeout_ms` URL parameter (default
 * {@link DEFAULT_TIMEOUT_MS}), `options.connectTimeoutMs` or `connect_timeout_ms` (default
 * {@link DEFAULT_CONNECT_TIMEOUT_MS}, capped at the call deadline). Bad values are INVALID_ARGUMENT; the caller
 * lists `timeout_ms`/`connect_timeout_ms` among its known parameters and options.
 */
export function readDeadlines(url: URL, options: Record<string, unknown>): Deadlines {
  const timeoutMs = deadlineSetting(url, options, 'timeoutMs', 'timeout_ms') ?? DEFAULT_TIMEOUT_MS;
  const connectTimeoutMs =
    deadlineSetting(url, options, 'connectTimeoutMs', 'connect_timeout_ms') ??
    Math.min(DEFAULT_CONNECT_TIMEOUT_MS, timeoutMs);
  return { timeoutMs, connectTimeoutMs: Math.min(connectTimeoutMs, timeoutMs) };
}
