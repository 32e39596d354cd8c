import { randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  type EventStore,
  InvalidArgumentError,
  isEventStoreError,
  type JsonObject,
  type JsonValue,
  type NewEvent,
  type RecordedEvent,
} from '../contract/index.js';
import { eventIdFor } from './event-ids.js';
import { checkSnapshots, load, maybeSnapshot, type SnapshotOptions, type SnapshotPlan } from './snapshots.js';

/** An event as a decider produces it: a type and a payload, optionally metadata of its own. */
export interface DomainEvent {
  type: string;
  data: JsonValue;
  metadata?: JsonObject;
}

/**
 * The decider pattern: the state of one stream is a left fold of its events, and a command is decided against
 * that state into new events. All three functions must be pure; `decide` may be async (to consult a clock or a
 * read model), and throws a domain error to refuse a command.
 *
 * `evolve` receives each stored event as recorded (its `type`, `data` and `metadata`, plus `id`, `version` …),
 * after upcasting when the store is wrapped with {@link withUpcasting}.
 *
 * @example
 * const counter: Decider<number, { add: number }, { type: 'Added'; data: { n: number } }> = {
 *   initialState: () => 0,
 *   evolve: (total, e) => total + e.data.n,
 *   decide: (c) => (c.add > 0 ? [{ type: 'Added', data: { n: c.add } }] : []),
 * };
 */
export interface Decider<State, Command, Event extends DomainEvent = DomainEvent> {
  initialState(): State;
  evolve(state: State, event: Event): State;
  decide(command: Command, state: State): readonly Event[] | Promise<readonly Event[]>;
}

/** Correlation and causation ids, stamped into every event a command produces. */
export interface MessageContext {
  /** The id shared by every message of one business flow. Defaults to the causation id, then the command id. */
  correlationId?: string;
  /** The id of the message (command or event) that caused this command. */
  causationId?: string;
}

export interface HandleCommandOptions<State = unknown> {
  /**
   * The command's own id. When given, the events' ids are derived from it ({@link eventIdFor}), so a retry of the
   * same command (after a timeout, a lost answer, or concurrently) yields its events once: the retry is
   * recognised, returns the original result with `alreadyApplied: true`, and decides nothing.
   */
  commandId?: string;
  /** How many times a `WRONG_EXPECTED_VERSION` reloads the state and decides again. Defaults to 3. */
  maxRetries?: number;
  /** Correlation and causation ids for the produced events' metadata (see {@link causedBy}). */
  context?: MessageContext;
  /**
   * Load from the stream's snapshot and take new ones (see {@link SnapshotOptions}). Ignored on a store without
   * `capabilities.snapshots`: the whole stream is read, as without this option.
   */
  snapshots?: SnapshotOptions<State>;
}

/** A command's event as written: what was appended, with its id and version. */
export type CommittedEvent = Pick<
  RecordedEvent,
  'id' | 'streamId' | 'type' | 'data' | 'metadata' | 'version'
>;

export interface CommandResult<State> {
  /** The state after the command's events. */
  state: State;
  /** The command's events as written (empty when the decider produced none). */
  events: CommittedEvent[];
  /** Pass as `expectedVersion` to append right after. */
  nextExpectedVersion: number;
  /** The position of the last event, or `null` when none was written. */
  lastPosition: bigint | null;
  /** True when the command had already been applied (same `commandId`) and nothing was decided or written. */
  alreadyApplied: boolean;
}

const OPTION_KEYS = new Set(['commandId', 'maxRetries', 'context', 'snapshots']);
function checkOptions<State>(options: HandleCommandOptions<State>): {
  maxRetries: number;
  snapshots: SnapshotPlan<State> | undefined;
} {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options must be an object', { argument: 'options' });
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key))
      throw new InvalidArgumentError(`Unknown option '${key}'`, { argument: `options.${key}` });
  }
  const count = (value: unknown, name: string, fallback: number, max: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
      throw new InvalidArgumentError(`options.${name} must be an integer from 0 to ${max}`, {
        argument: `options.${name}`,
      });
    }
    return value;
  };
  if (
    options.commandId !== undefined &&
    (typeof options.commandId !== 'string' || options.commandId === '')
  ) {
    throw new InvalidArgumentError('options.commandId must be a non-empty string', {
      argument: 'options.commandId',
    });
  }
  const ctx = options.context;
  if (ctx !== undefined) {
    if (typeof ctx !== 'object' || ctx === null) {
      throw new InvalidArgumentError('options.context must be an object', { argument: 'options.context' });
    }
    for (const [key, value] of Object.entries(ctx)) {
      if (key !== 'correlationId' && key !== 'causationId') {
        throw new InvalidArgumentError(`Unknown context field '${key}'`, {
          argument: `options.context.${key}`,
        });
      }
      if (value !== undefined && (typeof value !== 'string' || value === '')) {
        throw new InvalidArgumentError(`options.context.${key} must be a non-empty string`, {
          argument: `options.context.${key}`,
        });
      }
    }
  }
  return {
    maxRetries: count(options.maxRetries, 'maxRetries', 3, 1000),
    snapshots: checkSnapshots<State>(options.snapshots),
  };
}

