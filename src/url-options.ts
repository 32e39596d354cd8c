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
