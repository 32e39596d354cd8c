import { InvalidArgumentError } from './errors.js';
import type { StreamMetadata } from './types.js';
import {
  assertJson,
  isPlainObject,
  normalizeExpectedVersion,
  readOptions,
  show,
  validateStreamId,
} from './validate.js';

/** A validated `deleteStream`. `expectedVersion` is normalised as for an append (`'no_stream'` is 0). */
export interface PreparedDeleteStream {
  streamId: string;
  expectedVersion: 'any' | 'stream_exists' | number;
  hard: boolean;
}

/** A validated `truncateStream`. Whether `before` is within the stream is the adapter's check (it needs state). */
export interface PreparedTruncateStream {
  streamId: string;
  before: number;
  expectedVersion: 'any' | 'stream_exists' | number;
}

/** A validated `setStreamMetadata`: only known keys, each in range; `custom` serialised once. */
export interface PreparedSetStreamMetadata {
  streamId: string;
  metadata: StreamMetadata;
  expectedMetadataVersion: 'any' | number;
}

const METADATA_KEYS = ['maxCount', 'maxAge', 'truncateBefore', 'custom'] as const;

function invalid(message: string, argument: string): never {
  throw new InvalidArgumentError(message, { argument });
}

function positive(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    invalid(`${name} must be an integer of at least 1, got ${show(value)}`, name);
  }
  return value;
}

/** Validates deleteStream's arguments. */
export function prepareDeleteStream(streamId: unknown, options: unknown): PreparedDeleteStream {
  const id = validateStreamId(streamId);
  const opts = readOptions(options, ['expectedVersion', 'hard'], 'options');
  if (opts.hard !== undefined && typeof opts.hard !== 'boolean') {
    invalid('options.hard must be a boolean', 'options.hard');
  }
  return {
    streamId: id,
    expectedVersion: normalizeExpectedVersion(opts.expectedVersion),
    hard: opts.hard === true,
  };
}

/** Validates truncateStream's arguments. */
export function prepareTruncateStream(streamId: unknown, options: unknown): PreparedTruncateStream {
  const id = validateStreamId(streamId);
  if (options === undefined) invalid('options.before is required', 'options.before');
  const opts = readOptions(options, ['before', 'expectedVersion'], 'options');
  return {
    streamId: id,
    before: positive(opts.before, 'options.before'),
    expectedVersion: normalizeExpectedVersion(opts.expectedVersion),
  };
}

/** Validates setStreamMetadata's arguments: unknown keys, counts and ages below 1 are INVALID_ARGUMENT. */
export function prepareSetStreamMetadata(
  streamId: unknown,
  metadata: unknown,
  options: unknown,
): PreparedSetStreamMetadata {
  const id = validateStreamId(streamId);
  if (!isPlainObject(metadata)) invalid('metadata must be a plain object', 'metadata');
  const out: StreamMetadata = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (!(METADATA_KEYS as readonly string[]).includes(key)) {
      invalid(`metadata has an unknown key '${key}' (known: ${METADATA_KEYS.join(', ')})`, `metadata.${key}`);
    }
    if (value === undefined) continue;
    if (key === 'custom') {
      if (!isPlainObject(value)) invalid('metadata.custom must be a plain object', 'metadata.custom');
      assertJson(value, 'metadata.custom');
      out.custom = JSON.parse(JSON.stringify(value));
    } else {
      out[key as 'maxCount' | 'maxAge' | 'truncateBefore'] = positive(value, `metadata.${key}`);
    }
  }
  const opts = readOptions(options, ['expectedMetadataVersion'], 'options');
  const expected = opts.expectedMetadataVersion;
  let expectedMetadataVersion: 'any' | number = 'any';
  if (expected !== undefined && expected !== 'any') {
    if (typeof expected !== 'number' || !Number.isSafeInteger(expected) || expected < 0) {
      invalid(
        `options.expectedMetadataVersion must be 'any' or a non-negative integer, got ${show(expected)}`,
        'options.expectedMetadataVersion',
      );
    }
    expectedMetadataVersion = expected;
  }
  return { streamId: id, metadata: out, expectedMetadataVersion };
}