/**
 * The metadata that marks an event as caused by `event`: the same correlation id (or the event's id when it has
 * none) and the event's id as causation id. Pass it as `context` to a command a reaction sends.
 *
 * @example
 * await handleCommand(store, `shipment-${e.data.orderId}`, ship, shipping, { context: causedBy(e) });
 */
export function causedBy(event: Pick<RecordedEvent, 'id' | 'metadata'>): Required<MessageContext> {
  const correlation = event.metadata.correlationId;
  return {
    correlationId: typeof correlation === 'string' && correlation !== '' ? correlation : event.id,
    causationId: event.id,
  };
}

/** The events to append: metadata stamped, ids known (derived from the command id, or random). */
function stamp(
  events: readonly DomainEvent[],
  commandId: string | undefined,
  context: MessageContext | undefined,
): Array<NewEvent & { id: string; metadata: JsonObject }> {
  const causationId = context?.causationId ?? commandId;
  const correlationId = context?.correlationId ?? causationId;
  return events.map((e, i) => {
    const metadata: JsonObject = { ...e.metadata };
    if (correlationId !== undefined) metadata.correlationId = correlationId;
    if (causationId !== undefined) metadata.causationId = causationId;
    if (commandId !== undefined) metadata.commandId = commandId;
    return {
      type: e.type,
      data: e.data,
      metadata,
      id: commandId === undefined ? randomUUID() : eventIdFor(commandId, i),
    };
  });
}

/** The events a previous run of the command `commandId` stored, found among `events` (consecutive derived ids). */
function findApplied(events: readonly RecordedEvent[], commandId: string): RecordedEvent[] | undefined {
  const first = eventIdFor(commandId, 0);
  const at = events.findIndex((e) => e.id === first);
  if (at < 0) return undefined;
  const out: RecordedEvent[] = [];
  for (let i = at; i < events.length && events[i]!.id === eventIdFor(commandId, out.length); i++)
    out.push(events[i]!);
  return out;
}

/**
 * Handles one command against one stream: loads the state (a fold of the stream's events with the decider),
 * decides, and appends the new events with the version it read as the expected version, so a concurrent writer
 * can never be overwritten.
 *
 * - On `WRONG_EXPECTED_VERSION` it reloads and decides again, up to `maxRetries` times, then rethrows that error.
 * - A `decide` that throws appends nothing; its error is rethrown unchanged.
 * - With `commandId`, a retried command is recognised (see {@link HandleCommandOptions.commandId}).
 * - Correlation and causation ids (and the command id) are stamped into each event's metadata.
 * - With `snapshots`, the state starts from the stream's snapshot and new snapshots are taken as the stream grows
 *   (see {@link SnapshotOptions}).
 *
 * @example
 * const { state, events } = await handleCommand(store, 'order-1', { kind: 'place', total: 42 }, orders, {
 *   commandId: request.idempotencyKey,
 * });
 */
export async function handleCommand<State, Command, Event extends DomainEvent>(
  store: EventStore,
  streamId: string,
  command: Command,
  decider: Decider<State, Command, Event>,
  options: HandleCommandOptions<State> = {},
): Promise<CommandResult<State>> {
  const { maxRetries, snapshots } = checkOptions(options);
  const { commandId, context } = options;
  for (let attempt = 0; ; attempt++) {
    const loaded = await load(
      store,
      streamId,
      decider as Decider<State, unknown, Event>,
      snapshots,
      commandId !== undefined,
    );
    if (commandId !== undefined) {
      const applied = findApplied(loaded.events, commandId);
      if (applied) {
        const last = applied[applied.length - 1]!;
        return {
          state: loaded.state,
          events: applied,
          nextExpectedVersion: last.version,
          lastPosition: last.position,
          alreadyApplied: true,
        };
      }
    }
    const decided = await decider.decide(command, loaded.state);
    if (decided.length === 0) {
      return {
        state: loaded.state,
        events: [],
        nextExpectedVersion: loaded.version,
        lastPosition: null,
        alreadyApplied: false,
      };
    }
    const toAppend = stamp(decided, commandId, context);
    try {
      const result = await store.append(streamId, toAppend, { expectedVersion: loaded.version });
      const first = result.nextExpectedVersion - toAppend.length + 1;
      const written = toAppend.map((e, i) => ({ ...e, streamId, version: first + i }));
      let state = loaded.state;
      for (const e of written) state = decider.evolve(state, e as unknown as Event);
      await maybeSnapshot(
        store,
        streamId,
        snapshots,
        loaded.snapshotVersion,
        state,
        result.nextExpectedVersion,
      );
      return {
        state,
        events: written,
        nextExpectedVersion: result.nextExpectedVersion,
        lastPosition: result.lastPosition,
        alreadyApplied: false,
      };
    } catch (err) {
      if (!isEventStoreError(err, ErrorCodes.WRONG_EXPECTED_VERSION) || attempt >= maxRetries) throw err;
    }
  }
}
