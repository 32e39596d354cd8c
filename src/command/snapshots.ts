import type { EventStore, JsonValue, RecordedEvent } from '../contract/index.js';
import { InvalidArgumentError } from '../contract/index.js';
import type { Decider, DomainEvent } from './handle-command.js';

/**
 * How `handleCommand` uses the store's snapshots (docs/snapshots.md). It loads the stream's snapshot and then only
 * the events after it; after a successful append that leaves at least `every` events beyond the snapshot it loaded
 * from (or beyond version 0 without one), it saves the new state as the stream's snapshot. A failed save never fails
 * the command: it is reported to `onError`.
 *
 * A snapshot is ignored, and the whole stream read, when its `schemaVersion` is not this one (the state's shape
 * changed) or when it is ahead of the stream (the stream was recreated below it).
 *
 * With a `commandId`, the `every` events before the snapshot are read too (not folded), so a retried command is
 * still recognised when a snapshot was taken right after its events.
 *
 * @example
 * await handleCommand(store, 'order-1', command, orders, { snapshots: { schemaVersion: 2, every: 100 } });
 */
export interface SnapshotOptions<State> {
  /** The version of the state's shape; bump it when `evolve` or the state changes, so old snapshots are ignored. */
  schemaVersion: number;
  /** Take a snapshot once this many events lie beyond the last one; an integer of at least 1. Defaults to 100. */
  every?: number;
  /** The state as JSON, for a state that is not JSON already (a `Map`, a class). Defaults to the state itself. */
  encode?: (state: State) => JsonValue;
  /** The inverse of `encode`. Defaults to the JSON itself. */
  decode?: (json: JsonValue) => State;
  /** Told when saving a snapshot failed; the command has succeeded regardless. */
  onError?: (error: unknown, streamId: string) => void | Promise<void>;
}

const SNAPSHOT_KEYS = new Set(['schemaVersion', 'every', 'encode', 'decode', 'onError']);

/** The validated snapshot options, with their defaults. */
export interface SnapshotPlan<State> {
  schemaVersion: number;
  every: number;
  encode: (state: State) => JsonValue;
  decode: (json: JsonValue) => State;
  onError: ((error: unknown, streamId: string) => void | Promise<void>) | undefined;
}

export function checkSnapshots<State>(value: unknown): SnapshotPlan<State> | undefined {
  if (value === undefined) return undefined;
  const fail = (message: string, key?: string): never => {
    throw new InvalidArgumentError(message, { argument: `options.snapshots${key ? `.${key}` : ''}` });
  };
  if (typeof value !== 'object' || value === null) return fail('options.snapshots must be an object');
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!SNAPSHOT_KEYS.has(key)) fail(`Unknown snapshot option '${key}'`, key);
  }
  const positive = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
  if (!positive(o.schemaVersion)) {
    fail('options.snapshots.schemaVersion must be an integer of at least 1', 'schemaVersion');
  }
  if (o.every !== undefined && !positive(o.every)) {
    fail('options.snapshots.every must be an integer of at least 1', 'every');
  }
  for (const key of ['encode', 'decode', 'onError']) {
    if (o[key] !== undefined && typeof o[key] !== 'function')
      fail(`options.snapshots.${key} must be a function`, key);
  }
  return {
    schemaVersion: o.schemaVersion as number,
    every: (o.every as number | undefined) ?? 100,
    encode: (o.encode as SnapshotPlan<State>['encode'] | undefined) ?? ((state) => state as JsonValue),
    decode: (o.decode as SnapshotPlan<State>['decode'] | undefined) ?? ((json) => json as State),
    onError: o.onError as SnapshotPlan<State>['onError'],
  };
}

export interface Loaded<State> {
  state: State;
  version: number;
  /** The events read, oldest first; with a snapshot, they may start before it (see `lookback`). */
  events: RecordedEvent[];
  /** The version of the snapshot the state was folded from, 0 without one. */
  snapshotVersion: number;
}

/**
 * Folds the stream from `fromVersion + 1` onto `state`. Events from `lookback` + 1 are read too, and kept in `events`
 * for recognising a retried command, but not folded.
 */
async function fold<State, Event extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, unknown, Event>,
  start: { state: State; version: number; lookback: number },
): Promise<Loaded<State>> {
  let { state, version } = start;
  const snapshotVersion = start.version;
  const events: RecordedEvent[] = [];
  const from = start.lookback + 1;
  for await (const e of store.readStream(streamId, from > 1 ? { fromVersion: from } : undefined)) {
    if (e.version > snapshotVersion) {
      state = decider.evolve(state, e as unknown as Event);
      version = e.version;
    }
    events.push(e);
  }
  return { state, version, events, snapshotVersion };
}
export async function load<State, Event extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, unknown, Event>,
  snapshots: SnapshotPlan<State> | undefined,
  withCommandId: boolean,
): Promise<Loaded<State>> {
  const whole = () =>
    fold(store, streamId, decider, { state: decider.initialState(), version: 0, lookback: 0 });
  if (snapshots === undefined || store.capabilities.snapshots !== true) return whole();
  const snapshot = await store.snapshots.load(streamId);
  if (snapshot === null || snapshot.schemaVersion !== snapshots.schemaVersion) return whole();
  // Read from the snapshot's own event: when it is there, the stream has reached the snapshot. With a command id,
  // read the interval before the snapshot too, where a retried command's events are when the snapshot followed it.
  const lookback = withCommandId ? Math.max(0, snapshot.version - snapshots.every) : snapshot.version - 1;
  const loaded = await fold(store, streamId, decider, {
    state: snapshots.decode(snapshot.state),
    version: snapshot.version,
    lookback,
  });
  // Nothing at or after the snapshot's version (ahead of the stream, or its event truncated away): ask the stream.
  const last = loaded.events[loaded.events.length - 1];
  if (
    (last === undefined || last.version < snapshot.version) &&
    (await store.streamVersion(streamId)) < snapshot.version
  ) {
    return whole();
  }
  return loaded;
}

/** Saves the state as the stream's snapshot when `every` events lie beyond the last; a failure goes to `onError`. */
export async function maybeSnapshot<State>(
  store: EventStore,
  streamId: string,
  plan: SnapshotPlan<State> | undefined,
  from: number,
  state: State,
  version: number,
): Promise<void> {
  if (plan === undefined || store.capabilities.snapshots !== true || version - from < plan.every) return;
  try {
    await store.snapshots.save(streamId, {
      state: plan.encode(state),
      version,
      schemaVersion: plan.schemaVersion,
    });
  } catch (err) {
    try {
      const reported: unknown = plan.onError?.(err, streamId);
      if (reported instanceof Promise) reported.catch(() => {});
    } catch {
      // The hook's own failure must not fail a command that succeeded either.
    }
  }
}
