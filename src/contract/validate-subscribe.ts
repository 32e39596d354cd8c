import { InvalidArgumentError } from './errors.js';
import {
  DEFAULT_CHECKPOINT_EVENTS,
  DEFAULT_CHECKPOINT_MS,
  DEFAULT_LEASE_MS,
  DEFAULT_SUBSCRIPTION_PAGE_SIZE,
  type SubscriptionContext,
} from './subscriptions.js';
import type { Capabilities, ReadAllOptions, RecordedEvent } from './types.js';
import { MAX_POSITION_INT64, prepareReadAll, readOptions, validateStreamId } from './validate.js';

/** The longest subscription name, in UTF-16 code units. */
export const MAX_SUBSCRIPTION_NAME_LENGTH = 200;

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Where a prepared subscription starts when no checkpoint is stored: a position (or version), or the end. */
export type PreparedStart = { kind: 'after'; value: bigint } | { kind: 'end' };

/** A validated subscription. Positions are versions when `stream` is set. */
export interface PreparedSubscribe {
  handler: (event: RecordedEvent, context: SubscriptionContext) => Promise<void> | void;
  start: PreparedStart;
  name: string | undefined;
  stream: string | undefined;
  eventTypes: string[] | undefined;
  streamPrefix: string | undefined;
  checkpointEvents: number;
  checkpointMs: number;
  pageSize: number;
  retryAttempts: number;
  retryInitialMs: number;
  retryMaxMs: number;
  leaseMs: number;
  transactional: boolean;
}

function invalid(message: string, argument: string): never {
  throw new InvalidArgumentError(message, { argument, operation: 'subscribe' });
}

function integer(value: unknown, fallback: number, min: number, max: number, argument: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    invalid(`${argument} must be an integer from ${min} to ${max}, got ${String(value)}`, argument);
  }
  return value;
}

/** Checks a subscription name: a non-empty string of at most 200 code units, no control characters. */
export function validateSubscriptionName(name: unknown, argument = 'name'): string {
  if (typeof name !== 'string' || name.length === 0)
    invalid(`${argument} must be a non-empty string`, argument);
  if (name.length > MAX_SUBSCRIPTION_NAME_LENGTH) {
    invalid(`${argument} is longer than ${MAX_SUBSCRIPTION_NAME_LENGTH} characters`, argument);
  }
  if (CONTROL.test(name)) invalid(`${argument} must not contain control characters`, argument);
  if (!name.isWellFormed()) invalid(`${argument} has a lone surrogate, which UTF-8 cannot encode`, argument);
  return name;
}

/** Checks a checkpoint position: a bigint from 0n to the adapter's `maxPosition`. */
export function validateCheckpointPosition(
  position: unknown,
  capabilities: Pick<Capabilities, 'maxPosition'>,
): bigint {
  const max = capabilities.maxPosition ?? MAX_POSITION_INT64;
  if (typeof position !== 'bigint' || position < 0n || position > max) {
    invalid(`position must be a bigint from 0n to ${max}`, 'position');
  }
  return position;
}

function prepareStart(from: unknown, stream: boolean, maxPosition: bigint): PreparedStart {
  if (from === undefined || from === 'start') return { kind: 'after', value: 0n };
  if (from === 'end') return { kind: 'end' };
  const key = stream ? 'afterVersion' : 'after';
  const opts = readOptions(from, [key], 'options.from');
  const value = opts[key];
  if (stream) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      invalid('options.from.afterVersion must be a non-negative integer', 'options.from.afterVersion');
    }
    return { kind: 'after', value: BigInt(value) };
  }
  if (typeof value !== 'bigint' || value < 0n || value > maxPosition) {
    invalid(`options.from.after must be a bigint position from 0n to ${maxPosition}`, 'options.from.after');
  }
  return { kind: 'after', value };
}

/**
 * Validates `subscribe`'s options: INVALID_ARGUMENT for anything the contract does not accept, before anything
 * starts. `transactional` is checked against the capability by the caller (NOT_SUPPORTED).
 */
export function prepareSubscribe(
  options: unknown,
  capabilities: Pick<Capabilities, 'maxPosition'>,
): PreparedSubscribe {
  if (options === undefined) invalid('options with a handler are required', 'options');
  const opts = readOptions(
    options,
    [
      'handler',
      'from',
      'name',
      'filter',
      'stream',
      'checkpoint',
      'pageSize',
      'retry',
      'leaseMs',
      'transactional',
    ],
    'options',
  );
  if (typeof opts.handler !== 'function') invalid('options.handler must be a function', 'options.handler');
  const stream = opts.stream === undefined ? undefined : validateStreamId(opts.stream);
  if (stream !== undefined && opts.filter !== undefined) {
    invalid('options.filter cannot be combined with options.stream', 'options.filter');
  }
  const read = prepareReadAll(
    opts.filter === undefined ? undefined : ({ filter: opts.filter } as ReadAllOptions),
    capabilities,
  );
  const name = opts.name === undefined ? undefined : validateSubscriptionName(opts.name, 'options.name');
  if (opts.transactional !== undefined && typeof opts.transactional !== 'boolean') {
    invalid('options.transactional must be a boolean', 'options.transactional');
  }
  const transactional = opts.transactional === true;
  if (transactional && name === undefined) {
    invalid('a transactional subscription needs a name', 'options.name');
  }
  const checkpoint = readOptions(opts.checkpoint, ['everyEvents', 'everyMs'], 'options.checkpoint');
  const retry = readOptions(opts.retry, ['attempts', 'initialDelayMs', 'maxDelayMs'], 'options.retry');
  const start = prepareStart(opts.from, stream !== undefined, capabilities.maxPosition ?? MAX_POSITION_INT64);
  return {
    handler: opts.handler as PreparedSubscribe['handler'],
    start,
    name,
    stream,
    eventTypes: read.eventTypes,
    streamPrefix: read.streamPrefix,
    checkpointEvents: integer(
      checkpoint.everyEvents,
      DEFAULT_CHECKPOINT_EVENTS,
      1,
      1_000_000_000,
      'options.checkpoint.everyEvents',
    ),
    checkpointMs: integer(
      checkpoint.everyMs,
      DEFAULT_CHECKPOINT_MS,
      1,
      86_400_000,
      'options.checkpoint.everyMs',
    ),
    pageSize: integer(opts.pageSize, DEFAULT_SUBSCRIPTION_PAGE_SIZE, 1, 10_000, 'options.pageSize'),
    retryAttempts: integer(retry.attempts, 10, 0, 1_000, 'options.retry.attempts'),
    retryInitialMs: integer(retry.initialDelayMs, 100, 1, 3_600_000, 'options.retry.initialDelayMs'),
    retryMaxMs: integer(retry.maxDelayMs, 5_000, 1, 3_600_000, 'options.retry.maxDelayMs'),
    leaseMs: integer(opts.leaseMs, DEFAULT_LEASE_MS, 100, 3_600_000, 'options.leaseMs'),
    transactional,
  };
}
